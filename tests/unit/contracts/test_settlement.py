"""A complete settlement worked by hand, line by line, and its variants."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal as D

import pytest

from carepilot.contracts.model import MissingPolicy, Setting, TariffSpec
from carepilot.contracts.rules import GapObservation
from carepilot.contracts.settlement import (
    BudgetBuildUp,
    IndicatorObservation,
    InequalityObservation,
    SettlementInputs,
    reconcile,
    settle,
)
from carepilot.errors import InternalError
from tests.unit.contracts.factories import contract, quality


def inputs(
    hyp: str | None = "62.5", dm: str | None = "75", gap_now: str = "-14.25"
) -> SettlementInputs:
    return SettlementInputs(
        period_label="2021/22",
        period_start=date(2021, 4, 1),
        period_end=date(2022, 3, 31),
        budget=BudgetBuildUp(
            registered_patients=1000,
            patient_months=D("11500.00"),
            expected_cost=D("1000000.00"),
            trend_factor=D("1.03"),
            scale_factor=D(1),
        ),
        gross_spend={
            Setting.APCS: D("560000.00"),
            Setting.OPA: D("150000.00"),
            Setting.EC: D("80000.00"),
            Setting.COMMUNITY: D("190000.00"),
        },
        pooled_excess=D("30000.00"),
        pooled_patients=1,
        tariff_base={
            Setting.APCS: D("560000.00"),
            Setting.OPA: D("150000.00"),
            Setting.EC: D("80000.00"),
            Setting.COMMUNITY: D("170000.00"),
        },
        community_attended_contacts=3400,
        indicators={
            "hyp008": IndicatorObservation(None if hyp is None else D(hyp)),
            "dm020": IndicatorObservation(None if dm is None else D(dm)),
        },
        inequalities={
            "hyp-gap": InequalityObservation(
                GapObservation(D(gap_now), "now"), GapObservation(D(-15), "baseline")
            )
        },
    )


def test_full_settlement_worked_by_hand() -> None:
    c = contract(tariff=TariffSpec(market_forces_factor=D("1.02")))
    s = settle(c, inputs())
    # Budget: 1,000,000.00 x 1.03 x 1 = 1,030,000.00; 2.5 % withheld.
    assert s.budget == D("1030000.00")
    assert s.withheld == D("25750.00")
    assert s.capitation_paid == D("1004250.00")
    # Spend: 980,000 gross, 30,000 pooled above the 50,000 threshold.
    assert s.gross_total == D("980000.00")
    assert s.spend == D("950000.00")
    # Savings 80,000 = 7.77 % >= 2 %: 51,500 x 50 % + 28,500 x 25 %.
    assert s.risk.variance == D("80000.00")
    assert [b.amount_in_band for b in s.risk.bands] == [D("51500.00"), D("28500.00")]
    assert s.provider_savings_share == D("32875.00")
    assert s.commissioner_savings_share == D("47125.00")
    # Quality: 0.5 x 40 + 1 x 30 + 0.5 x 30 (gap 15 -> 14.25 is a 5 % reduction).
    assert [q.points for q in s.quality.lines] == [D("20.00"), D("30.00"), D("15.00")]
    assert s.quality.score_pct == D("65.00")
    assert s.quality.earned == D("16737.50")
    assert [q.payment for q in s.quality.lines] == [
        D("5150.00"),
        D("7725.00"),
        D("3862.50"),
    ]
    assert s.quality.forfeited == D("9012.50")
    # Year end: 16,737.50 earned - 47,125 savings returned = -30,387.50.
    assert s.year_end_payment == D("-30387.50")
    assert s.total_paid == D("1003862.50")
    assert s.provider_result == D("23862.50")
    # Tariff: (560,000 + 150,000 + 80,000 + 170,000) x 1.02.
    assert s.tariff_total == D("979200.00")
    assert s.commissioner_gain_vs_tariff == D("-24662.50")
    assert s.provider_result_under_tariff == D("-800.00")


def test_quality_gate_failure_forfeits_savings_in_settlement() -> None:
    s = settle(contract(), inputs(hyp="40", dm="35", gap_now="-13.5"))
    assert s.quality.score_pct == D("30.00")  # gap only: 10 % reduction, full 30
    assert not s.risk.quality_gate_met
    assert s.provider_savings_share == D(0)
    assert s.commissioner_savings_share == D("80000.00")
    assert s.quality.earned == D("7725.00")
    assert s.provider_result == D("7725.00") - D("25750.00")


def test_missing_indicator_earns_zero_by_default() -> None:
    s = settle(contract(), inputs(dm=None))
    assert s.quality.lines[1].basis == "missing"
    assert s.quality.score_pct == D("35.00")


def test_missing_indicator_reweighted() -> None:
    c = contract(quality=quality(if_missing=MissingPolicy.REWEIGHT))
    s = settle(c, inputs(dm=None))
    assert [q.effective_weight_pct for q in s.quality.lines] == [
        D("57.14"),
        D(0),
        D("42.86"),
    ]
    assert s.quality.score_pct == D("50.00")


def test_community_priced_per_contact_in_tariff() -> None:
    c = contract(tariff=TariffSpec(community_price_per_contact=D("45.50")))
    s = settle(c, inputs())
    assert s.tariff[Setting.COMMUNITY] == D("154700.00")  # 3,400 x 45.50


def test_losses_settlement() -> None:
    inp = replace(
        inputs(),
        gross_spend={Setting.APCS: D("1100000.00")},
        pooled_excess=D(0),
    )
    s = settle(contract(), inp)
    # Loss 70,000 = 6.80 %: 51,500 x 50 % + 18,500 x 25 % = 30,375 borne.
    assert s.provider_loss_share == D("30375.00")
    assert s.commissioner_loss_share == D("39625.00")
    assert s.year_end_payment == s.quality.earned + D("39625.00")
    assert s.provider_result == -D("30375.00") - s.quality.forfeited


def test_reconcile_detects_a_broken_statement() -> None:
    s = settle(contract(), inputs())
    broken = replace(s, total_paid=s.total_paid + D("0.01"))
    with pytest.raises(InternalError, match="total paid"):
        reconcile(broken)
