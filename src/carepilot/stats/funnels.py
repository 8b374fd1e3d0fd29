"""Funnel-plot control limits, significance and chart points (PHE method).

Reproduces PHEindicatormethods' ``calculate_funnel_limits``,
``assign_funnel_significance`` and ``calculate_funnel_points``: Wilson-based
limits for proportions, exact-Poisson limits for ratios and rates, drawn at 95 %
("2s", 0.025 per tail) and 99.8 % ("3s", 0.001 per tail) around the overall
value (Spiegelhalter 2005; Fingertips technical guidance). Pure: no file,
database or web access.
"""

# pyright: reportMissingTypeStubs=false

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from carepilot.errors import DefinitionError, InputDataError
from carepilot.stats import _scipy
from carepilot.stats._common import FloatArray, as_float_array, format_number
from carepilot.stats.rates import byars_interval

Statistic = Literal["proportion", "ratio", "rate"]
Side = Literal["low", "high"]
_BOUNDS: tuple[tuple[str, Side], ...] = (("lower", "high"), ("upper", "low"))
LEVELS: tuple[tuple[str, float], ...] = (("2s", 0.95), ("3s", 0.998))
"""Funnel label and confidence level: "2s" = 95 %, "3s" = 99.8 %."""

HIGH_3S, HIGH_2S = "High (0.001)", "High (0.025)"
LOW_3S, LOW_2S = "Low (0.001)", "Low (0.025)"
NOT_SIGNIFICANT = "Not significant"
DSR_NOT_APPLICABLE = "Not applicable for events less than 10 for dsrs"


def proportion_funnel_limit(
    population: npt.ArrayLike, baseline: float, confidence: float, side: Side
) -> FloatArray:
    """Proportion (0-1 scale) at which a unit of size n sits on the funnel edge.

    The lower limit is the observed proportion whose Wilson upper limit equals the
    baseline θ₀, the upper limit the one whose Wilson lower limit equals θ₀. With
    z = Φ⁻¹(1 − α/2)::

        p = (A ∓ D/8) / (C·n),   A = θ₀(n/z² + 1),   C = 1/z² + 1/n,
        D = √(64θ₀²(n/z² + 1)² − 64·C·θ₀·(n(θ₀(n/z² + 2) − 1) + z²(θ₀ − 1)))

    Not clipped (callers clip to [0, 1]).

    Example:
        >>> round(float(proportion_funnel_limit([100], 0.5, 0.95, "low")[0]), 4)
        0.402
    """
    n = as_float_array(population, "population")
    z2 = _scipy.norm_ppf(1.0 - (1.0 - confidence) / 2.0) ** 2
    first = baseline * (n / z2 + 1.0)
    with np.errstate(invalid="ignore"):
        root = np.sqrt(
            (8.0 * first) ** 2
            - 64.0 * (1.0 / z2 + 1.0 / n) * baseline
            * (n * (baseline * (n / z2 + 2.0) - 1.0) + z2 * (baseline - 1.0))
        )  # fmt: skip
    last = 1.0 / z2 + 1.0 / n
    sign = -1.0 if side == "low" else 1.0
    return (first + sign * root / 8.0) / last / n


def poisson_funnel_expected(
    observed: npt.ArrayLike, tail: float, side: Side
) -> FloatArray:
    """Expected count E for which an observed count O sits exactly on a tail.

    ``side="high"``: P(X ≤ O | E) = tail (E above O; the lower funnel edge);
    ``side="low"``: P(X ≥ O | E) = tail. Solved, as PHE's Excel tool and
    PHEindicatormethods do, by bisection on v ∈ (0, 1) with E = (1 + O)·v/(1 − v),
    halving the step until it is ≤ 1e-7 — so results match the package to ~1e-9
    (they differ from the exact χ² limits by up to ~1e-7 relative).

    Example:
        >>> round(float(poisson_funnel_expected([1], 0.025, "high")[0]), 4)
        5.5716
    """
    o = as_float_array(observed, "observed")
    v = np.full(o.shape, 0.5)
    dv = 0.5
    while dv > 1e-7:
        dv /= 2.0
        mean = (1.0 + o) * v / (1.0 - v)
        if side == "low":
            step_down = _scipy.poisson_sf(o - 1.0, mean) > tail
        else:
            step_down = _scipy.poisson_cdf(o, mean) < tail
        v = np.where(step_down, v - dv, v + dv)
    return (1.0 + o) * v / (1.0 - v)


