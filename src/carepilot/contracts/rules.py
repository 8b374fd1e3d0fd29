"""Pure payment calculations: rounding, quality scoring, inequality gaps, risk share.

The ONE rounding rule for money
-------------------------------
Money is `Decimal` throughout. Every amount that appears on a statement is rounded
to the penny with ROUND_HALF_UP (`round_money`) at the point where it is defined,
and every later line is computed from those rounded amounts, so a finance officer
redoing the arithmetic line by line gets the same pennies. Where an amount must be
split into parts that add up to it exactly (a quality payment across indicators,
100 percentage points across reweighted indicators) it is apportioned by the
largest-remainder method (`apportion`), never rounded part by part. Percentages
(quality points) are held to 2 decimal places with the same ROUND_HALF_UP rule;
indicator values read from floats are converted with `to_decimal` (6 places).
Rates used for comparisons (savings / budget against the MSR) are exact.

Pure module: imports no I/O, web, database or CLI code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from carepilot.contracts.model import (
    HUNDRED,
    Band,
    GapMeasure,
    ImprovementCredit,
    IndicatorTarget,
    InequalityTarget,
    Polarity,
    RiskShareSpec,
    RiskShareType,
    ScoringMethod,
)
from carepilot.errors import InsufficientDataError

PENNY = Decimal("0.01")
POINT = Decimal("0.01")
ZERO = Decimal(0)
ONE = Decimal(1)


def round_money(amount: Decimal) -> Decimal:
    """Round an amount to the penny, halves away from zero (ROUND_HALF_UP).

    >>> round_money(Decimal("2.345")), round_money(Decimal("-2.345"))
    (Decimal('2.35'), Decimal('-2.35'))
    """
    return amount.quantize(PENNY, rounding=ROUND_HALF_UP)


def round_points(value: Decimal) -> Decimal:
    """Round a percentage (quality points) to 2 decimal places, ROUND_HALF_UP."""
    return value.quantize(POINT, rounding=ROUND_HALF_UP)


def to_decimal(value: float | int | str | Decimal, places: int = 6) -> Decimal:
    """Convert a measured value to Decimal with `places` decimals (ROUND_HALF_UP).

    Floats are converted through `repr`, so 0.1 becomes Decimal('0.1') and not the
    binary expansion.

    >>> to_decimal(74.2857142857)
    Decimal('74.285714')
    """
    exponent = Decimal(1).scaleb(-places)
    return Decimal(str(value)).quantize(exponent, rounding=ROUND_HALF_UP)


def apportion(
    total: Decimal, weights: Sequence[Decimal], unit: Decimal = PENNY
) -> list[Decimal]:
    """Split `total` in proportion to `weights` so the parts add up exactly.

    Largest-remainder (Hamilton) method: each part is first rounded down to `unit`;
    the units left over go one each to the parts with the largest remainders (ties
    to the earlier part). Negative totals are split as their absolute value.

    >>> apportion(Decimal("1.01"), [Decimal(1), Decimal(1)])
    [Decimal('0.51'), Decimal('0.50')]
    """
    if not weights:
        return []
    weight_sum = sum(weights, ZERO)
    if weight_sum <= 0:
        return [ZERO for _ in weights]
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    exact = [magnitude * w / weight_sum for w in weights]
    floors = [e.quantize(unit, rounding=ROUND_FLOOR) for e in exact]
    leftover = int(((magnitude - sum(floors, ZERO)) / unit).to_integral_value())
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:leftover]:
        floors[i] += unit
    return [sign * f for f in floors]


def clip01(value: Decimal) -> Decimal:
    """Clip a fraction to [0, 1]."""
    return max(ZERO, min(ONE, value))


# --- Quality: indicator scoring -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IndicatorScore:
    """How one indicator earned its credit (fractions of its weight, 0..1)."""

    attainment: Decimal
    improvement: Decimal | None
    earned: Decimal
    basis: str
    """``attainment`` or ``improvement``: which credit was used."""


def attainment_fraction(target: IndicatorTarget, value: Decimal) -> Decimal:
    """Credit for achievement `value`, as a fraction of the indicator's weight.

    Linear (QOF points formula): credit = (value - lower) / (upper - lower),
    clipped to [0, 1]; for a lower-is-better indicator `upper` is the lower number
    and the same formula applies. Source: QOF points = G x (A - E) / (F - E) for
    E < A < F (NHS England QOF guidance; see shared reference on QOF mechanics).
    Tiered: the credit of the hardest tier reached.

    >>> from carepilot.contracts.model import IndicatorTarget
    >>> t = IndicatorTarget("hyp008", Decimal(38), lower=Decimal(40), upper=Decimal(85))
    >>> attainment_fraction(t, Decimal("74.285714")).quantize(Decimal("0.0001"))
    Decimal('0.7619')
    """
    if target.method is ScoringMethod.LINEAR:
        assert target.lower is not None and target.upper is not None
        return clip01((value - target.lower) / (target.upper - target.lower))
    credit = ZERO
    for tier in target.tiers:
        reached = (
            value >= tier.at_least
            if target.polarity is Polarity.HIGHER
            else value <= tier.at_least
        )
        if reached:
            credit = tier.credit_pct / HUNDRED
    return credit


def improvement_fraction(
    credit: ImprovementCredit, polarity: Polarity, value: Decimal, baseline: Decimal
) -> Decimal:
    """Credit for improvement on the baseline: min(gain / full_gain, 1) x max_credit.

    Gain is measured in the better direction, so a worsening earns nothing.
    """
    gain = value - baseline if polarity is Polarity.HIGHER else baseline - value
    return clip01(gain / credit.full_credit_gain) * credit.max_credit_pct / HUNDRED


def score_indicator(
    target: IndicatorTarget, value: Decimal, baseline: Decimal | None
) -> IndicatorScore:
    """Score one indicator: the better of attainment and improvement credit.

    Taking the higher of achievement and improvement follows value-based
    purchasing practice (e.g. US Hospital VBP), so a low starter that improves
    fast is rewarded without lowering the bar for the others.
    """
    attained = attainment_fraction(target, value)
    improved: Decimal | None = None
    if target.improvement is not None and baseline is not None:
        improved = improvement_fraction(
            target.improvement, target.polarity, value, baseline
        )
    if improved is not None and improved > attained:
        return IndicatorScore(attained, improved, improved, "improvement")
    return IndicatorScore(attained, improved, attained, "attainment")


# --- Quality: inequality gaps ---------------------------------------------------------


def slope_index_of_inequality(
    populations: Sequence[float], values: Sequence[float]
) -> float:
    """Slope index of inequality across ordered groups (most to least deprived).

    With population shares a_k, the group's mid-rank x_k = sum_{j<k} a_j + a_k / 2;
    the SII is the slope of the a_k-weighted least-squares line of value on x_k: the
    fitted difference between the least (x = 1) and most (x = 0) deprived ends.
    Source: Low & Low, J Public Health 2004;26:388-395; Fingertips technical
    guidance "Slope index of inequality" (multiplier 1).

    >>> round(slope_index_of_inequality([1, 1, 1, 1, 1], [10, 8, 6, 4, 2]), 6)
    -10.0
    """
    if len(populations) != len(values) or len(values) < 2:
        raise InsufficientDataError(
            "the slope index of inequality needs a population and value for "
            "at least two ordered groups"
        )
    total = float(sum(populations))
    if total <= 0:
        raise InsufficientDataError("the groups of the SII have no population")
    shares = [p / total for p in populations]
    mids: list[float] = []
    cumulative = 0.0
    for share in shares:
        mids.append(cumulative + share / 2)
        cumulative += share
    x_bar = sum(a * x for a, x in zip(shares, mids, strict=True))
    y_bar = sum(a * y for a, y in zip(shares, values, strict=True))
    sxy = sum(
        a * (x - x_bar) * (y - y_bar)
        for a, x, y in zip(shares, mids, values, strict=True)
    )
    sxx = sum(a * (x - x_bar) ** 2 for a, x in zip(shares, mids, strict=True))
    if sxx == 0:
        raise InsufficientDataError("all population is in one group: no SII")
    return sxy / sxx


@dataclass(frozen=True, slots=True)
class GapObservation:
    """An inequality gap measured in one period: its value and how it was found."""

    value: Decimal
    detail: str


def measure_gap(
    target: InequalityTarget, categories: dict[str, tuple[float, float]]
) -> GapObservation:
    """Measure the target's gap from {category: (denominator, value)} of one period.

    ``gap``: value(most deprived) - value(least deprived). ``sii``: the slope index
    across `category_order`. Missing categories raise InsufficientDataError naming
    them.
    """
    needed = (
        target.category_order
        if target.measure is GapMeasure.SII
        else (target.most_deprived, target.least_deprived)
    )
    missing = [c for c in needed if c not in categories]
    if missing:
        raise InsufficientDataError(
            f"inequality target `{target.name}`: indicator `{target.indicator_id}` "
            f"has no unsuppressed `{target.breakdown}` result for categories "
            f"{', '.join(missing)}"
        )
    if target.measure is GapMeasure.GAP:
        most = categories[target.most_deprived][1]
        least = categories[target.least_deprived][1]
        return GapObservation(
            to_decimal(most - least),
            f"{target.most_deprived}: {most:.2f} - {target.least_deprived}: {least:.2f}",
        )
    pops = [categories[c][0] for c in target.category_order]
    vals = [categories[c][1] for c in target.category_order]
    sii = slope_index_of_inequality(pops, vals)
    return GapObservation(to_decimal(sii), f"SII over {len(pops)} groups")


def gap_reduction_pct(baseline: Decimal, current: Decimal) -> Decimal:
    """Relative reduction of the gap's size: (|baseline| - |current|) / |baseline| x 100."""
    if baseline == 0:
        return HUNDRED if current == 0 else -HUNDRED
    return (abs(baseline) - abs(current)) / abs(baseline) * HUNDRED


