"""Vectorised redaction and rounding of count arrays.

Pure module: NumPy only. Missing values are NaN and stay NaN.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def round_to_base(counts: FloatArray, base: int) -> FloatArray:
    """Round counts to the nearest multiple of `base`, halves rounded up.

    ``r(x) = base * floor(x / base + 1/2)``. Integer counts never fall on a half
    when `base` is odd (ehrQL uses 5); for even bases halves go up so the rule is
    deterministic and idempotent (``r(r(x)) == r(x)``).

    Args:
        counts: Counts, NaN for missing.
        base: Rounding base (>= 1).

    Returns:
        A new array of rounded counts.

    Examples:
        >>> round_to_base(np.array([8.0, 12.0, 13.0, np.nan]), 5).tolist()
        [10.0, 10.0, 15.0, nan]
    """
    return base * np.floor(counts / base + 0.5)


def is_small(
    counts: FloatArray, threshold: int, *, inclusive: bool, zero: bool
) -> BoolArray:
    """Flag counts that a small-number rule hides.

    Args:
        counts: Counts, NaN for missing (never flagged: already hidden).
        threshold: The threshold.
        inclusive: ``True`` for ``count <= threshold`` (OpenSAFELY), ``False`` for
            ``count < threshold`` (classic cell suppression).
        zero: Whether a count of exactly 0 is small too.

    Returns:
        Boolean array, True where the count must be hidden.

    Examples:
        >>> is_small(np.array([0.0, 3.0, 7.0, 8.0]), 7, inclusive=True, zero=False).tolist()
        [False, True, True, False]
    """
    with np.errstate(invalid="ignore"):
        small = counts <= threshold if inclusive else counts < threshold
        if not zero:
            small &= counts != 0
    return small & ~np.isnan(counts)


def midpoint6(counts: FloatArray) -> FloatArray:
    """Midpoint-6 rounding: ``r(x) = 6 * ceil(x / 6) - 3 * [x != 0]``.

    0 stays 0, 1..6 → 3, 7..12 → 9, ... so a published non-zero value v means the
    true value lies in v-2 .. v+3 (OpenSAFELY "Applying statistical disclosure
    control", midpoint-6 rounding). Offered for rate tables where zero must stay
    zero; not used by the named policies.

    Args:
        counts: Non-negative counts, NaN for missing.

    Returns:
        A new array of midpoint-6 rounded counts.

    Examples:
        >>> midpoint6(np.array([0.0, 1.0, 6.0, 7.0, 13.0])).tolist()
        [0.0, 3.0, 3.0, 9.0, 15.0]
    """
    return 6 * np.ceil(counts / 6) - 3 * (counts != 0)
