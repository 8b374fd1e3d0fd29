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


def _group_codes(
    rows: pd.DataFrame, columns: list[str]
) -> tuple[np.ndarray, pd.DataFrame]:
    """Group index per row (groups in sorted order) and each group's key values."""
    key = np.zeros(len(rows), dtype=np.int64)
    uniques: list[pd.Index] = []
    for c in columns:
        codes, u = pd.factorize(rows[c], sort=True, use_na_sentinel=False)
        key = key * max(len(u), 1) + codes.astype(np.int64)
        uniques.append(pd.Index(u))
    uniq, inverse = np.unique(key, return_inverse=True)
    decoded: dict[str, np.ndarray] = {}
    rest = uniq
    for c, u in zip(reversed(columns), reversed(uniques), strict=True):
        n = max(len(u), 1)
        decoded[c] = u.take(rest % n).to_numpy()
        rest = rest // n
    return inverse, pd.DataFrame({c: decoded[c] for c in columns})


def _band_matrices(
    inverse: np.ndarray, n_groups: int, rows: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Counts and populations per age band as (groups x 19) matrices."""
    cell = inverse * N_AGE_BANDS + rows["sband"].to_numpy(dtype=np.int64)
    size = n_groups * N_AGE_BANDS
    x = np.bincount(cell, weights=_f(rows["num"]), minlength=size)
    n = np.bincount(cell, weights=_f(rows["den"]), minlength=size)
    return x.reshape(n_groups, N_AGE_BANDS), n.reshape(n_groups, N_AGE_BANDS)


def _f(values: pd.Series) -> np.ndarray:
    return np.nan_to_num(values.to_numpy(dtype=float))


def _standardised(rows: pd.DataFrame, definition: IndicatorDefinition) -> pd.DataFrame:
    """DSR / ISR for every group at once, on (groups x 19 age bands) matrices.

    Rows are grouped with integer codes and summed with `np.bincount` (no pandas
    group-by or unstack); the statistics functions are already vectorised over
    groups.
    """
    inverse, out = _group_codes(rows, GROUP)
    g = len(out)
    x, n = _band_matrices(inverse, g, rows)
    for m in ("num", "den", "exc", "num_sq"):
        out[m] = np.bincount(inverse, weights=_f(rows[m]), minlength=g)
    _, first = np.unique(inverse, return_index=True)
    for c in ("area_name", "parent_area_code"):
        out[c] = rows[c].to_numpy()[first]
    mult = definition.multiplier
    ref: tuple[np.ndarray, np.ndarray] | None = None
    if definition.value_type is ValueType.ISR and definition.expected is not None:
        # External expected rates: O = num, E = num_sq (the summed expected
        # probabilities, see `compile_indicator`), as a one-band ISR.
        observed = out["num"].to_numpy(float)[:, None]
        expected = out["num_sq"].to_numpy(float)[:, None]
        ones = np.ones_like(expected)
        for suffix, conf in CONFIDENCE.items():
            res = indirectly_standardised_ratio(
                observed, expected, ones, ones, refvalue=mult, confidence=conf
            )
            out[f"lower_ci_{suffix}"] = np.asarray(res.lower, dtype=float)
            out[f"upper_ci_{suffix}"] = np.asarray(res.upper, dtype=float)
            out["value"] = np.asarray(res.value, dtype=float)
        return out
    if definition.value_type is ValueType.ISR:
        ref = _reference(out["period_id"].to_numpy(), rows)
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


def _reference(
    period_of_group: np.ndarray, rows: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """National age-specific counts and populations of the same period, per group."""
    nat = rows[(rows["area_type"] == "national") & (rows["breakdown"] == "total")]
    inverse, periods = _group_codes(nat, ["period_id"])
    x, n = _band_matrices(inverse, len(periods), nat)
    pos = pd.Index(periods["period_id"]).get_indexer(pd.Index(period_of_group))
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
