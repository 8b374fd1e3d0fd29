"""Time period labels in the Fingertips style, and the recent-trend test.

Labels: a financial year (1 April to 31 March) is "2023/24", a calendar year
"2023", a quarter "2023 Q2" (calendar quarters), a month "Apr 2023"; anything else
"2023-04-01 to 2023-09-30". "Time period Sortable" is the start date as YYYYMMDD.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
from scipy import stats as sps


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole months covered by an inclusive period (start 1st, end last day)."""
    return (end.year - start.year) * 12 + end.month - start.month + 1


def period_label(start: dt.date, end: dt.date) -> str:
    """Fingertips-style label for the inclusive period ``start..end``."""
    months = months_between(start, end)
    if start.day == 1:
        if months == 12 and start.month == 4:
            return f"{start.year}/{(start.year + 1) % 100:02d}"
        if months == 12 and start.month == 1:
            return str(start.year)
        if months == 3 and start.month in (1, 4, 7, 10):
            return f"{start.year} Q{(start.month - 1) // 3 + 1}"
        if months == 1:
            return start.strftime("%b %Y")
    return f"{start.isoformat()} to {end.isoformat()}"


def period_range(start: dt.date, end: dt.date) -> str:
    """Fingertips "Time period range": ``1m``, ``3m``, ``1y``, ``2y``..."""
    months = months_between(start, end)
    if months % 12 == 0:
        return f"{months // 12}y"
    return f"{months}m"


def sortable(start: dt.date) -> int:
    """Integer that sorts periods chronologically (YYYYMMDD of the start)."""
    return start.year * 10_000 + start.month * 100 + start.day


def trend_test(numerators: np.ndarray, denominators: np.ndarray) -> tuple[float, float]:
    """Chi-squared test for linear trend in proportions (Cochran-Armitage).

    With scores tᵢ = 0..k-1, pooled p = ΣOᵢ/ΣNᵢ::

        T = Σ tᵢ(Oᵢ − Nᵢp),  Var(T) = p(1 − p)[Σ Nᵢtᵢ² − (Σ Nᵢtᵢ)²/ΣNᵢ]
        χ² = T²/Var(T) on 1 df

    This is the test Fingertips uses for the "Recent trend" of proportions over
    the last five points (PHE Fingertips technical guidance, "Recent trends").

    Returns:
        (T, two-sided p); p is NaN when the variance is 0 or undefined.
    """
    o = np.asarray(numerators, float)
    n = np.asarray(denominators, float)
    t = np.arange(len(o), dtype=float)
    total = n.sum()
    if total <= 0 or np.isnan(o).any() or np.isnan(n).any():
        return math.nan, math.nan
    p = o.sum() / total
    stat = float((t * (o - n * p)).sum())
    var = p * (1 - p) * float((n * t**2).sum() - (n * t).sum() ** 2 / total)
    if not var > 0:
        return stat, math.nan
    chi2 = stat**2 / var
    return stat, float(sps.chi2.sf(chi2, 1))


def recent_trend(
    numerators: np.ndarray,
    denominators: np.ndarray,
    polarity: str,
    value_type: str,
    points: int = 5,
    alpha: float = 0.05,
) -> str:
    """Fingertips "Recent Trend" text for the last `points` periods.

    Only proportions are tested (as Fingertips does with the chi-squared test for
    trend); other value types, fewer than `points` periods or any suppressed point
    give "Cannot be calculated".
    """
    if value_type != "proportion" or len(numerators) < points:
        return "Cannot be calculated"
    stat, p = trend_test(numerators[-points:], denominators[-points:])
    if math.isnan(p):
        return "Cannot be calculated"
    if p >= alpha:
        return "No significant change"
    direction = "Increasing" if stat > 0 else "Decreasing"
    if polarity == "no_judgement":
        return direction
    good = (stat > 0) == (polarity == "higher_is_better")
    return f"{direction} and getting {'better' if good else 'worse'}"
