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


def _band_matrix(rows: pd.DataFrame, column: str) -> tuple[pd.DataFrame, np.ndarray]:
    wide = rows.pivot_table(
        index=GROUP, columns="sband", values=column, aggfunc="sum", fill_value=0.0
    )
    wide = wide.reindex(columns=range(N_AGE_BANDS), fill_value=0.0)
    return wide, wide.to_numpy(dtype=float)


def _standardised(rows: pd.DataFrame, definition: IndicatorDefinition) -> pd.DataFrame:
    wide_num, x = _band_matrix(rows, "num")
    _, n = _band_matrix(rows, "den")
    totals = rows.groupby(GROUP, sort=False)[["num", "den", "exc", "num_sq"]].sum()
    totals = totals.reindex(wide_num.index)
    out = totals.reset_index()
    names = rows[[*GROUP, "area_name", "parent_area_code"]].drop_duplicates(GROUP)
    out = out.merge(names, on=GROUP, how="left")
    mult = definition.multiplier
    for suffix, conf in CONFIDENCE.items():
        if definition.value_type is ValueType.DSR:
            res = directly_standardised_rate(
                x, n, ESP2013, multiplier=mult, confidence=conf
            )
        else:
            ref = _reference(wide_num.index, rows)
            res = indirectly_standardised_ratio(
                x, n, ref[0], ref[1], refvalue=mult, confidence=conf
            )
        out["value"] = np.asarray(res.value, dtype=float)
        out[f"lower_ci_{suffix}"] = np.asarray(res.lower, dtype=float)
        out[f"upper_ci_{suffix}"] = np.asarray(res.upper, dtype=float)
    return out


def _reference(
    index: pd.Index, rows: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """National age-specific counts and populations of the same period, per row."""
    nat = rows[(rows["area_type"] == "national") & (rows["breakdown"] == "total")]
    ref_x = nat.pivot_table(
        index="period_id", columns="sband", values="num", aggfunc="sum", fill_value=0.0
    ).reindex(columns=range(N_AGE_BANDS), fill_value=0.0)
    ref_n = nat.pivot_table(
        index="period_id", columns="sband", values="den", aggfunc="sum", fill_value=0.0
    ).reindex(columns=range(N_AGE_BANDS), fill_value=0.0)
    periods = index.get_level_values("period_id")
    return (
        ref_x.reindex(periods, fill_value=0.0).to_numpy(float),
        ref_n.reindex(periods, fill_value=0.0).to_numpy(float),
    )


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
