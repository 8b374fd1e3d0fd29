"""QOF payment arithmetic (pure; money and points as `Decimal`).

Formulas (see /work/shared/reference/qof_and_disclosure.md and the sources it
cites: Primary Care IT "QOF Income including the impact of prevalence",
Lincolnshire LMC "QOF Point value and Prevalence", NHS England QOF guidance):

* achievement (%) = A / (B - C) x 100 (A numerator, B denominator, C exceptions);
* points = 0 at or below the lower threshold E, the maximum G at or above the
  upper threshold F, and G x (achievement - E) / (F - E) in between;
* CPI (Contractor Population Index) = practice list size / national average
  practice list size;
* APDF (Adjusted Practice Disease Factor) ~ practice register prevalence /
  national prevalence (the simple ratio used by LMC and vendor guides; the SFE's
  exact normalisation shares a fixed national pot);
* payment = points x pounds per point x CPI [x APDF for prevalence-weighted
  indicators], rounded to the penny (half up).

Rounding of intermediate values is not applied: the SFE rounding rules were not
verified, so points are kept exact and only money is rounded at the end.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

from carepilot.errors import ConfigError

PENNY = Decimal("0.01")


def _d(x: float | int | str | Decimal) -> Decimal:
    return x if isinstance(x, Decimal) else Decimal(str(x))


def achievement(numerator: float, denominator: float) -> Decimal | None:
    """A / (B - C) x 100, where `denominator` is already B - C; None when 0."""
    if denominator <= 0:
        return None
    return _d(numerator) / _d(denominator) * 100


def points(
    achieved: Decimal | float | None,
    max_points: Decimal | float | int,
    lower: Decimal | float | int,
    upper: Decimal | float | int,
) -> Decimal:
    """Points for an achievement (%) with linear scaling between the thresholds.

    Raises:
        ConfigError: thresholds are not 0 <= lower < upper <= 100.
    """
    g, e, f = _d(max_points), _d(lower), _d(upper)
    if not (0 <= e < f <= 100):
        raise ConfigError(
            f"QOF thresholds must satisfy 0 <= lower < upper <= 100; got {e}-{f}"
        )
    if achieved is None:
        return Decimal(0)
    a = _d(achieved)
    if a <= e:
        return Decimal(0)
    if a >= f:
        return g
    return g * (a - e) / (f - e)


def gap_points(
    gap: Decimal | float | None,
    max_points: Decimal | float | int,
    full_at: Decimal | float | int,
    zero_at: Decimal | float | int,
) -> Decimal:
    """Points for an inequality gap (percentage points, smaller is better).

    Full points when the gap is at or below `full_at`, none at or above
    `zero_at`, linear in between (the mirror image of `points`). A negative gap
    (the deprived group doing better) earns full points.
    """
    g, lo, hi = _d(max_points), _d(full_at), _d(zero_at)
    if not lo < hi:
        raise ConfigError(f"gap thresholds need full_at < zero_at; got {lo} and {hi}")
    if gap is None:
        return Decimal(0)
    x = _d(gap)
    if x <= lo:
        return g
    if x >= hi:
        return Decimal(0)
    return g * (hi - x) / (hi - lo)


def contractor_population_index(
    list_size: float | int, national_average: float | int
) -> Decimal:
    """CPI = practice list size / national average practice list size."""
    if national_average <= 0:
        raise ConfigError("the national average list size must be positive")
    return _d(list_size) / _d(national_average)


def apdf(
    practice_prevalence: Decimal | float | None,
    national_prevalence: Decimal | float | None,
) -> Decimal:
    """Prevalence adjustment: practice / national prevalence (1 if unknown)."""
    if practice_prevalence is None or not national_prevalence:
        return Decimal(1)
    return _d(practice_prevalence) / _d(national_prevalence)


def payment(
    pts: Decimal,
    pounds_per_point: Decimal | float | str,
    cpi: Decimal | float = Decimal(1),
    prevalence_factor: Decimal | float = Decimal(1),
) -> Decimal:
    """points x pounds per point x CPI x APDF, rounded to the penny (half up)."""
    value = _d(pts) * _d(pounds_per_point) * _d(cpi) * _d(prevalence_factor)
    return value.quantize(PENNY, rounding=ROUND_HALF_UP)


def patients_needed(numerator: float, denominator: float, upper: float) -> int:
    """More patients who must achieve to reach the upper threshold (>= 0).

    Smallest whole k with (A + k) / (B - C) >= upper / 100, i.e.
    k = ceil(upper x (B - C) / 100 - A). Exact with Decimal so that e.g. 85 % of
    1,050 = 892.5 needs 893.
    """
    if denominator <= 0:
        return 0
    target = _d(upper) * _d(denominator) / 100
    need = math.ceil(target - _d(numerator))
    return max(0, int(need))
