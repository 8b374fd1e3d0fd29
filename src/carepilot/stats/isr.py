"""Indirectly standardised ratios and rates (ISR / SMR), PHE method.

Expected events E = Σ Rᵢnᵢ from reference age-specific rates Rᵢ; the ratio O/E
gets the Poisson limits of O (exact below 10, Byar's from 10) divided by E, with
E treated as fixed (Breslow & Day 1987). Vectorised over ``(..., n_bands)``;
`calculate_isr` is the DataFrame convenience. Pure: no file, database or web access.
"""

# pyright: reportMissingTypeStubs=false

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from carepilot.errors import InputDataError
from carepilot.stats import _frames
from carepilot.stats._common import (
    PHE_CONFIDENCE_LEVELS,
    FloatArray,
    as_float_array,
    check_non_negative,
    ci_suffix,
    format_levels,
    format_number,
    normalise_confidence_levels,
)
from carepilot.stats.rates import byars_interval, poisson_method


@dataclass(frozen=True)
class ISRResult:
    """Observed and expected events with the scaled ratio and its limits.

    `reference_rate` is Σ reference events / Σ reference population × multiplier
    for an ISRate, and NaN for an ISRatio. Where E = 0 the value and limits are NaN.
    """

    observed: FloatArray
    expected: FloatArray
    value: FloatArray
    lower: FloatArray
    upper: FloatArray
    reference_rate: FloatArray


