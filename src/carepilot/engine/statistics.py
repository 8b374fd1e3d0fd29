"""Values, confidence intervals and benchmark comparisons for aggregated rows.

All methods come from `carepilot.stats` (Wilson, Byar's/exact Poisson, Student-t,
Dobson DSR, ISR, Fingertips significance); this module only picks the method for
the indicator's value type and lines the arrays up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carepilot.engine.areas import unique_keys
from carepilot.engine.breakdowns import N_AGE_BANDS
from carepilot.indicators.model import IndicatorDefinition, ValueType
from carepilot.stats.dsr import directly_standardised_rate
from carepilot.stats.isr import indirectly_standardised_ratio
from carepilot.stats.means import mean_interval
from carepilot.stats.proportions import wilson_interval
from carepilot.stats.rates import byars_interval, rate_interval
from carepilot.stats.significance import compare_to_benchmark
from carepilot.stats.standard_populations import ESP2013

CONFIDENCE = {"95": 0.95, "99_8": 0.998}
STAT_NAMES = ("value", "lower_ci_95", "upper_ci_95", "lower_ci_99_8", "upper_ci_99_8")
MEASURES = ("num", "den", "exc", "num_sq")


def simple_statistics(
    num: np.ndarray,
    den: np.ndarray,
    num_sq: np.ndarray,
    definition: IndicatorDefinition,
) -> dict[str, np.ndarray]:
    """Value and 95 % / 99.8 % limits for non-standardised value types.

    Args:
        num: numerator (count, or sum of values for means).
        den: denominator (people; for proportions B - C).
        num_sq: sum of squared values (means only).
        definition: the indicator (value type and multiplier).

    Returns:
        `value`, `lower_ci_95`, `upper_ci_95`, `lower_ci_99_8`, `upper_ci_99_8`.
    """
    vt, mult = definition.value_type, definition.multiplier
    out: dict[str, np.ndarray] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for suffix, conf in CONFIDENCE.items():
            if vt is ValueType.PROPORTION:
                lo, hi = wilson_interval(num, den, conf)
                value = np.where(den > 0, num / den, np.nan) * mult
                lo, hi = lo * mult, hi * mult
            elif vt is ValueType.CRUDE_RATE:
                value, lo, hi = rate_interval(num, den, mult, conf)
            elif vt is ValueType.COUNT:
                lo, hi = byars_interval(num, conf)
                value = num.astype(float) * mult
                lo, hi = lo * mult, hi * mult
            elif vt is ValueType.MEAN:
                value, lo, hi = mean_interval(num, num_sq, den, conf)
                value, lo, hi = value * mult, lo * mult, hi * mult
            else:  # pragma: no cover - standardised types use their own path
                raise ValueError(vt)
            out["value"] = np.asarray(value, dtype=float)
            out[f"lower_ci_{suffix}"] = np.asarray(lo, dtype=float)
            out[f"upper_ci_{suffix}"] = np.asarray(hi, dtype=float)
    return out


@dataclass(frozen=True)
class StatRows:
    """Output rows as arrays: keys, summed measures, statistics, comparison.

    Attributes:
        area: index into the run's `areas.AreaTable` per row.
        period: period id per row.
        category: `breakdowns.CategoryIndex` code per row.
        measures: `num`, `den`, `exc`, `num_sq` per row.
        stats: `value` and the 95 % / 99.8 % limits per row.
        comparison: Fingertips comparison with the national value per row.
    """

    area: np.ndarray
    period: np.ndarray
    category: np.ndarray
    measures: dict[str, np.ndarray]
    stats: dict[str, np.ndarray]
    comparison: np.ndarray

    def __len__(self) -> int:
        return len(self.area)


def result_rows(
    area: np.ndarray,
    period: np.ndarray,
    band: np.ndarray | None,
    category: np.ndarray,
    measures: dict[str, np.ndarray],
    *,
    national: int,
    breakdown_of: np.ndarray,
    definition: IndicatorDefinition,
) -> StatRows:
    """Statistics and comparison for rolled-up rows (age bands collapsed for DSR/ISR).

    Args:
        area, period, category: each row's area index, period id and category
            code; `band` its age band (standardised indicators, else None).
        measures: `num`, `den`, `exc`, `num_sq` per row.
        national: area index of the national area (the benchmark).
        breakdown_of: breakdown name per category code.
        definition: the indicator.
    """
    if band is not None:
        return _standardised(
            area, period, band, category, measures, national, breakdown_of, definition
        )
    stats = simple_statistics(
        measures["num"], measures["den"], measures["num_sq"], definition
    )
    comparison = _compare(area, period, category, stats, national, definition)
    return StatRows(area, period, category, measures, stats, comparison)


def _compare(
    area: np.ndarray,
    period: np.ndarray,
    category: np.ndarray,
    stats: dict[str, np.ndarray],
    national: int,
    definition: IndicatorDefinition,
) -> np.ndarray:
    """Compare each row with the national value of the same period and category.

    Fingertips' rule via `compare_to_benchmark` on the 95 % limits; national rows
    themselves are "not compared".
    """
    value = stats["value"]
    is_national = area == national
    n_periods = int(period.max()) + 1 if len(period) else 0
    n_categories = int(category.max()) + 1 if len(category) else 0
    benchmark = np.full((n_periods, n_categories), np.nan)
    benchmark[period[is_national], category[is_national]] = value[is_national]
    comparison = compare_to_benchmark(
        value,
        stats["lower_ci_95"],
        stats["upper_ci_95"],
        benchmark[period, category] if len(period) else np.zeros(0),
        definition.polarity.value,
    )
    return np.where(is_national, "not compared", comparison)


def _standardised(
    area: np.ndarray,
    period: np.ndarray,
    band: np.ndarray,
    category: np.ndarray,
    measures: dict[str, np.ndarray],
    national: int,
    breakdown_of: np.ndarray,
    definition: IndicatorDefinition,
) -> StatRows:
    """DSR / ISR for every (area, period, category) at once, on (groups x 19 age
    bands) matrices summed with `np.bincount`.

    The `age_band` breakdown's rows have one band each: for a DSR they get the
    band's crude rate (Byar's / exact Poisson limits), as Fingertips shows
    age-specific rates; for an ISR the ratio restricted to the band (observed
    over expected in that band).
    """
    n_periods = int(period.max()) + 1 if len(period) else 1
    n_categories = int(category.max()) + 1 if len(category) else 1
    n_areas = int(area.max()) + 1 if len(area) else 1
    key = (area * n_periods + period) * n_categories + category
    uniq, inverse = unique_keys(key, float(n_areas) * n_periods * n_categories)
    g = len(uniq)
    g_category = uniq % n_categories
    g_period = (uniq // n_categories) % n_periods
    g_area = uniq // (n_categories * n_periods)
    x, n = _band_matrices(inverse, g, band, measures["num"], measures["den"])
    totals = {
        m: np.bincount(inverse, weights=np.nan_to_num(measures[m]), minlength=g)
        for m in MEASURES
    }
    mult = definition.multiplier
    stats: dict[str, np.ndarray] = {}
    if definition.value_type is ValueType.ISR and definition.expected is not None:
        # External expected rates: O = num, E = num_sq (the summed expected
        # probabilities, see `compile_indicator`), as a one-band ISR.
        observed = totals["num"][:, None]
        expected = totals["num_sq"][:, None]
        ones = np.ones_like(expected)
        for suffix, conf in CONFIDENCE.items():
            res = indirectly_standardised_ratio(
                observed, expected, ones, ones, refvalue=mult, confidence=conf
            )
            stats[f"lower_ci_{suffix}"] = np.asarray(res.lower, dtype=float)
            stats[f"upper_ci_{suffix}"] = np.asarray(res.upper, dtype=float)
            stats["value"] = np.asarray(res.value, dtype=float)
    elif definition.value_type is ValueType.ISR:
        nat = (area == national) & (breakdown_of[category] == "total")
        ref_x, ref_n = _band_matrices(
            period[nat],
            n_periods,
            band[nat],
            measures["num"][nat],
            measures["den"][nat],
        )
        for suffix, conf in CONFIDENCE.items():
            res = indirectly_standardised_ratio(
                x, n, ref_x[g_period], ref_n[g_period], refvalue=mult, confidence=conf
            )
            stats[f"lower_ci_{suffix}"] = np.asarray(res.lower, dtype=float)
            stats[f"upper_ci_{suffix}"] = np.asarray(res.upper, dtype=float)
            stats["value"] = np.asarray(res.value, dtype=float)
    else:
        crude = breakdown_of[g_category] == "age_band"
        rows = np.flatnonzero(~crude)
        for suffix, conf in CONFIDENCE.items():
            res = directly_standardised_rate(
                x[rows], n[rows], ESP2013, multiplier=mult, confidence=conf
            )
            lower, upper = np.full(g, np.nan), np.full(g, np.nan)
            value = np.full(g, np.nan)
            value[rows] = res.value
            lower[rows] = res.lower
            upper[rows] = res.upper
            if crude.any():
                v, lo, hi = rate_interval(
                    totals["num"][crude], totals["den"][crude], mult, conf
                )
                value[crude], lower[crude], upper[crude] = v, lo, hi
            stats[f"lower_ci_{suffix}"] = lower
            stats[f"upper_ci_{suffix}"] = upper
            stats["value"] = value
    stats = {k: stats[k] for k in STAT_NAMES}
    comparison = _compare(g_area, g_period, g_category, stats, national, definition)
    return StatRows(g_area, g_period, g_category, totals, stats, comparison)


def _band_matrices(
    group: np.ndarray, n_groups: int, band: np.ndarray, num: np.ndarray, den: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Counts and populations per age band as (groups x 19) matrices."""
    cell = group * N_AGE_BANDS + band
    size = n_groups * N_AGE_BANDS
    x = np.bincount(cell, weights=np.nan_to_num(num), minlength=size)
    n = np.bincount(cell, weights=np.nan_to_num(den), minlength=size)
    return x.reshape(n_groups, N_AGE_BANDS), n.reshape(n_groups, N_AGE_BANDS)
