"""Small contract factories for hand-worked tests (weights, bands and thresholds explicit)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal as D

from carepilot.contracts.model import (
    Band,
    CapitationSpec,
    Contract,
    GapMeasure,
    HighCostProtection,
    IndicatorTarget,
    InequalityTarget,
    Parties,
    Party,
    PopulationSpec,
    QualitySpec,
    RiskShareSpec,
    RiskShareType,
    Term,
)


def bands(*spec: tuple[str, str | None, str]) -> tuple[Band, ...]:
    return tuple(
        Band(D(lo), None if hi is None else D(hi), D(share)) for lo, hi, share in spec
    )


def risk_share(**overrides: object) -> RiskShareSpec:
    base = RiskShareSpec(
        type=RiskShareType.TWO_SIDED,
        savings_bands=bands(("0", "5", "50"), ("5", None, "25")),
        loss_bands=bands(("0", "5", "50"), ("5", None, "25")),
        minimum_savings_rate_pct=D(2),
        minimum_loss_rate_pct=D(2),
        savings_cap_pct=D(10),
        loss_cap_pct=D(5),
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def quality(**overrides: object) -> QualitySpec:
    base = QualitySpec(
        withhold_pct=D("2.5"),
        indicators=(
            IndicatorTarget("hyp008", D(40), lower=D(40), upper=D(85)),
            IndicatorTarget("dm020", D(30), lower=D(35), upper=D(75)),
        ),
        inequality_targets=(
            InequalityTarget(
                "hyp-gap",
                "hyp008",
                D(30),
                measure=GapMeasure.GAP,
                minimum_reduction_pct=D(0),
                target_reduction_pct=D(10),
            ),
        ),
        gate_min_score_pct=D(40),
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def contract(**overrides: object) -> Contract:
    base = Contract(
        id="test-contract",
        version=1,
        title="Test contract",
        parties=Parties(Party("Q01", "Test PCT"), Party("RP001", "Test provider")),
        population=PopulationSpec(pilot_id="PILOT01"),
        term=Term(date(2021, 4, 1), date(2024, 3, 31)),
        capitation=CapitationSpec(
            baseline_year=2020,
            high_cost=HighCostProtection(D(50000), D(100)),
        ),
        quality=quality(),
        risk_share=risk_share(),
    )
    return replace(base, **overrides)  # type: ignore[arg-type]
