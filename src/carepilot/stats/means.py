"""Means with Student-t confidence limits, from aggregated sums (PHE method).

The engine aggregates SUM(x), SUM(x²) and COUNT(x) in SQL and calls
`mean_interval`; analysts can use `phe_mean` on raw values in a DataFrame.
Pure: no file, database or web access.
"""

# pyright: reportMissingTypeStubs=false

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from carepilot.stats import _frames, _scipy
from carepilot.stats._common import (
    PHE_CONFIDENCE_LEVELS,
    FloatArray,
    as_float_array,
    broadcast,
    ci_suffix,
    format_levels,
    normalise_confidence,
    normalise_confidence_levels,
)


def t_interval(
    mean: npt.ArrayLike, sd: npt.ArrayLike, n: npt.ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Student-t limits x̄ ∓ |t_{α/2}(n − 1)| · s/√n (Student 1908).

    n < 2 gives NaN limits (the sample SD is undefined).

    Example:
        >>> lo, hi = t_interval([10.0], [2.0], [4])
        >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
        (6.8176, 13.1824)
    """
    m, s, k = broadcast(
        as_float_array(mean, "mean"), as_float_array(sd, "sd"), as_float_array(n, "n")
    )
    level = normalise_confidence(confidence)
    ok = k >= 2
    dof = np.where(ok, k - 1.0, 1.0)
    t = _scipy.t_ppf(1.0 - (1.0 - level) / 2.0, dof)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = np.where(ok, t * s / np.sqrt(k), np.nan)
    return (m - half).astype(np.float64), (m + half).astype(np.float64)


def mean_interval(
    total: npt.ArrayLike,
    total_sq: npt.ArrayLike,
    n: npt.ArrayLike,
    confidence: float = 0.95,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Mean and Student-t limits from Σx, Σx² and the count n.

    Formulas::

        x̄ = Σx / n
        s² = (Σx² − (Σx)²/n) / (n − 1)      (clipped at 0 against rounding)
        limits = x̄ ∓ |t_{α/2}(n − 1)| · s/√n

    Edge cases: n = 0 → NaN value and limits; n = 1 → value, NaN limits.
    (Sums of squares lose precision only when the SD is below ~1e-7 of the
    mean; use `t_interval` with a two-pass SD for such data.)

    Args:
        total: Σx per group.
        total_sq: Σx² per group.
        n: Number of non-missing observations per group.
        confidence: Confidence level.

    Returns:
        ``(value, lower, upper)``.

    Example:
        >>> v, lo, hi = mean_interval([40.0], [416.0], [4])
        >>> float(v[0]), round(float(lo[0]), 4)
        (10.0, 6.3252)
    """
    sx, sxx, k = broadcast(
        as_float_array(total, "total"),
        as_float_array(total_sq, "total_sq"),
        as_float_array(n, "n"),
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(k > 0, sx / k, np.nan)
        var = np.where(k > 1, (sxx - sx * sx / k) / (k - 1.0), np.nan)
    sd = np.sqrt(np.clip(var, 0.0, None))
    lower, upper = t_interval(mean, sd, k, confidence)
    return mean.astype(np.float64), lower, upper


def phe_mean(
    data: pd.DataFrame,
    x: str,
    *,
    group_by: str | Sequence[str] | None = None,
    confidence: float | Sequence[float] = PHE_CONFIDENCE_LEVELS,
) -> pd.DataFrame:
    """Mean of raw values with Student-t limits, per group (``phe_mean``).

    Missing values are ignored. Output columns: groups, `value_sum`,
    `value_count`, `stdev` (divisor n − 1), `value`, limits per level,
    `confidence`, `statistic` ("mean"), `method` ("Student's t-distribution").

    Example:
        >>> df = pd.DataFrame({"g": ["a"] * 4, "v": [8.0, 10.0, 10.0, 12.0]})
        >>> float(phe_mean(df, "v", group_by="g", confidence=0.95)["value"][0])
        10.0
    """
    levels = normalise_confidence_levels(confidence)
    groups = _frames.as_list(group_by)
    _frames.require_columns(data, [x, *groups])
    rows: list[dict[str, object]] = []
    for key, frame in _frames.split_groups(data, groups):
        values = _frames.numeric_column(frame, x)
        values = values[~np.isnan(values)]
        row: dict[str, object] = dict(zip(groups, key, strict=True))
        row["value_sum"] = float(values.sum())
        row["value_count"] = int(values.size)
        row["stdev"] = float(values.std(ddof=1)) if values.size > 1 else float("nan")
        rows.append(row)
    out = pd.DataFrame(rows)
    total = _frames.numeric_column(out, "value_sum")
    count = _frames.numeric_column(out, "value_count")
    sd = _frames.numeric_column(out, "stdev")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / count, np.nan)
    out["value"] = mean
    for level in levels:
        lower, upper = t_interval(mean, sd, count, level)
        out[f"lower{ci_suffix(level)}"] = lower
        out[f"upper{ci_suffix(level)}"] = upper
    out["confidence"] = format_levels(levels)
    out["statistic"] = "mean"
    out["method"] = "Student's t-distribution"
    return out