def _r_nchar(number: float) -> int:
    """Characters R's as.character uses for a whole number (fixed vs scientific)."""
    digits = str(int(number))
    significant = digits.rstrip("0") or "0"
    mantissa = 1 + (len(significant) if len(significant) > 1 else 0)
    exponent = len(digits) - 1
    scientific = mantissa + 2 + max(2, len(str(exponent)))
    return len(digits) if len(digits) <= scientific else scientific


def _signif_floor(x: float) -> float:
    if x == 0:
        return 0.0
    power = _r_nchar(math.floor(x * 0.95)) - 1
    return math.floor(x * 0.95 / 10**power) * 10**power


def _signif_ceiling(x: float) -> float:
    if x == 0:
        return 0.0
    power = _r_nchar(math.ceil(x * 1.05)) - 2
    return math.ceil(x * 1.05 / 10**power) * 10**power


def funnel_axis(
    axis_minimum: float, axis_maximum: float, statistic: Statistic
) -> FloatArray:
    """The 100 x-axis points PHE uses: geometric steps, rounded, increasing by ≥ 1."""
    points = [max(1.0, axis_minimum)]
    for j in range(2, 101):
        offset = j if statistic != "ratio" else j - 1
        prev = points[-1]
        step = round((axis_maximum / prev) ** (1.0 / (101 - offset)) * prev)
        points.append(float(max(step, prev + 1.0)))
    return np.asarray(points, dtype=np.float64)


