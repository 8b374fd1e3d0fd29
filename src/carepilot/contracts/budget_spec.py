"""How the capitated budget is set: risk factors, trend, envelope, high-cost pooling.

Pure module (the fitting itself is `contracts.capitation`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from carepilot.contracts.common import (
    HUNDRED,
    Setting,
    is_pct,
    require,
)


@dataclass(frozen=True, slots=True)
class ConditionFlag:
    """A morbidity flag for the risk model: a coded condition recorded before the year."""

    name: str
    snomedct_codes: tuple[str, ...]
    codelist: str | None = None
    """Name of the shipped codelist the codes came from, if any (kept for provenance)."""

    def __post_init__(self) -> None:
        require(
            self.name.isidentifier(),
            "name",
            f"`{self.name}` is not a simple name",
            "use letters, digits and underscores, e.g. `diabetes`",
        )
        require(
            len(self.snomedct_codes) > 0,
            "snomedct",
            "no codes",
            "list the SNOMED CT concept ids that record the condition",
        )


@dataclass(frozen=True, slots=True)
class HighCostProtection:
    """Per-patient annual stop-loss: a share of spend above `threshold` is pooled.

    The pooled amount is paid from the commissioner's high-cost pool (reinsurance),
    outside the budget; the budget model is fitted on costs net of pooling so that
    budget and spend are measured the same way.
    """

    threshold: Decimal
    pooled_share_pct: Decimal = HUNDRED

    def __post_init__(self) -> None:
        require(
            self.threshold > 0,
            "threshold",
            "must be positive",
            "give the annual per-patient attachment point in pounds, e.g. 50000",
        )
        require(
            is_pct(self.pooled_share_pct),
            "pooled_share",
            "must be a percentage between 0 and 100",
            "give the share of the excess the pool pays, e.g. 100",
        )


DEFAULT_AGE_BANDS: tuple[int, ...] = (0, 5, 15, 25, 45, 65, 75, 85)


@dataclass(frozen=True, slots=True)
class CapitationSpec:
    """How the risk-adjusted capitated budget is built.

    Expected annual cost per person is a weighted least-squares model of cost on
    age band, sex, IMD quintile and morbidity flags, fitted on `baseline_year` for
    the commissioner's whole population; then grown by `trend_pct` a year and, if
    `commissioner_total` is set, scaled so that the commissioner's whole population
    would cost exactly that envelope (weighted-capitation share).
    """

    baseline_year: int
    settings: tuple[Setting, ...] = tuple(Setting)
    age_bands: tuple[int, ...] = DEFAULT_AGE_BANDS
    conditions: tuple[ConditionFlag, ...] = ()
    trend_pct: Decimal = Decimal(0)
    commissioner_total: Decimal | None = None
    high_cost: HighCostProtection | None = None
    holdout_pct: Decimal = Decimal(30)
    seed: int = 20240401

    def __post_init__(self) -> None:
        require(
            len(self.settings) > 0 and len(set(self.settings)) == len(self.settings),
            "settings",
            "must list each care setting at most once, and at least one",
            f"choose from {', '.join(s.value for s in Setting)}",
        )
        bands = self.age_bands
        require(
            len(bands) >= 2
            and bands[0] == 0
            and all(b < c for b, c in zip(bands, bands[1:], strict=False)),
            "age_bands",
            "must start at 0 and increase strictly, with at least two bands",
            "list the lower bound of each band, e.g. [0, 5, 15, 25, 45, 65, 75, 85]",
        )
        names = [c.name for c in self.conditions]
        require(
            len(set(names)) == len(names),
            "conditions",
            "has repeated condition names",
            "give each condition a different name",
        )
        require(
            Decimal(-50) < self.trend_pct < HUNDRED,
            "trend",
            "is outside -50 % .. 100 % a year",
            "give the annual growth as a percentage, e.g. 3.2",
        )
        require(
            self.commissioner_total is None or self.commissioner_total > 0,
            "commissioner_total",
            "must be positive",
            "give the commissioner's annual envelope in pounds, or leave it out",
        )
        require(
            Decimal(5) <= self.holdout_pct <= Decimal(50),
            "holdout",
            "must be between 5 and 50 per cent",
            "hold out e.g. 30 per cent of the baseline population to test the model",
        )
