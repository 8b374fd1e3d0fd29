"""Inequality measures: slope and relative index of inequality (SII/RII) and gaps.

SII/RII follow PHE's method (Low & Low 2004; Fingertips technical guidance; the
PHEindicatormethods ``phe_sii`` function): a population-weighted regression of
quantile values on the mid-point of each quantile's cumulative population rank,
with confidence limits by Monte-Carlo simulation. Simulations use a seeded
NumPy `Generator`, so results are reproducible. `phe_sii` is the DataFrame
convenience. Pure: no file, database or web access.
"""

# pyright: reportMissingTypeStubs=false

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from carepilot.errors import DefinitionError, InputDataError, InsufficientDataError
from carepilot.stats import _frames
from carepilot.stats._common import (
    FloatArray,
    as_float_array,
    ci_suffix,
    normalise_confidence_levels,
    z_value,
)

ValueType = Literal["normal", "rate", "proportion"]
_VALUE_TYPES: dict[object, ValueType] = {
    0: "normal", 1: "rate", 2: "proportion",
    "normal": "normal", "rate": "rate", "proportion": "proportion",
}  # fmt: skip

DEFAULT_SEED = 20_250_401
"""Seed used when no generator is given, so published limits are reproducible."""


@dataclass(frozen=True)
class SIIResult:
    """SII/RII for one area, with simulated limits keyed by confidence level."""

    sii: float
    rii: float
    intercept: float
    sii_lower: dict[float, float] = field(default_factory=dict[float, float])
    sii_upper: dict[float, float] = field(default_factory=dict[float, float])
    rii_lower: dict[float, float] = field(default_factory=dict[float, float])
    rii_upper: dict[float, float] = field(default_factory=dict[float, float])


def _value_type(value_type: int | str) -> ValueType:
    try:
        return _VALUE_TYPES[value_type]
    except KeyError as exc:
        raise DefinitionError(
            f"value_type {value_type!r} is not recognised; use 0/'normal', 1/'rate' "
            "or 2/'proportion'"
        ) from exc


def _link(values: FloatArray, kind: ValueType) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "rate":
            return np.log(values)
        if kind == "proportion":
            return np.log(values / (1.0 - values))
    return values


def _inverse_link(values: FloatArray, kind: ValueType) -> FloatArray:
    if kind == "rate":
        return np.exp(values)
    if kind == "proportion":
        return 1.0 / (1.0 + np.exp(-values))
    return values