def inequality_fraction(target: InequalityTarget, reduction_pct: Decimal) -> Decimal:
    """Credit, linear from `minimum_reduction` (0) to `target_reduction` (1)."""
    span = target.target_reduction_pct - target.minimum_reduction_pct
    return clip01((reduction_pct - target.minimum_reduction_pct) / span)


# --- Risk share -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BandLine:
    """One corridor band: the savings/losses falling in it and the provider's part."""

    lower_pct: Decimal
    upper_pct: Decimal | None
    provider_share_pct: Decimal
    amount_in_band: Decimal
    provider_amount: Decimal


@dataclass(frozen=True, slots=True)
class RiskShareResult:
    """Outcome of the corridors for one period (all amounts positive pounds).

    `provider_amount` is what the provider keeps (savings) or bears (losses);
    `commissioner_amount` = |variance| - provider_amount.
    """

    direction: str
    """``savings``, ``losses`` or ``none``."""
    variance: Decimal
    """Budget - spend (negative for losses)."""
    rate_pct: Decimal
    """|variance| / budget x 100, exact."""
    threshold_pct: Decimal
    threshold_met: bool
    shared_from_pct: Decimal
    bands: tuple[BandLine, ...]
    provider_before_cap: Decimal
    cap_amount: Decimal
    provider_after_cap: Decimal
    quality_gate_met: bool
    quality_factor: Decimal
    provider_amount: Decimal
    commissioner_amount: Decimal


