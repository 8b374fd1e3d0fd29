"""How money moves: the quality withhold and its indicators, risk-share corridors, tariff.

Quality targets (linear, tiered, improvement credit, inequality-gap targets and the
quality gate), risk-share bands with their caps and MSR/MLR gates, and the pricing
of the activity-tariff counterfactual. Pure module; the calculations are in
`contracts.rules` and `contracts.settlement`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from carepilot.contracts.common import (
    HUNDRED,
    FieldError,
    GapMeasure,
    MissingPolicy,
    Polarity,
    RiskShareType,
    ScoringMethod,
    is_pct,
    require,
)


@dataclass(frozen=True, slots=True)
class Tier:
    """A tier of a tiered indicator: achievement at least `at_least` earns `credit_pct`."""

    at_least: Decimal
    credit_pct: Decimal


@dataclass(frozen=True, slots=True)
class ImprovementCredit:
    """Credit for improving on the baseline year, used when it beats attainment.

    Earned fraction from improvement = min(gain / full_credit_gain, 1) x max_credit,
    where gain is the change in the better direction (indicator units).
    """

    full_credit_gain: Decimal
    max_credit_pct: Decimal = Decimal(50)

    def __post_init__(self) -> None:
        require(
            self.full_credit_gain > 0,
            "full_credit_gain",
            "must be positive",
            "give the improvement (indicator units) that earns the maximum credit",
        )
        require(
            is_pct(self.max_credit_pct),
            "max_credit",
            "must be a percentage between 0 and 100",
            "e.g. 50 (improvement can earn at most half the indicator's weight)",
        )


@dataclass(frozen=True, slots=True)
class IndicatorTarget:
    """A quality indicator's weight and how its achievement earns credit."""

    indicator_id: str
    weight_pct: Decimal
    polarity: Polarity = Polarity.HIGHER
    method: ScoringMethod = ScoringMethod.LINEAR
    lower: Decimal | None = None
    upper: Decimal | None = None
    tiers: tuple[Tier, ...] = ()
    improvement: ImprovementCredit | None = None

    def __post_init__(self) -> None:
        require(
            Decimal(0) < self.weight_pct <= HUNDRED,
            "weight",
            "must be above 0 and at most 100 per cent",
            "give the indicator's share of the quality score",
        )
        if self.method is ScoringMethod.LINEAR:
            _check_linear(self.lower, self.upper, self.polarity)
        else:
            _check_tiers(self.tiers, self.polarity)


def _check_linear(lower: Decimal | None, upper: Decimal | None, pol: Polarity) -> None:
    require(
        lower is not None and upper is not None,
        "lower",
        "a linear scale needs both `lower` and `upper`",
        "give the achievement earning nothing (`lower`) and full credit (`upper`)",
    )
    assert lower is not None and upper is not None
    if pol is Polarity.HIGHER:
        require(
            lower < upper,
            "upper",
            f"thresholds reversed: upper ({upper}) is not above lower ({lower}) "
            "for a higher-is-better indicator",
            "swap them, or set `polarity: lower_is_better`",
        )
    else:
        require(
            lower > upper,
            "upper",
            f"thresholds reversed: for a lower-is-better indicator full credit "
            f"(`upper` = {upper}) must be a lower value than `lower` ({lower})",
            "swap them, or set `polarity: higher_is_better`",
        )


def _check_tiers(tiers: tuple[Tier, ...], pol: Polarity) -> None:
    require(
        len(tiers) > 0,
        "tiers",
        "a tiered indicator needs at least one tier",
        "list tiers as `- {at_least: 70, credit: 50}`",
    )
    levels = [t.at_least for t in tiers]
    credits = [t.credit_pct for t in tiers]
    increasing = all(a < b for a, b in zip(levels, levels[1:], strict=False))
    decreasing = all(a > b for a, b in zip(levels, levels[1:], strict=False))
    ok = increasing if pol is Polarity.HIGHER else decreasing
    require(
        ok,
        "tiers",
        "tier thresholds are not in order (ascending for higher-is-better, "
        "descending for lower-is-better)",
        "order the tiers from the easiest to the hardest threshold",
    )
    require(
        all(is_pct(c) for c in credits)
        and all(a <= b for a, b in zip(credits, credits[1:], strict=False)),
        "tiers",
        "tier credits must be percentages that do not fall as thresholds get harder",
        "give each tier's credit as a percentage of the weight, non-decreasing",
    )