def expected_events(
    population: npt.ArrayLike,
    reference_count: npt.ArrayLike,
    reference_population: npt.ArrayLike,
) -> FloatArray:
    """E = Σᵢ (Xᵢ/Nᵢ)·nᵢ over the last axis; missing values count as 0.

    Example:
        >>> float(expected_events([100, 200], [10, 30], [1000, 1000]))
        7.0
    """
    n = np.nan_to_num(as_float_array(population, "population"))
    xr = np.nan_to_num(as_float_array(reference_count, "reference_count"))
    nr = as_float_array(reference_population, "reference_population")
    check_non_negative(n, "population")
    check_non_negative(xr, "reference_count")
    bad = ~(nr > 0) & (xr > 0)
    if bad.any():
        raise InputDataError(
            "a reference age band has events but no reference population; every "
            "reference band with events needs a population > 0"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        ref_rates = np.where(nr > 0, xr / nr, 0.0)
    return np.asarray((ref_rates * n).sum(axis=-1), dtype=np.float64)


def _ratio(
    observed: FloatArray,
    expected: FloatArray,
    scale: FloatArray | float,
    confidence: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    lower, upper = byars_interval(observed, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(expected > 0, scale / expected, np.nan)
    return observed * factor, lower * factor, upper * factor


def _observed(
    count: npt.ArrayLike | None, observed: npt.ArrayLike | None, shape: tuple[int, ...]
) -> FloatArray:
    if observed is not None:
        o = as_float_array(observed, "observed")
    elif count is not None:
        o = np.nan_to_num(as_float_array(count, "count")).sum(axis=-1)
    else:
        raise InputDataError("give either band `count`s or total `observed` events")
    check_non_negative(o, "observed")
    return np.broadcast_to(o, shape).astype(np.float64)


def indirectly_standardised_ratio(
    count: npt.ArrayLike | None,
    population: npt.ArrayLike,
    reference_count: npt.ArrayLike,
    reference_population: npt.ArrayLike,
    *,
    observed: npt.ArrayLike | None = None,
    refvalue: float = 1.0,
    confidence: float = 0.95,
) -> ISRResult:
    """Indirectly standardised ratio O/E × refvalue (SMR when refvalue = 100).

    Formulas::

        E = Σ (Xᵢ/Nᵢ)·nᵢ,   O = Σ xᵢ (or supplied totals)
        ISR = O/E × refvalue,  limits = (O_L, O_U)/E × refvalue

    with (O_L, O_U) exact Poisson limits for O < 10 and Byar's for O ≥ 10.
    Missing band counts/populations count as 0; E = 0 gives NaN value and limits.

    Args:
        count: Local events per band, ``(..., n_bands)``; or None with `observed`.
        population: Local population per band.
        reference_count: Reference events per band (``n_bands`` or same shape).
        reference_population: Reference population per band.
        observed: Total observed events per area, instead of `count`.
        refvalue: 1 for a ratio, 100 for an SMR-style index.
        confidence: Confidence level.

    Returns:
        An `ISRResult`.

    Example:
        >>> r = indirectly_standardised_ratio([10, 30], [100, 200], [10, 30],
        ...                                   [1000, 1000], refvalue=100)
        >>> round(float(r.value), 2), float(r.expected)
        (571.43, 7.0)
    """
    e = expected_events(population, reference_count, reference_population)
    o = _observed(count, observed, e.shape)
    value, lower, upper = _ratio(o, e, refvalue, confidence)
    return ISRResult(o, e, value, lower, upper, np.full(e.shape, np.nan))


def indirectly_standardised_rate(
    count: npt.ArrayLike | None,
    population: npt.ArrayLike,
    reference_count: npt.ArrayLike,
    reference_population: npt.ArrayLike,
    *,
    observed: npt.ArrayLike | None = None,
    multiplier: float = 100_000,
    confidence: float = 0.95,
) -> ISRResult:
    """Indirectly standardised rate: (O/E) × crude reference rate × multiplier.

    R_ref = Σ Xᵢ / Σ Nᵢ over the reference bands; limits are the Poisson limits of
    O divided by E, times R_ref × multiplier. See `indirectly_standardised_ratio`.

    Example:
        >>> r = indirectly_standardised_rate([10, 30], [100, 200], [10, 30],
        ...                                  [1000, 1000], multiplier=1000)
        >>> round(float(r.value), 3), float(r.reference_rate)
        (114.286, 20.0)
    """
    e = expected_events(population, reference_count, reference_population)
    o = _observed(count, observed, e.shape)
    xr = np.nan_to_num(as_float_array(reference_count, "reference_count"))
    nr = np.nan_to_num(as_float_array(reference_population, "reference_population"))
    ref_rate = np.broadcast_to(xr.sum(axis=-1) / nr.sum(axis=-1) * multiplier, e.shape)
    value, lower, upper = _ratio(o, e, ref_rate, confidence)
    return ISRResult(o, e, value, lower, upper, np.asarray(ref_rate, dtype=np.float64))


def calculate_isr(
    data: pd.DataFrame,
    x: str,
    n: str,
    x_ref: str | Sequence[float],
    n_ref: str | Sequence[float],
    *,
    kind: str = "ratio",
    group_by: str | Sequence[str] | None = None,
    observed_totals: pd.DataFrame | None = None,
    confidence: float | Sequence[float] = PHE_CONFIDENCE_LEVELS,
    refvalue: float = 1.0,
    multiplier: float = 100_000,
) -> pd.DataFrame:
    """ISRatio (``kind="ratio"``) or ISRate (``kind="rate"``) per group.

    Mirrors ``calculate_ISRatio`` / ``calculate_ISRate``. `x_ref`/`n_ref` are
    column names (reference values on each row) or sequences of per-band values
    in each group's row order. `observed_totals`, if given, has the group
    columns plus a column named `x` with total events per group.

    Example:
        >>> df = pd.DataFrame({"x": [10, 30], "n": [100, 200]})
        >>> out = calculate_isr(df, "x", "n", [10, 30], [1000, 1000], refvalue=100)
        >>> round(float(out["value"][0]), 2)
        571.43
    """
    if kind not in ("ratio", "rate"):
        raise InputDataError(f"kind must be 'ratio' or 'rate', not {kind!r}")
    levels = normalise_confidence_levels(confidence)
    groups = _frames.as_list(group_by)
    _frames.require_columns(
        data, [n, *groups] + ([] if observed_totals is not None else [x])
    )
    items = _frames.split_groups(data, groups)
    rows: list[dict[str, object]] = []
    for key, frame in items:
        row: dict[str, object] = dict(zip(groups, key, strict=True))
        xr = _frames.numeric_column(frame, x_ref) if isinstance(x_ref, str) else x_ref
        nr = _frames.numeric_column(frame, n_ref) if isinstance(n_ref, str) else n_ref
        count = (
            None if observed_totals is not None else _frames.numeric_column(frame, x)
        )
        obs = (
            None
            if observed_totals is None
            else _lookup(observed_totals, groups, key, x)
        )
        pops = _frames.numeric_column(frame, n)
        results = [
            indirectly_standardised_ratio(count, pops, xr, nr, observed=obs,
                                          refvalue=refvalue, confidence=level)
            if kind == "ratio"
            else indirectly_standardised_rate(count, pops, xr, nr, observed=obs,
                                              multiplier=multiplier, confidence=level)
            for level in levels
        ]  # fmt: skip
        first = results[0]
        row["observed"] = float(first.observed)
        row["expected"] = float(first.expected)
        if kind == "rate":
            row["ref_rate"] = float(first.reference_rate)
        row["value"] = float(first.value)
        for level, res in zip(levels, results, strict=True):
            row[f"lower{ci_suffix(level)}"] = float(res.lower)
            row[f"upper{ci_suffix(level)}"] = float(res.upper)
        row["confidence"] = format_levels(levels)
        row["statistic"] = (
            f"indirectly standardised ratio x {format_number(refvalue)}"
            if kind == "ratio"
            else f"indirectly standardised rate per {format_number(multiplier)}"
        )
        row["method"] = str(poisson_method(first.observed))
        rows.append(row)
    return pd.DataFrame(rows)


def _lookup(
    totals: pd.DataFrame, groups: list[str], key: tuple[object, ...], column: str
) -> float:
    _frames.require_columns(totals, [*groups, column])
    matches = [
        value
        for tkey, frame in _frames.split_groups(totals, groups)
        if tkey == key
        for value in _frames.numeric_column(frame, column).tolist()
    ]
    if len(matches) != 1:
        raise InputDataError(
            f"observed totals: expected exactly one row for group {key!r}, found "
            f"{len(matches)}"
        )
    return float(matches[0])
