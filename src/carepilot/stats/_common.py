"""Shared helpers for the statistics package: confidence levels, z values, arrays.

Pure NumPy/SciPy; imports nothing from web, database or CLI code and opens no files.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from carepilot.errors import DefinitionError, InputDataError
from carepilot.stats import _scipy

FloatArray = npt.NDArray[np.float64]
"""A NumPy array of float64, the type every vectorised function returns."""

PHE_CONFIDENCE_LEVELS: tuple[float, float] = (0.95, 0.998)
"""PHE's standard pair of confidence levels (the "2 SD" and "3 SD" intervals)."""


def as_float_array(values: npt.ArrayLike, name: str) -> FloatArray:
    """Convert array-like input to float64, naming the argument if it is not numeric."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputDataError(
            f"`{name}` must be numeric (numbers or missing values); it could not be "
            "converted to floating point"
        ) from exc


def normalise_confidence(confidence: float) -> float:
    """Return a confidence level on the 0-1 scale, accepting PHE's 95 / 99.8 style.

    PHE methods accept levels in [0.9, 1] or [90, 100]; anything else is an error.
    """
    level = float(confidence)
    if not (0.9 <= level <= 1.0 or 90.0 <= level <= 100.0):
        raise DefinitionError(
            f"confidence level {confidence!r} is not allowed; use a level between "
            "0.9 and 1 (e.g. 0.95, 0.998) or between 90 and 100 (e.g. 95, 99.8)"
        )
    return level / 100.0 if level >= 90.0 else level


def normalise_confidence_levels(
    confidence: float | Sequence[float],
) -> tuple[float, ...]:
    """Normalise one level or a sequence of levels (each as in `normalise_confidence`)."""
    if isinstance(confidence, int | float):
        return (normalise_confidence(confidence),)
    levels = tuple(normalise_confidence(c) for c in confidence)
    if not levels:
        raise DefinitionError("at least one confidence level is required, e.g. 0.95")
    return levels


def z_value(confidence: float) -> float:
    """Two-sided standard-normal critical value, z = Φ⁻¹(1 − α/2).

    Uses the exact quantile (1.959963985 for 95 %, 3.090232306 for 99.8 %),
    not the rounded 1.96 / 3.09, as PHE does.
    """
    level = normalise_confidence(confidence)
    return float(_scipy.norm_ppf(level + (1.0 - level) / 2.0))


def ci_suffix(confidence: float) -> str:
    """PHE column suffix for a confidence level: 0.95 → ``95_0cl``, 0.998 → ``99_8cl``."""
    level = normalise_confidence(confidence)
    return f"{level * 100:.1f}".replace(".", "_") + "cl"


def check_non_negative(values: FloatArray, name: str) -> None:
    """Raise `InputDataError` naming the first position where `values` is negative."""
    bad = np.flatnonzero(values < 0)
    if bad.size:
        raise InputDataError(
            f"`{name}` must be zero or more; position {int(bad[0])} (0-based) is "
            f"negative ({bad.size} negative value(s) in total)"
        )


def check_not_greater(
    numerator: FloatArray, denominator: FloatArray, num_name: str, den_name: str
) -> None:
    """Raise `InputDataError` if a numerator exceeds its denominator (proportions)."""
    bad = np.flatnonzero(numerator > denominator)
    if bad.size:
        raise InputDataError(
            f"`{num_name}` is greater than `{den_name}` at position {int(bad[0])} "
            f"(0-based; {bad.size} such value(s)); a proportion's numerator must "
            "not exceed its denominator"
        )


def broadcast(*arrays: FloatArray) -> list[FloatArray]:
    """Broadcast arrays to a common shape, returning float64 copies."""
    shaped: tuple[Any, ...] = np.broadcast_arrays(*arrays)
    return [np.array(a, dtype=np.float64) for a in shaped]


def format_number(value: float) -> str:
    """Format a multiplier for labels: 100000 → ``100000``, 0.5 → ``0.5``."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def format_levels(levels: Sequence[float]) -> str:
    """Format confidence levels for a label: (0.95, 0.998) → ``95%, 99.8%``."""
    return ", ".join(f"{level * 100:g}%" for level in levels)