def share_in_bands(
    budget: Decimal, amount: Decimal, bands: Sequence[Band], start_pct: Decimal
) -> tuple[BandLine, ...]:
    """Split a positive `amount` across marginal bands defined in % of `budget`.

    Band bounds in pounds are round_money(budget x pct / 100); only the part above
    `start_pct` of the budget is shared. Each band's provider amount is
    round_money(amount in band x share / 100).
    """
    start = round_money(budget * start_pct / HUNDRED)
    lines: list[BandLine] = []
    for band in bands:
        low = max(round_money(budget * band.lower_pct / HUNDRED), start)
        high = (
            amount
            if band.upper_pct is None
            else min(amount, round_money(budget * band.upper_pct / HUNDRED))
        )
        in_band = max(ZERO, high - low)
        provider = round_money(in_band * band.provider_share_pct / HUNDRED)
        lines.append(
            BandLine(
                band.lower_pct,
                band.upper_pct,
                band.provider_share_pct,
                in_band,
                provider,
            )
        )
    return tuple(lines)


def apply_risk_share(
    spec: RiskShareSpec,
    budget: Decimal,
    spend: Decimal,
    *,
    quality_score_pct: Decimal,
    gate_min_score_pct: Decimal,
    scale_by_quality: bool,
) -> RiskShareResult:
    """Apply the risk-share corridors to spend against budget.

    Savings S = budget - spend. If S / budget >= MSR the savings are shared band by
    band (from 0 with `first_dollar`, as in the Medicare Shared Savings Program,
    42 CFR 425.604-610; otherwise from the MSR), capped at `savings_cap` % of the
    budget, forfeited when the quality score is below the gate, and, if
    `scale_by_quality`, multiplied by the quality score. Losses are treated the
    same way with the MLR, loss bands and loss cap (two-sided only); quality does
    not change the loss share.

    Raises:
        InsufficientDataError: if the budget is not positive.
    """
    if budget <= 0:
        raise InsufficientDataError(
            "the capitated budget for the period is not positive: no patients "
            "registered with the contract's practices in the period?"
        )
    variance = budget - spend
    magnitude = abs(variance)
    rate = magnitude / budget * HUNDRED
    is_savings = variance > 0
    if variance == 0:
        return RiskShareResult(
            "none",
            ZERO,
            ZERO,
            ZERO,
            False,
            ZERO,
            (),
            ZERO,
            ZERO,
            ZERO,
            True,
            ONE,
            ZERO,
            ZERO,
        )
    if is_savings:
        bands, threshold, cap_pct = (
            spec.savings_bands,
            spec.minimum_savings_rate_pct,
            spec.savings_cap_pct,
        )
    else:
        bands, threshold, cap_pct = (
            spec.loss_bands,
            spec.minimum_loss_rate_pct,
            spec.loss_cap_pct,
        )
    one_sided_loss = not is_savings and spec.type is RiskShareType.ONE_SIDED
    met = rate >= threshold and not one_sided_loss
    start = ZERO if spec.first_dollar else threshold
    lines = share_in_bands(budget, magnitude, bands, start) if met else ()
    before_cap = sum((line.provider_amount for line in lines), ZERO)
    cap = round_money(budget * cap_pct / HUNDRED)
    after_cap = min(before_cap, cap)
    gate_met = True
    factor = ONE
    provider = after_cap
    if is_savings:
        gate_met = quality_score_pct >= gate_min_score_pct
        if not gate_met:
            factor = ZERO
        elif scale_by_quality:
            factor = quality_score_pct / HUNDRED
        provider = round_money(after_cap * factor)
    return RiskShareResult(
        direction="savings" if is_savings else "losses",
        variance=variance,
        rate_pct=rate,
        threshold_pct=threshold,
        threshold_met=met,
        shared_from_pct=start,
        bands=lines,
        provider_before_cap=before_cap,
        cap_amount=cap,
        provider_after_cap=after_cap,
        quality_gate_met=gate_met,
        quality_factor=factor,
        provider_amount=provider,
        commissioner_amount=magnitude - provider,
    )


