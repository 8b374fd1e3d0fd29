"""Counts and crude rates with exact Poisson or Byar's confidence limits (PHE method).

PHE rule: exact (Garwood 1936) limits for counts below 10, Byar's approximation
(Breslow & Day 1987) from 10 upwards. Vectorised over NumPy arrays, plus
`phe_rate` for pandas DataFrames. Pure: no file, database or web access.
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
    check_non_negative,
    ci_suffix,
    format_levels,
    format_number,
    normalise_confidence,
    normalise_confidence_levels,
    z_value,
)

EXACT_BELOW = 10
"""Counts below this use exact Poisson limits; at or above it, Byar's (PHE rule)."""


def byars_lower(count: npt.ArrayLike, confidence: float = 0.95) -> FloatArray:
    """Byar's lower confidence limit for a Poisson count O.

    Formula (Breslow & Day 1987, p. 69)::

        L = O · (1 − 1/(9O) − z/(3√O))³

    Returns NaN where the formula goes negative (e.g. O = 1 at 99.8 %) and for
    O = 0, as PHEindicatormethods does; prefer `byars_interval`, which switches to
    exact limits for small counts.

    Args:
        count: Observed counts O (≥ 0; fractional allowed).
        confidence: Confidence level.

    Returns:
        Lower limits on the count scale.

    Example:
        >>> round(float(byars_lower([65])[0]), 4)
        50.1632
    """
    o = as_float_array(count, "count")
    check_non_negative(o, "count")
    z = z_value(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = o * (1.0 - 1.0 / (9.0 * o) - z / (3.0 * np.sqrt(o))) ** 3
    return np.where((lower >= 0) & (o > 0), lower, np.nan)


def byars_upper(count: npt.ArrayLike, confidence: float = 0.95) -> FloatArray:
    """Byar's upper confidence limit for a Poisson count O.

    Formula (Breslow & Day 1987)::

        U = (O + 1) · (1 − 1/(9(O + 1)) + z/(3√(O + 1)))³

    Example:
        >>> round(float(byars_upper([65])[0]), 4)
        82.8491
    """
    o = as_float_array(count, "count") + 1.0
    check_non_negative(o - 1.0, "count")
    z = z_value(confidence)
    return o * (1.0 - 1.0 / (9.0 * o) + z / (3.0 * np.sqrt(o))) ** 3


def exact_poisson_interval(
    count: npt.ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Exact (Garwood 1936) Poisson limits for a count O, via chi-square quantiles.

    Formula::

        L = ½ χ²_{α/2}(2O)   (L = 0 when O = 0)
        U = ½ χ²_{1−α/2}(2O + 2)

    Example:
        >>> lo, hi = exact_poisson_interval([5])
        >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
        (1.6235, 11.6683)
    """
    o = as_float_array(count, "count")
    check_non_negative(o, "count")
    level = normalise_confidence(confidence)
    alpha = 1.0 - level
    with np.errstate(invalid="ignore"):
        lower = np.where(
            o > 0,
            _scipy.chi2_ppf(alpha / 2.0, 2.0 * np.where(o > 0, o, 1.0)) / 2.0,
            0.0,
        )
        upper = _scipy.chi2_ppf(1.0 - alpha / 2.0, 2.0 * o + 2.0) / 2.0
    lower = np.where(np.isnan(o), np.nan, lower)
    return np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)


def byars_interval(
    count: npt.ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Poisson limits for counts, PHE style: exact below 10, Byar's from 10 up.

    These bounds are on the COUNT scale; divide by a denominator (and multiply)
    for a rate, or use `rate_interval`. A count of 0 gives lower 0 and the exact
    upper limit; a missing count gives NaN.

    Args:
        count: Observed counts (≥ 0).
        confidence: Confidence level.

    Returns:
        ``(lower, upper)`` count limits.

    Example:
        >>> lo, hi = byars_interval([5, 65])
        >>> [round(float(v), 3) for v in lo]
        [1.623, 50.163]
    """
    o = as_float_array(count, "count")
    exact_lo, exact_hi = exact_poisson_interval(o, confidence)
    byar_lo = byars_lower(o, confidence)
    byar_hi = byars_upper(o, confidence)
    small = o < EXACT_BELOW
    return np.where(small, exact_lo, byar_lo), np.where(small, exact_hi, byar_hi)


def poisson_method(count: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """Name of the PHE method used for each count: ``Exact`` (< 10) or ``Byars``."""
    o = as_float_array(count, "count")
    labels = np.where(o < EXACT_BELOW, "Exact", "Byars")
    return np.where(np.isnan(o), "", labels)


def rate_interval(
    count: npt.ArrayLike,
    denominator: npt.ArrayLike,
    multiplier: float = 100_000,
    confidence: float = 0.95,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Crude rate O/N × multiplier with PHE Poisson limits (exact < 10, Byar's ≥ 10).

    Limits are the `byars_interval` count limits divided by N, × multiplier.
    Edge cases: N = 0 or missing → NaN value and limits; O = 0 → value 0,
    lower 0, exact upper limit. Counts may exceed the denominator (rates).

    Args:
        count: Events O (≥ 0).
        denominator: Population or person-time N (≥ 0).
        multiplier: e.g. 100,000 for "per 100,000".
        confidence: Confidence level.

    Returns:
        ``(value, lower, upper)``.

    Example:
        >>> v, lo, hi = rate_interval([20], [100], multiplier=100)
        >>> float(v[0]), round(float(lo[0]), 4), round(float(hi[0]), 4)
        (20.0, 12.2114, 30.8899)
    """
    o, n = broadcast(
        as_float_array(count, "count"), as_float_array(denominator, "denominator")
    )
    check_non_negative(n, "denominator")
    lower, upper = byars_interval(o, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(n > 0, multiplier / n, np.nan)
    return o * scale, lower * scale, upper * scale


def phe_rate(
    data: pd.DataFrame,
    x: str,
    n: str,
    *,
    group_by: str | Sequence[str] | None = None,
    confidence: float | Sequence[float] = PHE_CONFIDENCE_LEVELS,
    multiplier: float = 100_000,
) -> pd.DataFrame:
    """Crude rates with PHE Poisson limits for each row (or group) of a DataFrame.

    Mirrors ``PHEindicatormethods::phe_rate(type = "full")``: value = x/n ×
    multiplier; exact limits when x < 10 and Byar's otherwise (`method` says
    which). With `group_by`, counts and denominators are summed per group first.

    Args:
        data: Input table.
        x: Count column.
        n: Denominator column (population or person-years).
        group_by: Column(s) to aggregate by.
        confidence: One level or several.
        multiplier: Rate per this many (default 100,000).

    Returns:
        A new DataFrame with `value`, ``lower95_0cl`` … , `statistic`, `method`.

    Raises:
        InputDataError: missing/non-numeric columns, negative counts or a
            denominator ≤ 0 (naming the row).

    Example:
        >>> df = pd.DataFrame({"area": ["A"], "deaths": [65], "pop": [100]})
        >>> round(float(phe_rate(df, "deaths", "pop", multiplier=100)["value"][0]), 1)
        65.0
    """
    levels = normalise_confidence_levels(confidence)
    out, xs, ns = _frames.counts_frame(data, x, n, group_by, "rate")
    value, _, _ = rate_interval(xs, ns, multiplier, levels[0])
    out["value"] = value
    for level in levels:
        _, lower, upper = rate_interval(xs, ns, multiplier, level)
        out[f"lower{ci_suffix(level)}"] = lower
        out[f"upper{ci_suffix(level)}"] = upper
    out["confidence"] = format_levels(levels)
    out["statistic"] = f"rate per {format_number(multiplier)}"
    out["method"] = poisson_method(xs)
    return out
