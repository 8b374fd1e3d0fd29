"""Significance of a value against a benchmark, the Fingertips way.

Fingertips compares an area's confidence interval with the benchmark VALUE: if the
interval lies wholly above it the area is "higher", wholly below "lower", and if it
overlaps (or touches) the benchmark, "similar". Polarity turns higher/lower into
better/worse. Pure NumPy; no file, database or web access.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import numpy.typing as npt

from carepilot.errors import DefinitionError
from carepilot.stats._common import as_float_array, broadcast


class Polarity(StrEnum):
    """Which direction is good for an indicator (Fingertips "polarity")."""

    HIGHER_IS_BETTER = "higher_is_better"
    LOWER_IS_BETTER = "lower_is_better"
    NO_JUDGEMENT = "no_judgement"


BETTER = "better"
SIMILAR = "similar"
WORSE = "worse"
HIGHER = "higher"
LOWER = "lower"
NOT_COMPARED = "not compared"


def compare_to_benchmark(
    value: npt.ArrayLike,
    lower: npt.ArrayLike,
    upper: npt.ArrayLike,
    benchmark: npt.ArrayLike,
    polarity: Polarity | str,
) -> npt.NDArray[np.str_]:
    """Classify each value against a benchmark using its confidence interval.

    Rule (Fingertips technical guidance): with limits (L, U) and benchmark B,

    * L > B → "higher"; U < B → "lower"; otherwise (interval contains or touches
      B) → "similar";
    * for `Polarity.HIGHER_IS_BETTER` higher → "better", lower → "worse";
      for `LOWER_IS_BETTER` the reverse; `NO_JUDGEMENT` keeps higher/lower.

    Any missing value, limit or benchmark gives "not compared" (e.g. suppressed
    DSRs with fewer than 10 events). Use the 95 % limits for the usual
    two-colour rating, or the 99.8 % limits for the stricter one.

    Args:
        value: Indicator values (only used to detect missing values).
        lower: Lower confidence limits.
        upper: Upper confidence limits.
        benchmark: Benchmark value(s), e.g. England; broadcast against values.
        polarity: A `Polarity` or its string value.

    Returns:
        Array of labels with the broadcast shape.

    Example:
        >>> compare_to_benchmark([12, 9, 10], [11, 8, 9], [13, 9.5, 11], 10,
        ...                      "lower_is_better").tolist()
        ['worse', 'better', 'similar']
    """
    try:
        pol = Polarity(polarity)
    except ValueError as exc:
        allowed = ", ".join(p.value for p in Polarity)
        raise DefinitionError(
            f"polarity {polarity!r} is not recognised; use one of {allowed}"
        ) from exc
    v, lo, hi, b = broadcast(
        as_float_array(value, "value"),
        as_float_array(lower, "lower"),
        as_float_array(upper, "upper"),
        as_float_array(benchmark, "benchmark"),
    )
    missing = np.isnan(v) | np.isnan(lo) | np.isnan(hi) | np.isnan(b)
    above = lo > b
    below = hi < b
    if pol is Polarity.HIGHER_IS_BETTER:
        up_label, down_label = BETTER, WORSE
    elif pol is Polarity.LOWER_IS_BETTER:
        up_label, down_label = WORSE, BETTER
    else:
        up_label, down_label = HIGHER, LOWER
    labels = np.where(above, up_label, np.where(below, down_label, SIMILAR))
    return np.where(missing, NOT_COMPARED, labels).astype(np.str_)