def mssp_one_sided_msr_pct(beneficiaries: int) -> Decimal:
    """MSSP one-sided minimum savings rate for an ACO of `beneficiaries`, in %.

    Linear interpolation within bands from 3.9 % at 5,000 to 2.0 % at 60,000 or
    more (42 CFR 425.604(b)). The end points are verified in the shared reference;
    the intermediate bands are recalled and flagged there for checking.

    >>> mssp_one_sided_msr_pct(5_000), mssp_one_sided_msr_pct(60_000)
    (Decimal('3.90'), Decimal('2.00'))
    """
    if beneficiaries < 5_000:
        raise InsufficientDataError(
            "the MSSP minimum savings rate is defined from 5,000 assigned beneficiaries"
        )
    table = (
        (5_000, 6_000, "3.9", "3.6"),
        (6_000, 7_000, "3.6", "3.4"),
        (7_000, 8_000, "3.4", "3.2"),
        (8_000, 9_000, "3.2", "3.1"),
        (9_000, 10_000, "3.1", "3.0"),
        (10_000, 15_000, "3.0", "2.7"),
        (15_000, 20_000, "2.7", "2.5"),
        (20_000, 50_000, "2.5", "2.2"),
        (50_000, 60_000, "2.2", "2.0"),
    )
    for low, high, at_low, at_high in table:
        if low <= beneficiaries < high:
            frac = Decimal(beneficiaries - low) / Decimal(high - low)
            value = Decimal(at_low) + (Decimal(at_high) - Decimal(at_low)) * frac
            return round_points(value)
    return Decimal("2.00")
