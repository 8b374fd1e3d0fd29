"""Directly standardised rates (DSR) with Dobson confidence limits (PHE method).

Vectorised over any leading axes: pass counts and populations shaped
``(..., n_bands)`` (e.g. areas × age bands) and a standard population of
``n_bands`` weights. `calculate_dsr` is the DataFrame convenience for analysts.
Pure: no file, database or web access.
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
from carepilot.stats.rates import byars_lower, byars_upper
from carepilot.stats.standard_populations import ESP2013, StandardPopulation

MIN_EVENTS = 10
"""PHE does not publish a DSR based on fewer than 10 events."""


@dataclass(frozen=True)
class DSRResult:
    """DSR per area: value and limits (× multiplier), totals and variance.

    `value`, `lower` and `upper` are NaN where the total count is below the
    suppression threshold (PHE: 10) or the total population is 0.
    `variance` is Var(DSR) on the unmultiplied scale (before suppression).
    """

    value: FloatArray
    lower: FloatArray
    upper: FloatArray
    total_count: FloatArray
    total_population: FloatArray
    variance: FloatArray


def _weights(standard: StandardPopulation | npt.ArrayLike) -> FloatArray:
    if isinstance(standard, StandardPopulation):
        return standard.array
    weights = as_float_array(standard, "standard")
    if np.isnan(weights).any() or (weights < 0).any():
        raise InputDataError(
            "the standard population has missing or negative weights; every age "
            "band needs a weight ≥ 0"
        )
    return weights


def _band_rates(count: FloatArray, population: FloatArray) -> FloatArray:
    """x/n per band; a band with no population contributes 0 if it has no events."""
    population = np.where(np.isnan(population), 0.0, population)  # missing = empty band
    bad = (population <= 0) & (count > 0)
    if bad.any():
        raise InputDataError(
            "an age band has events but a population of 0; check the population "
            "denominators (position " + str(int(np.flatnonzero(bad.ravel())[0])) + ")"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(population > 0, count / population, 0.0)


def _dobson(
    dsr: FloatArray,
    variance: FloatArray,
    observed: FloatArray,
    confidence: float,
) -> tuple[FloatArray, FloatArray]:
    """Dobson et al. (1991) limits: DSR + √(Var/O)·(O_limit − O), Byar's O limits."""
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.sqrt(variance / observed)
    lower = dsr + scale * (byars_lower(observed, confidence) - observed)
    upper = dsr + scale * (byars_upper(observed, confidence) - observed)
    return lower, upper


def directly_standardised_rate(
    count: npt.ArrayLike,
    population: npt.ArrayLike,
    standard: StandardPopulation | npt.ArrayLike = ESP2013,
    *,
    multiplier: float = 100_000,
    confidence: float = 0.95,
    min_count: int = MIN_EVENTS,
) -> DSRResult:
    """Directly standardised rate with Dobson limits, vectorised over areas.

    Formulas (Dobson et al. 1991; Fingertips technical guidance), for bands i
    with events xᵢ, population nᵢ and standard weights wᵢ::

        DSR = Σ wᵢxᵢ/nᵢ / Σ wᵢ
        Var = Σ wᵢ²xᵢ/nᵢ² / (Σ wᵢ)²,    O = Σ xᵢ
        limits = DSR + √(Var/O) · (O_L − O, O_U − O)

    with (O_L, O_U) Byar's limits of O; everything × multiplier.

    Edge cases: a missing count or population in a band counts as 0; a band with 0 population
    and 0 events contributes 0; events with 0 population raise
    `InputDataError`. Areas with O < `min_count` (PHE: 10) get NaN value and
    limits — PHE does not publish such DSRs.

    Args:
        count: Events, shape ``(..., n_bands)``.
        population: Populations, same shape.
        standard: Standard population (default ESP2013, 19 bands) or weights.
        multiplier: e.g. 100,000.
        confidence: Confidence level.
        min_count: Suppression threshold for the total count.

    Returns:
        A `DSRResult` with arrays shaped like the leading axes.

    Example:
        >>> pop = ESP2013.array / 10
        >>> r = directly_standardised_rate(pop * 0.01, pop)   # 1% in every band
        >>> round(float(r.value), 6)
        1000.0
    """
    x = as_float_array(count, "count")
    n = as_float_array(population, "population")
    w = _weights(standard)
    if x.shape[-1:] != w.shape or n.shape[-1:] != w.shape:
        raise InputDataError(
            f"counts have {x.shape[-1] if x.ndim else 0} age bands and populations "
            f"{n.shape[-1] if n.ndim else 0}, but the standard population has "
            f"{w.shape[0]}; supply one row per standard age band, in order"
        )
    x = np.where(np.isnan(x), 0.0, x)
    check_non_negative(x, "count")
    check_non_negative(n, "population")
    rates = _band_rates(x, n)
    total_w = w.sum()
    dsr = (rates * w).sum(axis=-1) / total_w
    with np.errstate(divide="ignore", invalid="ignore"):
        var_terms = np.where(n > 0, w * w * x / (n * n), 0.0)
    variance = var_terms.sum(axis=-1) / (total_w * total_w)
    observed = x.sum(axis=-1)
    lower, upper = _dobson(dsr, variance, observed, confidence)
    return _finish(
        dsr, lower, upper, observed, n.sum(axis=-1), variance, multiplier, min_count
    )