@dataclass(frozen=True, slots=True)
class InequalityTarget:
    """A target to narrow an inequality in one indicator across a breakdown.

    The gap is measured in the contract year and the baseline year, either as the
    slope index of inequality across the breakdown's ordered categories (``sii``) or
    as the difference between two named categories (``gap``). Credit is linear in
    the relative reduction of the gap's size, from `minimum_reduction_pct` (no
    credit) to `target_reduction_pct` (full credit).
    """

    name: str
    indicator_id: str
    weight_pct: Decimal
    breakdown: str = "imd_quintile"
    measure: GapMeasure = GapMeasure.GAP
    most_deprived: str = "1"
    least_deprived: str = "5"
    category_order: tuple[str, ...] = ("1", "2", "3", "4", "5")
    minimum_reduction_pct: Decimal = Decimal(0)
    target_reduction_pct: Decimal = Decimal(10)

    def __post_init__(self) -> None:
        require(
            Decimal(0) < self.weight_pct <= HUNDRED,
            "weight",
            "must be above 0 and at most 100 per cent",
            "give the target's share of the quality score",
        )
        require(
            self.target_reduction_pct > self.minimum_reduction_pct,
            "target_reduction",
            f"thresholds reversed: target reduction ({self.target_reduction_pct}) "
            f"is not above minimum reduction ({self.minimum_reduction_pct})",
            "make `target_reduction` the larger, e.g. minimum 0, target 10",
        )
        if self.measure is GapMeasure.SII:
            require(
                len(self.category_order) >= 5,
                "category_order",
                "the SII needs at least 5 ordered categories (PHE method)",
                "list the breakdown categories from most to least deprived",
            )
        else:
            require(
                self.most_deprived != self.least_deprived,
                "least_deprived",
                "is the same category as `most_deprived`",
                "name the two categories whose gap is measured",
            )


@dataclass(frozen=True, slots=True)
class QualitySpec:
    """The quality-linked payment: withhold, indicators, inequality targets, gate."""

    withhold_pct: Decimal
    indicators: tuple[IndicatorTarget, ...]
    inequality_targets: tuple[InequalityTarget, ...]
    gate_min_score_pct: Decimal = Decimal(0)
    scale_savings_by_quality: bool = False
    if_missing: MissingPolicy = MissingPolicy.ZERO

    def __post_init__(self) -> None:
        require(
            is_pct(self.withhold_pct) and self.withhold_pct < HUNDRED,
            "withhold",
            "must be a percentage of the budget from 0 up to (not including) 100",
            "e.g. 2.5",
        )
        require(
            len(self.inequality_targets) >= 1,
            "inequality_targets",
            "the contract has no inequality-gap target",
            "add at least one (every pilot commits to reducing a specific inequality)",
        )
        ids = [t.indicator_id for t in self.indicators]
        require(
            len(set(ids)) == len(ids),
            "indicators",
            "an indicator is listed twice",
            "list each indicator once",
        )
        total = sum((t.weight_pct for t in self.indicators), Decimal(0)) + sum(
            (t.weight_pct for t in self.inequality_targets), Decimal(0)
        )
        require(
            total == HUNDRED,
            "indicators",
            f"weights of indicators and inequality targets sum to {total} %, not 100 %",
            "adjust the weights so that they add up to exactly 100",
        )
        require(
            is_pct(self.gate_min_score_pct),
            "gate.min_score",
            "must be a percentage between 0 and 100",
            "e.g. 40 (shared savings are forfeited below this quality score)",
        )


@dataclass(frozen=True, slots=True)
class Band:
    """A corridor band on savings (or losses) as a percentage of the budget.

    The part of the savings falling between `lower_pct` and `upper_pct` of the
    budget is shared at `provider_share_pct` (marginal, like tax bands).
    """

    lower_pct: Decimal
    upper_pct: Decimal | None
    provider_share_pct: Decimal

    def __post_init__(self) -> None:
        require(
            self.upper_pct is None or self.upper_pct > self.lower_pct,
            "to",
            f"band upper bound {self.upper_pct} is not above its lower bound "
            f"{self.lower_pct}",
            "make `to` larger than `from`, or leave `to` out on the last band",
        )
        require(
            is_pct(self.provider_share_pct),
            "provider_share",
            "must be a percentage between 0 and 100",
            "give the provider's share of the savings/losses in this band",
        )