def _derived_denominator(
    numerator: FloatArray,
    denominator: FloatArray | None,
    rate: FloatArray | None,
    statistic: Statistic,
    rate_type: str | None,
    multiplier: float,
) -> FloatArray:
    if statistic != "rate":
        if denominator is None:
            raise InputDataError(f"{statistic} funnels need a denominator")
        return denominator
    if rate is None or rate_type not in ("dsr", "crude"):
        raise DefinitionError(
            "rate funnels need `rate` values and rate_type 'dsr' or 'crude'"
        )
    if denominator is None and (numerator == 0).any():
        raise InputDataError(
            "for rates, records with 0 events need the denominator to be supplied"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        derived = multiplier * numerator / rate
    if rate_type == "dsr":
        return np.where(numerator == 0, np.nan, derived)
    if denominator is not None:
        return np.where(numerator == 0, denominator, derived)
    return derived


def calculate_funnel_limits(
    numerator: npt.ArrayLike,
    denominator: npt.ArrayLike | None = None,
    *,
    statistic: Statistic,
    multiplier: float,
    rate: npt.ArrayLike | None = None,
    ratio_type: Literal["count", "isr"] | None = None,
    rate_type: Literal["dsr", "crude"] | None = None,
    years_of_data: float | None = None,
    full: bool = True,
) -> pd.DataFrame:
    """Control-limit table (100 points) for a funnel plot, as PHE draws it.

    Baseline θ₀ = Σ numerators / Σ (derived) denominators. The x axis runs from
    max(1, min) to a rounded-up maximum (see `funnel_axis`); limits per point:

    * proportion: `proportion_funnel_limit` × multiplier, clipped to
      [0, multiplier] (columns ``Population, lower_2s_limit, …, baseline``);
    * ratio: E at which O is on each tail (`poisson_funnel_expected`), limit O/E
      as "count" (O/E − 1) or "isr" (O/E × 100) (``Observed_events, …``);
    * rate: x = events; population per year = E/θ₀/years; limit = θ₀·O/E ×
      multiplier (``Events, lower_2s_population_1_year, …, baseline``).
      Denominators are derived as multiplier·events/rate (dsr: none for 0
      events; crude: the supplied denominator for 0 events).

    Args:
        numerator: Numerators (events, observed counts).
        denominator: Denominators, or expected counts for ratios.
        statistic: "proportion", "ratio" or "rate".
        multiplier: e.g. 100 (percent) or 100,000 (rates).
        rate: Rates (statistic "rate").
        ratio_type: "count" or "isr" (statistic "ratio").
        rate_type: "dsr" or "crude" (statistic "rate").
        years_of_data: Years the data cover (statistic "rate").
        full: Add `statistic` and `method` columns.

    Returns:
        DataFrame with 100 rows.

    Example:
        >>> t = calculate_funnel_limits([80, 160], [100, 200], statistic="proportion",
        ...                             multiplier=100)
        >>> len(t), float(t["baseline"][0])
        (100, 80.0)
    """
    num = as_float_array(numerator, "numerator")
    den = None if denominator is None else as_float_array(denominator, "denominator")
    rates = None if rate is None else as_float_array(rate, "rate")
    derived = _derived_denominator(num, den, rates, statistic, rate_type, multiplier)
    average = float(np.nansum(num) / np.nansum(derived))
    lo, hi = float(np.nanmin(derived)), float(np.nanmax(derived))
    per_year = 1.0
    if statistic == "rate":
        if not years_of_data:
            raise DefinitionError("rate funnels need years_of_data")
        per_year = float(years_of_data)
    axis_min = 0.0 if hi > 2 * lo else _signif_floor(lo / per_year) * per_year
    axis_max = _signif_ceiling(hi / per_year) * per_year
    if statistic == "rate":
        axis_min, axis_max = (
            math.floor(axis_min * average),
            math.ceil(axis_max * average),
        )
    x = funnel_axis(axis_min, axis_max, statistic)
    if statistic == "proportion":
        table = pd.DataFrame({"Population": x})
        for label, level in LEVELS:
            low = proportion_funnel_limit(x, average, level, "low") * multiplier
            high = proportion_funnel_limit(x, average, level, "high") * multiplier
            table[f"lower_{label}_limit"] = np.maximum(low, 0.0)
            table[f"upper_{label}_limit"] = np.minimum(high, multiplier)
        table["baseline"] = average * multiplier
        name, method = "proportion", "Wilson"
    elif statistic == "ratio":
        if ratio_type not in ("count", "isr"):
            raise DefinitionError("ratio funnels need ratio_type 'count' or 'isr'")
        table = pd.DataFrame({"Observed_events": x})
        for label, level in LEVELS:
            tail = (1.0 - level) / 2.0
            for bound, side in _BOUNDS:
                expected = poisson_funnel_expected(x, tail, side)
                ratio = x / expected
                table[f"{bound}_{label}_exp_events"] = expected
                table[f"{bound}_{label}_limit"] = (
                    ratio - 1 if ratio_type == "count" else ratio * 100
                )
        name, method = f"ratio ({ratio_type})", "Poisson"
    else:
        table = pd.DataFrame({"Events": x})
        for label, level in LEVELS:
            tail = (1.0 - level) / 2.0
            for bound, side in _BOUNDS:
                population = poisson_funnel_expected(x, tail, side) / average
                table[f"{bound}_{label}_population_1_year"] = population / per_year
                table[f"{bound}_{label}_limit"] = x / population * multiplier
        table["baseline"] = average * multiplier
        name = f"rate ({rate_type} per {format_number(multiplier):s})"
        name = name.replace(format_number(multiplier), f"{int(multiplier):,}")
        method = "Poisson"
    if full:
        table["statistic"] = name
        table["method"] = method
    return table


def assign_funnel_significance(
    numerator: npt.ArrayLike,
    denominator: npt.ArrayLike | None,
    *,
    statistic: Statistic,
    rate: npt.ArrayLike | None = None,
    rate_type: Literal["dsr", "crude"] | None = None,
    multiplier: float = 100_000,
) -> npt.NDArray[np.str_]:
    """Which funnel band each unit falls in (PHE ``assign_funnel_significance``).

    Labels, first match wins: "High (0.001)", "High (0.025)", "Low (0.001)",
    "Low (0.025)", "Not significant"; DSRs with fewer than 10 events get
    "Not applicable for events less than 10 for dsrs".

    * proportion: x/n against the Wilson funnel limits at n around Σx/Σn;
    * ratio: 1 against the unit's own Poisson limits of O/E (exact below 10
      events, Byar's from 10);
    * rate: θ₀ = Σevents / Σderived denominators against the unit's Poisson
      limits of events/derived denominator.

    Example:
        >>> assign_funnel_significance([30, 80, 95], [100, 100, 100],
        ...                            statistic="proportion").tolist()
        ['Low (0.001)', 'High (0.025)', 'High (0.001)']
    """
    num = as_float_array(numerator, "numerator")
    den = None if denominator is None else as_float_array(denominator, "denominator")
    if (num < 0).any():
        raise InputDataError("numerators must be greater than or equal to zero")
    if den is not None and (den <= 0).any():
        raise InputDataError("denominators must be greater than zero")
    if statistic == "proportion":
        assert den is not None
        if (num > den).any():
            raise InputDataError(
                "numerators must be less than or equal to denominators for proportions"
            )
        average = float(num.sum() / den.sum())
        p = num / den

        def limit(level: float, side: Side) -> FloatArray:
            return proportion_funnel_limit(den, average, level, side)

        return _label(
            [(p < limit(0.998, "low"), LOW_3S), (p < limit(0.95, "low"), LOW_2S),
             (p > limit(0.998, "high"), HIGH_3S), (p > limit(0.95, "high"), HIGH_2S)]
        )  # fmt: skip
    rates = None if rate is None else as_float_array(rate, "rate")
    derived = _derived_denominator(num, den, rates, statistic, rate_type, multiplier)
    target = 1.0 if statistic == "ratio" else float(num.sum() / np.nansum(derived))
    lo_3, hi_3 = byars_interval(num, 0.998)
    lo_2, hi_2 = byars_interval(num, 0.95)
    with np.errstate(divide="ignore", invalid="ignore"):
        labels = _label(
            [(target < lo_3 / derived, HIGH_3S), (target < lo_2 / derived, HIGH_2S),
             (target > hi_3 / derived, LOW_3S), (target > hi_2 / derived, LOW_2S)]
        )  # fmt: skip
    if statistic == "rate" and rate_type == "dsr":
        labels = np.where(num < 10, DSR_NOT_APPLICABLE, labels).astype(np.str_)
    return labels


def _label(
    checks: list[tuple[npt.NDArray[np.bool_], str]],
) -> npt.NDArray[np.str_]:
    # checked in the PHE package's order; the first condition that holds wins
    out = np.select(
        [c for c, _ in checks], [label for _, label in checks], default=NOT_SIGNIFICANT
    )
    return out.astype(np.str_)


def calculate_funnel_points(
    numerator: npt.ArrayLike,
    rate: npt.ArrayLike,
    *,
    rate_type: Literal["dsr", "crude"],
    years_of_data: float,
    multiplier: float,
    denominator: npt.ArrayLike | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Rate and annual denominator to plot each unit on a rate funnel.

    Returns ``(rate_chart, denominator_derived)``: for DSRs both are NaN below 10
    events; the denominator is multiplier·events/rate/years (crude with 0
    events: the supplied denominator / years).

    Example:
        >>> r, d = calculate_funnel_points([20], [100.0], rate_type="crude",
        ...                                years_of_data=2, multiplier=1e5)
        >>> float(r[0]), float(d[0])
        (100.0, 10000.0)
    """
    num = as_float_array(numerator, "numerator")
    rates = as_float_array(rate, "rate")
    with np.errstate(divide="ignore", invalid="ignore"):
        derived = multiplier * num / rates / years_of_data
    if rate_type == "dsr":
        small = num < 10
        return np.where(small, np.nan, rates), np.where(small, np.nan, derived)
    if denominator is not None:
        den = as_float_array(denominator, "denominator")
        derived = np.where(num == 0, den / years_of_data, derived)
    elif (num == 0).any():
        raise InputDataError(
            "records with 0 events need the denominator to be supplied"
        )
    return rates, derived