def directly_standardised_rate_nonindependent(
    persons: npt.ArrayLike,
    frequency: npt.ArrayLike,
    population: npt.ArrayLike,
    standard: StandardPopulation | npt.ArrayLike = ESP2013,
    *,
    multiplier: float = 100_000,
    confidence: float = 0.95,
    min_count: int = MIN_EVENTS,
) -> DSRResult:
    """DSR for non-independent events (e.g. repeat admissions of one person).

    PHE method (PHEindicatormethods 2.1.0): people in each band are split by how
    many events f they had. The DSR uses all events (Σ_f f·persons_f) as usual,
    but the variance is Σ_f f²·Var_f, where Var_f is the Dobson variance of the
    counts of people with exactly f events; limits then follow Dobson's formula
    with O = total events. This widens the interval for clustered events.

    Args:
        persons: People with exactly each frequency, shape ``(..., n_bands, n_freq)``
            (missing = 0).
        frequency: Event frequencies f, shape ``(n_freq,)``, e.g. ``[1, 2, 3]``.
        population: Populations, shape ``(..., n_bands)``.
        standard: Standard population or weights (``n_bands``).
        multiplier: e.g. 100,000.
        confidence: Confidence level.
        min_count: Suppression threshold for total events.

    Returns:
        A `DSRResult`.

    Example:
        >>> pop = ESP2013.array / 10
        >>> persons = np.stack([pop * 0.01, pop * 0.0], axis=-1)
        >>> r = directly_standardised_rate_nonindependent(persons, [1, 2], pop)
        >>> round(float(r.value), 6)
        1000.0
    """
    p = as_float_array(persons, "persons")
    f = as_float_array(frequency, "frequency")
    n = as_float_array(population, "population")
    w = _weights(standard)
    if p.ndim < 2 or p.shape[-1] != f.shape[0] or p.shape[-2] != w.shape[0]:
        raise InputDataError(
            "persons must be shaped (..., age bands, frequencies) matching the "
            "standard population and the frequency list"
        )
    p = np.where(np.isnan(p), 0.0, p)
    check_non_negative(p, "persons")
    check_non_negative(n, "population")
    events = (p * f).sum(axis=-1)
    rates = _band_rates(events, n)
    total_w = w.sum()
    dsr = (rates * w).sum(axis=-1) / total_w
    n_b = n[..., np.newaxis]
    w_b = w[:, np.newaxis]
    with np.errstate(divide="ignore", invalid="ignore"):
        var_f = np.where(n_b > 0, w_b * w_b * p / (n_b * n_b), 0.0).sum(axis=-2)
    variance = (var_f * f * f).sum(axis=-1) / (total_w * total_w)
    observed = events.sum(axis=-1)
    lower, upper = _dobson(dsr, variance, observed, confidence)
    return _finish(
        dsr, lower, upper, observed, n.sum(axis=-1), variance, multiplier, min_count
    )


def _finish(
    dsr: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    observed: FloatArray,
    total_pop: FloatArray,
    variance: FloatArray,
    multiplier: float,
    min_count: int,
) -> DSRResult:
    keep = (observed >= min_count) & (observed > 0)
    nan = np.nan
    return DSRResult(
        value=np.where(keep, dsr * multiplier, nan),
        lower=np.where(keep, lower * multiplier, nan),
        upper=np.where(keep, upper * multiplier, nan),
        total_count=np.asarray(observed, dtype=np.float64),
        total_population=np.asarray(total_pop, dtype=np.float64),
        variance=np.asarray(variance, dtype=np.float64),
    )


