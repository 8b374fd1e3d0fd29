"""Values, confidence intervals and benchmark comparisons for aggregated rows.

All methods come from `carepilot.stats` (Wilson, Byar's/exact Poisson, Student-t,
Dobson DSR, ISR, Fingertips significance); this module only picks the method for
the indicator's value type and lines the arrays up.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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
GROUP = ["area_type", "area_code", "period_id", "breakdown", "category"]


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


def add_statistics(rows: pd.DataFrame, definition: IndicatorDefinition) -> pd.DataFrame:
    """Add value and limits to rolled-up rows (collapsing age bands for DSR/ISR).

    Args:
        rows: `GROUP` columns, [`sband`], `num`, `den`, `exc`, `num_sq`.
        definition: the indicator.

    Returns:
        One row per `GROUP` with the statistics columns added.
    """
    vt = definition.value_type
    if vt in (ValueType.DSR, ValueType.ISR):
        return _standardised(rows, definition)
    stats = simple_statistics(
        rows["num"].to_numpy(float),
        rows["den"].to_numpy(float),
        rows["num_sq"].to_numpy(float),
        definition,
    )
    out = rows.copy()
    for k, v in stats.items():
        out[k] = v
    return out


def _bands(
    rows: pd.DataFrame, index: list[str]
) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """Counts and populations per age band as (groups x 19) matrices."""
    wide = (
        rows.groupby([*index, "sband"], sort=True, dropna=False)[["num", "den"]]
        .sum()
        .unstack("sband", fill_value=0.0)
    )
    bands = list(range(N_AGE_BANDS))
    x = pd.DataFrame(wide["num"]).reindex(columns=bands, fill_value=0.0)
    n = pd.DataFrame(wide["den"]).reindex(columns=bands, fill_value=0.0)
    return wide.index, x.to_numpy(dtype=float), n.to_numpy(dtype=float)


def _standardised(rows: pd.DataFrame, definition: IndicatorDefinition) -> pd.DataFrame:
    index, x, n = _bands(rows, GROUP)
    totals = rows.groupby(GROUP, sort=True, dropna=False)[
        ["num", "den", "exc", "num_sq"]
    ].sum()
    out = totals.reindex(index).reset_index()
    names = rows[[*GROUP, "area_name", "parent_area_code"]].drop_duplicates(GROUP)
    out = out.merge(names, on=GROUP, how="left")
    mult = definition.multiplier
    ref: tuple[np.ndarray, np.ndarray] | None = None
    if definition.value_type is ValueType.ISR:
        ref = _reference(index, rows)
    for suffix, conf in CONFIDENCE.items():
        if ref is None:
            res = directly_standardised_rate(
                x, n, ESP2013, multiplier=mult, confidence=conf
            )
        else:
            res = indirectly_standardised_ratio(
                x, n, ref[0], ref[1], refvalue=mult, confidence=conf
            )
        out[f"lower_ci_{suffix}"] = np.asarray(res.lower, dtype=float)
        out[f"upper_ci_{suffix}"] = np.asarray(res.upper, dtype=float)
        out["value"] = np.asarray(res.value, dtype=float)
    return out


def _reference(index: pd.Index, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """National age-specific counts and populations of the same period, per row."""
    nat = rows[(rows["area_type"] == "national") & (rows["breakdown"] == "total")]
    periods, x, n = _bands(nat, ["period_id"])
    pos = pd.Index(periods).get_indexer(index.get_level_values("period_id"))
    x = np.vstack([x, np.zeros((1, N_AGE_BANDS))])
    n = np.vstack([n, np.zeros((1, N_AGE_BANDS))])
    return x[pos], n[pos]


def add_comparison(rows: pd.DataFrame, definition: IndicatorDefinition) -> pd.DataFrame:
    """Compare each row with the national value of the same period and category.

    Fingertips' rule via `compare_to_benchmark` on the 95 % limits; national rows
    themselves are "not compared".
    """
    nat = rows.loc[
        rows["area_type"] == "national", ["period_id", "breakdown", "category", "value"]
    ].rename(columns={"value": "_benchmark"})
    merged = rows.merge(nat, on=["period_id", "breakdown", "category"], how="left")
    comparison = compare_to_benchmark(
        merged["value"].to_numpy(float),
        merged["lower_ci_95"].to_numpy(float),
        merged["upper_ci_95"].to_numpy(float),
        merged["_benchmark"].to_numpy(float),
        definition.polarity.value,
    )
    comparison = np.where(merged["area_type"] == "national", "not compared", comparison)
    out = rows.copy()
    out["comparison"] = comparison
    return out