def quantile_midpoints(population: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Population shares aₖ and mid-points xₖ = Σ_{j<k} aⱼ + aₖ/2 of each quantile.

    Example:
        >>> a, x = quantile_midpoints([1, 1, 2])
        >>> x.tolist()
        [0.125, 0.375, 0.75]
    """
    pop = as_float_array(population, "population")
    share = pop / pop.sum()
    return share, np.cumsum(share) - share / 2.0


def slope_index_of_inequality(
    value: npt.ArrayLike,
    population: npt.ArrayLike,
    *,
    se: npt.ArrayLike | None = None,
    lower_cl: npt.ArrayLike | None = None,
    upper_cl: npt.ArrayLike | None = None,
    value_type: int | str = "normal",
    transform: bool = False,
    multiplier: float = 1.0,
    confidence: float | Sequence[float] = 0.95,
    repetitions: int = 100_000,
    rng: np.random.Generator | int | None = None,
) -> SIIResult:
    """SII and RII across ordered quantiles of one area, with simulated limits.

    Quantiles are given in order 1..K (PHE: 1 = most deprived). With shares
    aₖ = Pₖ/ΣP and mid-points xₖ, fit y = β₀ + β₁x by least squares weighted by
    aₖ (Low & Low 2004), then::

        SII = β₁ × multiplier,   RII = (β₀ + β₁)/β₀,   intercept = β₀ × |multiplier|

    With ``transform=True`` (rates: log; proportions: logit) the line is fitted
    to g(y) and SII = [g⁻¹(β₀+β₁) − g⁻¹(β₀)] × multiplier,
    RII = g⁻¹(β₀+β₁)/g⁻¹(β₀), intercept = g⁻¹(β₀)·|multiplier|. A negative
    multiplier flips the SII's sign and reports 1/RII.

    Limits: each yₖ is drawn from N(g(yₖ), seₖ) on the working scale (se given
    on that scale, or (g(U) − g(L))/(2 × 1.959964) from 95 % limits),
    back-transformed unless ``transform``, the line refitted, `repetitions` times;
    the limits are the order statistics at positions round(R·α/2) and
    round(R·(1 − α/2)) (PHE). They are random: different seeds differ slightly.

    Args:
        value: Indicator value per quantile (proportions on the 0-1 scale).
        population: Population per quantile (> 0).
        se: Standard errors (working scale), or give `lower_cl` and `upper_cl`.
        lower_cl: Lower 95 % limits per quantile.
        upper_cl: Upper 95 % limits per quantile.
        value_type: 0/"normal", 1/"rate" or 2/"proportion".
        transform: Fit on the log/logit scale.
        multiplier: Scale for the SII (e.g. 100 for percentages, negative to
            orient "higher = worse").
        confidence: One level or several.
        repetitions: Simulation size (≥ 1000; PHE default 100,000).
        rng: NumPy Generator or seed; None uses `DEFAULT_SEED` (reproducible).

    Returns:
        An `SIIResult`.

    Raises:
        InsufficientDataError: fewer than 5 or more than 100 quantiles.
        InputDataError: populations ≤ 0, missing values, negative SEs,
            proportions outside (0, 1).

    Example:
        >>> r = slope_index_of_inequality([70, 72, 74, 76, 78], [1, 1, 1, 1, 1],
        ...                               se=[1, 1, 1, 1, 1], repetitions=2000)
        >>> round(r.sii, 6), round(r.rii, 4)
        (10.0, 1.1449)
    """
    kind = _value_type(value_type)
    y = as_float_array(value, "value")
    pop = as_float_array(population, "population")
    _check_inputs(y, pop, kind, repetitions)
    working = _link(y, kind)
    sd = _standard_errors(se, lower_cl, upper_cl, kind, y.shape)
    share, mid = quantile_midpoints(pop)
    sqrt_a = np.sqrt(share)
    design = np.column_stack([sqrt_a, mid * sqrt_a])
    hat = np.linalg.solve(design.T @ design, design.T)  # (2, K)
    fit_y = working if transform else _inverse_link(working, kind)
    b0, b1 = hat @ (sqrt_a * fit_y)
    sii, rii, intercept = _summarise(
        np.array([b0]), np.array([b1]), kind, transform, multiplier
    )
    result = SIIResult(float(sii[0]), float(rii[0]), float(intercept[0]))
    generator = (
        rng
        if isinstance(rng, np.random.Generator)
        else np.random.default_rng(DEFAULT_SEED if rng is None else rng)
    )
    draws = working + sd * generator.standard_normal((repetitions, y.size))
    if not transform:
        draws = _inverse_link(draws, kind)
    coefs = (draws * sqrt_a) @ hat.T
    sim_sii, sim_rii, _ = _summarise(
        coefs[:, 0], coefs[:, 1], kind, transform, multiplier
    )
    sim_sii.sort()
    sim_rii.sort()
    for level in normalise_confidence_levels(confidence):
        upper_p = level + (1.0 - level) / 2.0
        lo_pos = max(round(repetitions * (1.0 - upper_p)), 1) - 1
        hi_pos = min(round(repetitions * upper_p), repetitions) - 1
        result.sii_lower[level] = float(sim_sii[lo_pos])
        result.sii_upper[level] = float(sim_sii[hi_pos])
        result.rii_lower[level] = float(sim_rii[lo_pos])
        result.rii_upper[level] = float(sim_rii[hi_pos])
    return result


def _check_inputs(
    y: FloatArray, pop: FloatArray, kind: ValueType, repetitions: int
) -> None:
    if y.ndim != 1 or pop.shape != y.shape:
        raise InputDataError("value and population must be 1-D arrays of equal length")
    if not 5 <= y.size <= 100:
        raise InsufficientDataError(
            f"the SII needs between 5 and 100 quantiles; {y.size} were given"
        )
    if y.size > 10:
        warnings.warn(
            "more than 10 quantiles: small quantile values can make the SII unstable",
            stacklevel=3,
        )
    if np.isnan(pop).any() or (pop <= 0).any():
        raise InputDataError("every quantile needs a population greater than zero")
    if np.isnan(y).any():
        raise InputDataError("every quantile needs a value; some are missing")
    if kind == "proportion" and ((y <= 0) | (y >= 1)).any():
        raise InputDataError("proportions must lie strictly between 0 and 1")
    if kind == "rate" and (y <= 0).any():
        raise InputDataError(
            "rates must be greater than zero (they are log-transformed)"
        )
    if repetitions < 1000:
        raise DefinitionError("repetitions must be 1000 or more (PHE default 100,000)")


def _standard_errors(
    se: npt.ArrayLike | None,
    lower_cl: npt.ArrayLike | None,
    upper_cl: npt.ArrayLike | None,
    kind: ValueType,
    shape: tuple[int, ...],
) -> FloatArray:
    if se is not None:
        sd = as_float_array(se, "se")
    elif lower_cl is not None and upper_cl is not None:
        lo = _link(as_float_array(lower_cl, "lower_cl"), kind)
        hi = _link(as_float_array(upper_cl, "upper_cl"), kind)
        sd = (hi - lo) / z_value(0.95) / 2.0  # PHE: limits are taken to be 95 %
    else:
        raise InputDataError(
            "give standard errors (`se`) or both `lower_cl` and `upper_cl`"
        )
    if sd.shape != shape or np.isnan(sd).any() or (sd < 0).any():
        raise InputDataError(
            "standard errors (or limits) must be present and non-negative for every "
            "quantile"
        )
    return sd


def _summarise(
    b0: FloatArray, b1: FloatArray, kind: ValueType, transform: bool, multiplier: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    if transform:
        start = _inverse_link(b0, kind)
        end = _inverse_link(b0 + b1, kind)
        sii = (end - start) * multiplier
    else:
        start, end = b0, b0 + b1
        sii = b1 * multiplier
    with np.errstate(divide="ignore", invalid="ignore"):
        rii = end / start
        if multiplier < 0:
            rii = 1.0 / rii
    return sii, rii, start * abs(multiplier)


@dataclass(frozen=True)
class GapResult:
    """Gap between the most and least deprived quantiles."""

    difference: float
    ratio: float
    lower: float
    upper: float


def gap(
    value: npt.ArrayLike,
    quantile: npt.ArrayLike,
    *,
    lower_cl: npt.ArrayLike | None = None,
    upper_cl: npt.ArrayLike | None = None,
    most_deprived: Literal["lowest", "highest"] = "lowest",
    confidence: float = 0.95,
) -> GapResult:
    """Absolute and relative gap between the most and least deprived quantiles.

    difference = y_most − y_least; ratio = y_most / y_least. When 95 % limits are
    given, each SE is taken as (U − L)/(2 × 1.959964) and the difference gets the
    normal-approximation interval d ∓ z·√(se_most² + se_least²) (Altman et al.,
    Statistics with Confidence, 2000); otherwise the limits are NaN. Missing
    values give NaN.

    Args:
        value: Values per quantile.
        quantile: Quantile numbers (same length).
        lower_cl: Optional lower 95 % limits.
        upper_cl: Optional upper 95 % limits.
        most_deprived: Whether quantile 1 ("lowest", PHE/IMD convention) or the
            highest number is the most deprived.
        confidence: Level for the difference's interval.

    Example:
        >>> g = gap([80.0, 82.0, 85.0], [1, 2, 3])
        >>> g.difference, round(g.ratio, 4)
        (-5.0, 0.9412)
    """
    y = as_float_array(value, "value")
    q = as_float_array(quantile, "quantile")
    if y.shape != q.shape or y.size < 2:
        raise InsufficientDataError("a gap needs values for at least two quantiles")
    i_lo, i_hi = int(np.nanargmin(q)), int(np.nanargmax(q))
    most, least = (i_lo, i_hi) if most_deprived == "lowest" else (i_hi, i_lo)
    diff = float(y[most] - y[least])
    ratio = float(y[most] / y[least]) if y[least] != 0 else float("nan")
    lower = upper = float("nan")
    if lower_cl is not None and upper_cl is not None:
        lo = as_float_array(lower_cl, "lower_cl")
        hi = as_float_array(upper_cl, "upper_cl")
        se = (hi - lo) / (2.0 * z_value(0.95))
        half = z_value(confidence) * float(np.sqrt(se[most] ** 2 + se[least] ** 2))
        lower, upper = diff - half, diff + half
    return GapResult(diff, ratio, lower, upper)


def phe_sii(
    data: pd.DataFrame,
    quantile: str,
    population: str,
    *,
    value: str | None = None,
    x: str | None = None,
    se: str | None = None,
    lower_cl: str | None = None,
    upper_cl: str | None = None,
    group_by: str | Sequence[str] | None = None,
    value_type: int | str = "normal",
    transform: bool = False,
    multiplier: float = 1.0,
    confidence: float | Sequence[float] = 0.95,
    repetitions: int = 100_000,
    rii: bool = False,
    intercept: bool = False,
    rng: int | None = None,
) -> pd.DataFrame:
    """SII (and optionally RII, intercept) per group of a quantile table (``phe_sii``).

    Each group needs one row per quantile (the set of quantiles present in the
    whole table); a group missing a quantile, value or uncertainty gets NaN
    results and a warning. For proportions, `x` (a count) may replace `value`
    (value = x / population). Columns: groups, `sii`, ``sii_lower95_0cl`` …,
    `rii` and its limits if asked, `intercept` if asked.

    Example:
        >>> df = pd.DataFrame({"q": range(1, 6), "pop": [100] * 5,
        ...                    "v": [70.0, 72, 74, 76, 78], "se": [1.0] * 5})
        >>> out = phe_sii(df, "q", "pop", value="v", se="se", repetitions=1000)
        >>> round(float(out["sii"][0]), 6)
        10.0
    """
    groups = _frames.as_list(group_by)
    if value is None and x is None:
        raise InputDataError(
            "phe_sii needs a `value` column, or `x` counts for proportions"
        )
    needed = [quantile, population, *groups]
    needed += [c for c in (value or x, se, lower_cl, upper_cl) if c is not None]
    _frames.require_columns(data, needed)
    all_quantiles = sorted(set(_frames.numeric_column(data, quantile).tolist()))
    levels = normalise_confidence_levels(confidence)
    items = _frames.split_groups(data, groups)
    rows: list[dict[str, object]] = []
    for key, frame in items:
        row: dict[str, object] = dict(zip(groups, key, strict=True))
        frame = frame.sort_values(quantile)
        res = _sii_for_group(
            frame, all_quantiles, quantile, population, value, x, se, lower_cl, upper_cl,
            value_type, transform, multiplier, levels, repetitions, rng,
        )  # fmt: skip
        nan = float("nan")
        row["sii"] = res.sii if res else nan
        for level in levels:
            row[f"sii_lower{ci_suffix(level)}"] = res.sii_lower[level] if res else nan
            row[f"sii_upper{ci_suffix(level)}"] = res.sii_upper[level] if res else nan
        if rii:
            row["rii"] = res.rii if res else nan
            for level in levels:
                row[f"rii_lower{ci_suffix(level)}"] = (
                    res.rii_lower[level] if res else nan
                )
                row[f"rii_upper{ci_suffix(level)}"] = (
                    res.rii_upper[level] if res else nan
                )
        if intercept:
            row["intercept"] = res.intercept if res else nan
        rows.append(row)
    return pd.DataFrame(rows)


def _sii_for_group(
    frame: pd.DataFrame,
    all_quantiles: list[float],
    quantile: str,
    population: str,
    value: str | None,
    x: str | None,
    se: str | None,
    lower_cl: str | None,
    upper_cl: str | None,
    value_type: int | str,
    transform: bool,
    multiplier: float,
    levels: tuple[float, ...],
    repetitions: int,
    rng: int | None,
) -> SIIResult | None:
    pops = _frames.numeric_column(frame, population)
    if value is not None:
        values = _frames.numeric_column(frame, value)
    else:
        assert x is not None
        values = _frames.numeric_column(frame, x) / pops
    sds = _frames.numeric_column(frame, se) if se else None
    los = _frames.numeric_column(frame, lower_cl) if lower_cl else None
    his = _frames.numeric_column(frame, upper_cl) if upper_cl else None
    uncertain = sds if sds is not None else (his if his is not None else values)
    present = _frames.numeric_column(frame, quantile).tolist()
    complete = (
        sorted(present) == all_quantiles
        and not np.isnan(values).any()
        and not np.isnan(uncertain).any()
        and (los is None or not np.isnan(los).any())
    )
    if not complete:
        warnings.warn(
            "some groups were given NaN results because a quantile, value or "
            "uncertainty was missing",
            stacklevel=3,
        )
        return None
    return slope_index_of_inequality(
        values, pops, se=sds, lower_cl=los, upper_cl=his, value_type=value_type,
        transform=transform, multiplier=multiplier, confidence=levels,
        repetitions=repetitions, rng=rng,
    )  # fmt: skip
