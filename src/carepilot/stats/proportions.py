"""Proportions with Wilson score confidence limits (PHE/Fingertips method).

Vectorised over NumPy arrays for the indicator engine, plus `phe_proportion` for
analysts working with pandas DataFrames. Pure: no file, database or web access.
"""

# pyright: reportMissingTypeStubs=false

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from carepilot.errors import InputDataError
from carepilot.stats import _frames
from carepilot.stats._common import (
    PHE_CONFIDENCE_LEVELS,
    FloatArray,
    as_float_array,
    broadcast,
    check_non_negative,
    check_not_greater,
    ci_suffix,
    format_levels,
    format_number,
    normalise_confidence,
    normalise_confidence_levels,
    z_value,
)


def wilson_interval(
    numerator: npt.ArrayLike, denominator: npt.ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Wilson score confidence limits for proportions x/n, on the 0-1 scale.

    Formula (Wilson 1927; Newcombe 1998), with z = Φ⁻¹(1 − α/2)::

        L, U = (2x + z² ∓ z·√(z² + 4x(1 − x/n))) / (2(n + z²))

    Limits are clipped to [0, 1] (so x = 0 gives L = 0 and x = n gives U = 1
    exactly). ``confidence = 1`` returns 0 and 1, as PHEindicatormethods does.

    Edge cases: a denominator of 0, or a missing numerator or denominator, gives
    NaN limits (no estimate exists). Negative counts and x > n raise
    `InputDataError`; fractional counts are allowed.

    Args:
        numerator: Events x (array-like, ≥ 0).
        denominator: Sample sizes n (array-like, ≥ x).
        confidence: Level in (0.9, 1] or (90, 100], e.g. 0.95 or 0.998.

    Returns:
        ``(lower, upper)`` float arrays with the broadcast shape of the inputs.

    Raises:
        InputDataError: negative counts or numerator > denominator.
        DefinitionError: confidence outside the allowed range.

    Example:
        >>> lo, hi = wilson_interval([65], [100])
        >>> round(float(lo[0]), 6), round(float(hi[0]), 6)
        (0.552544, 0.736358)
    """
    x, n = broadcast(
        as_float_array(numerator, "numerator"),
        as_float_array(denominator, "denominator"),
    )
    check_non_negative(x, "numerator")
    check_non_negative(n, "denominator")
    check_not_greater(x, n, "numerator", "denominator")
    level = normalise_confidence(confidence)
    valid = n > 0
    if level == 1.0:
        lower = np.where(valid, 0.0, np.nan)
        upper = np.where(valid, 1.0, np.nan)
        return lower, upper
    z = z_value(level)
    with np.errstate(invalid="ignore", divide="ignore"):
        root = z * np.sqrt(z * z + 4.0 * x * (1.0 - x / n))
        lower = (2.0 * x + z * z - root) / 2.0 / (n + z * z)
        upper = (2.0 * x + z * z + root) / 2.0 / (n + z * z)
    lower = np.where(x == 0, 0.0, np.clip(lower, 0.0, 1.0))
    upper = np.where(x == n, 1.0, np.clip(upper, 0.0, 1.0))
    lower = np.where(valid, lower, np.nan)
    upper = np.where(valid, upper, np.nan)
    return lower.astype(np.float64), upper.astype(np.float64)


def proportion_interval(
    numerator: npt.ArrayLike,
    denominator: npt.ArrayLike,
    multiplier: float = 1.0,
    confidence: float = 0.95,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Proportion x/n × multiplier with Wilson limits × multiplier.

    Edge cases as `wilson_interval`; a denominator of 0 gives NaN value and limits.

    Args:
        numerator: Events x.
        denominator: Sample sizes n.
        multiplier: 1 for a proportion, 100 for a percentage.
        confidence: Confidence level.

    Returns:
        ``(value, lower, upper)``.

    Example:
        >>> v, lo, hi = proportion_interval([20], [100], multiplier=100)
        >>> float(v[0]), round(float(lo[0]), 4), round(float(hi[0]), 4)
        (20.0, 13.3367, 28.8829)
    """
    lower, upper = wilson_interval(numerator, denominator, confidence)
    x, n = broadcast(
        as_float_array(numerator, "numerator"),
        as_float_array(denominator, "denominator"),
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(n > 0, x / n, np.nan)
    return value * multiplier, lower * multiplier, upper * multiplier


def phe_proportion(
    data: pd.DataFrame,
    x: str,
    n: str,
    *,
    group_by: str | Sequence[str] | None = None,
    confidence: float | Sequence[float] = PHE_CONFIDENCE_LEVELS,
    multiplier: float = 1.0,
) -> pd.DataFrame:
    """Proportions with Wilson limits for each row (or group) of a DataFrame.

    Mirrors ``PHEindicatormethods::phe_proportion(type = "full")``. With
    `group_by`, numerators and denominators are summed within groups first (a
    missing value makes the group's result missing). Output columns: the group
    columns (or all input columns when ungrouped), `value`, ``lower95_0cl``,
    ``upper95_0cl`` … per level, `confidence`, `statistic`, `method`.

    Args:
        data: Input table.
        x: Numerator column.
        n: Denominator column.
        group_by: Column(s) to aggregate by before calculating.
        confidence: One level or several, e.g. ``(0.95, 0.998)``.
        multiplier: 1 (proportion) or 100 (percentage).

    Returns:
        A new DataFrame.

    Raises:
        InputDataError: missing/non-numeric columns, negative counts, a
            denominator of 0 or x > n in some row (the message names the row).

    Example:
        >>> df = pd.DataFrame({"area": ["A", "B"], "num": [65, 20], "den": [100, 100]})
        >>> out = phe_proportion(df, "num", "den", confidence=0.95, multiplier=100)
        >>> out[["area", "value"]].to_dict("list")
        {'area': ['A', 'B'], 'value': [65.0, 20.0]}
    """
    levels = normalise_confidence_levels(confidence)
    out, xs, ns = _frames.counts_frame(data, x, n, group_by, "proportion")
    over = np.flatnonzero(xs > ns)
    if over.size:
        raise InputDataError(
            f"column `{x}` is greater than `{n}` in row {int(over[0]) + 1}; a "
            "proportion's numerator must not exceed its denominator"
        )
    value, _, _ = proportion_interval(xs, ns, multiplier, levels[0])
    out["value"] = value
    for level in levels:
        _, lower, upper = proportion_interval(xs, ns, multiplier, level)
        out[f"lower{ci_suffix(level)}"] = lower
        out[f"upper{ci_suffix(level)}"] = upper
    out["confidence"] = format_levels(levels)
    out["statistic"] = (
        "proportion of 1"
        if multiplier == 1
        else (
            "percentage"
            if multiplier == 100
            else f"proportion of {format_number(multiplier)}"
        )
    )
    out["method"] = "Wilson"
    return out