def calculate_dsr(
    data: pd.DataFrame,
    x: str,
    n: str,
    *,
    stdpop: str | StandardPopulation | Sequence[float] = ESP2013,
    group_by: str | Sequence[str] | None = None,
    confidence: float | Sequence[float] = PHE_CONFIDENCE_LEVELS,
    multiplier: float = 100_000,
    independent_events: bool = True,
    eventfreq: str | None = None,
    ageband: str | None = None,
) -> pd.DataFrame:
    """DSRs per group from a long table of age-band rows (``calculate_dsr``).

    Each group must have one row per standard age band, in the standard's order
    (or give `stdpop` as a column holding each row's weight). For
    non-independent events (``independent_events=False``) `x` holds the number of
    people with exactly `eventfreq` events, with one row per (group, `ageband`,
    frequency); see `directly_standardised_rate_nonindependent`.

    Output: groups, `total_count`, `total_pop`, `value`, limits per level,
    `confidence`, `statistic` (``dsr per 100000`` or ``dsr NA for total count <
    10``), `method`.

    Example:
        >>> df = pd.DataFrame({"x": ESP2013.array / 100, "n": ESP2013.array})
        >>> round(float(calculate_dsr(df, "x", "n")["value"][0]), 6)
        1000.0
    """
    levels = normalise_confidence_levels(confidence)
    groups = _frames.as_list(group_by)
    _frames.require_columns(data, [x, n, *groups])
    rows: list[dict[str, object]] = []
    for key, frame in _frames.split_groups(data, groups):
        row: dict[str, object] = dict(zip(groups, key, strict=True))
        results = [
            _dsr_for_group(frame, x, n, stdpop, level, multiplier, independent_events,
                           eventfreq, ageband)
            for level in levels
        ]  # fmt: skip
        first = results[0]
        row["total_count"] = float(first.total_count)
        row["total_pop"] = float(first.total_population)
        row["value"] = float(first.value)
        for level, res in zip(levels, results, strict=True):
            row[f"lower{ci_suffix(level)}"] = float(res.lower)
            row[f"upper{ci_suffix(level)}"] = float(res.upper)
        row["confidence"] = format_levels(levels)
        row["statistic"] = (
            f"dsr per {format_number(multiplier)}"
            if np.isfinite(first.value)
            else f"dsr NA for total count < {MIN_EVENTS}"
        )
        row["method"] = (
            "Dobson"
            if independent_events
            else "Dobson, with confidence adjusted for non-independent events"
        )
        rows.append(row)
    return pd.DataFrame(rows)


def _dsr_for_group(
    frame: pd.DataFrame,
    x: str,
    n: str,
    stdpop: str | StandardPopulation | Sequence[float],
    confidence: float,
    multiplier: float,
    independent_events: bool,
    eventfreq: str | None,
    ageband: str | None,
) -> DSRResult:
    if independent_events:
        counts = _frames.numeric_column(frame, x)
        pops = _frames.numeric_column(frame, n)
        weights = (
            _frames.numeric_column(frame, stdpop) if isinstance(stdpop, str) else stdpop
        )
        return directly_standardised_rate(
            counts, pops, weights, multiplier=multiplier, confidence=confidence
        )
    if eventfreq is None or ageband is None:
        raise InputDataError(
            "non-independent events need `eventfreq` (events per person) and "
            "`ageband` columns"
        )
    _frames.require_columns(frame, [eventfreq, ageband])
    persons = _frames.numeric_column(frame, x)
    freq = _frames.numeric_column(frame, eventfreq)
    band_labels = _frames.column_values(frame, ageband)
    bands = list(dict.fromkeys(band_labels))
    freqs = sorted({float(f) for f in freq.tolist() if np.isfinite(f)})
    table = np.zeros((len(bands), len(freqs)))
    pops = np.full(len(bands), np.nan)
    weights_in = (
        _frames.numeric_column(frame, stdpop) if isinstance(stdpop, str) else None
    )
    band_weights = np.full(len(bands), np.nan)
    all_pops = _frames.numeric_column(frame, n)
    for row, label in enumerate(band_labels):
        b = bands.index(label)
        if np.isfinite(freq[row]) and np.isfinite(persons[row]):
            table[b, freqs.index(float(freq[row]))] += persons[row]
        pops[b] = all_pops[row]
        if weights_in is not None:
            band_weights[b] = weights_in[row]
    weights = band_weights if weights_in is not None else stdpop
    return directly_standardised_rate_nonindependent(
        table,
        np.asarray(freqs, dtype=np.float64),
        pops,
        weights,
        multiplier=multiplier,
        confidence=confidence,
    )