def _check_bands(bands: tuple[Band, ...], name: str) -> None:
    if not bands:
        raise FieldError(
            f"{name}[0].from",
            "corridor bands must start at 0 % of the budget",
            "make the first band `from: 0`",
        )
    require(
        bands[0].lower_pct == 0,
        f"{name}[0].from",
        "corridor bands must start at 0 % of the budget",
        "make the first band `from: 0`",
    )
    for i, (a, b) in enumerate(zip(bands, bands[1:], strict=False)):
        if a.upper_pct is None or a.upper_pct > b.lower_pct:
            raise FieldError(
                f"{name}[{i + 1}].from",
                f"band {i + 1} overlaps band {i} "
                f"(band {i} runs to {a.upper_pct or 'no limit'}, band {i + 1} starts "
                f"at {b.lower_pct})",
                f"start band {i + 1} where band {i} ends",
            )
        if a.upper_pct < b.lower_pct:
            raise FieldError(
                f"{name}[{i + 1}].from",
                f"gap between band {i} (ends {a.upper_pct}) and band {i + 1} "
                f"(starts {b.lower_pct})",
                f"start band {i + 1} at {a.upper_pct}",
            )
    require(
        bands[-1].upper_pct is None,
        f"{name}[{len(bands) - 1}].to",
        "the last band must be open-ended so every saving/loss falls in a band",
        "leave `to` out on the last band (use the cap to limit the total)",
    )


@dataclass(frozen=True, slots=True)
class RiskShareSpec:
    """Risk-share corridors on spend against budget (MSSP-track-like).

    Savings (budget - spend) count only if they reach the minimum savings rate
    (MSR) of the budget; losses only if they reach the minimum loss rate (MLR).
    With `first_dollar` (as MSSP) sharing then starts from the first pound,
    otherwise only the part beyond the MSR/MLR is shared. Provider amounts are
    capped at `savings_cap_pct` / `loss_cap_pct` of the budget.
    """

    type: RiskShareType
    savings_bands: tuple[Band, ...]
    loss_bands: tuple[Band, ...] = ()
    minimum_savings_rate_pct: Decimal = Decimal(0)
    minimum_loss_rate_pct: Decimal = Decimal(0)
    first_dollar: bool = True
    savings_cap_pct: Decimal = HUNDRED
    loss_cap_pct: Decimal = HUNDRED

    def __post_init__(self) -> None:
        _check_bands(self.savings_bands, "savings_bands")
        if self.type is RiskShareType.TWO_SIDED:
            _check_bands(self.loss_bands, "loss_bands")
        else:
            require(
                not self.loss_bands,
                "loss_bands",
                "a one-sided contract shares no losses",
                "remove `loss_bands` or set `type: two_sided`",
            )
        for name, value in (
            ("minimum_savings_rate", self.minimum_savings_rate_pct),
            ("minimum_loss_rate", self.minimum_loss_rate_pct),
            ("savings_cap", self.savings_cap_pct),
            ("loss_cap", self.loss_cap_pct),
        ):
            require(
                is_pct(value),
                name,
                "must be a percentage of the budget between 0 and 100",
                "e.g. 2 for a 2 % minimum savings rate, 10 for a 10 % cap",
            )


@dataclass(frozen=True, slots=True)
class TariffSpec:
    """How the activity-tariff counterfactual prices the same activity.

    Spells, outpatient and A&E attendances use the tariff price recorded in the
    data (`apcs.tariff_cost`, `opa.cost`, `ec.cost`) for activity payable under
    payment by activity (attended appointments only). Community contacts have no
    national tariff: they use `community_price_per_contact` when given, else their
    recorded cost. Everything is multiplied by the market forces factor.
    """

    market_forces_factor: Decimal = Decimal(1)
    community_price_per_contact: Decimal | None = None

    def __post_init__(self) -> None:
        require(
            Decimal("0.5") <= self.market_forces_factor <= Decimal(2),
            "market_forces_factor",
            "must be between 0.5 and 2",
            "give the provider's market forces factor, e.g. 1.0265",
        )
        require(
            self.community_price_per_contact is None
            or self.community_price_per_contact >= 0,
            "community_price_per_contact",
            "must not be negative",
            "give the local price per attended community contact in pounds",
        )
