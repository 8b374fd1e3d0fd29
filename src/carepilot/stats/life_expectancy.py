"""Life expectancy: Chiang II abridged life table with Silcocks confidence limits.

Reproduces PHEindicatormethods' ``phe_life_expectancy`` (Fingertips method) for
the 20 standard bands 0, 1, 5, 10, …, 90+, including its suppression rules.
Pure: no file, database or web access.
"""

# pyright: reportMissingTypeStubs=false

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from carepilot.stats import _frames
from carepilot.stats._common import (
    FloatArray,
    as_float_array,
    ci_suffix,
    format_levels,
    normalise_confidence_levels,
    z_value,
)

START_AGES: tuple[int, ...] = (0, 1, *range(5, 95, 5))
"""Start ages of the 20 bands PHE uses (last band 90+ is open)."""
MIN_TOTAL_POPULATION = 5000
"""Areas with a total population of 5,000 or less are not published."""
MAX_HALF_WIDTH_95 = 10.0
"""An LE whose 95 % half-width (1.96 × SE) exceeds 10 years is suppressed."""


@dataclass(frozen=True)
class LifeTable:
    """Life expectancy at each start age, with limits per confidence level.

    `suppressed` names the rule that blanked the whole area (then every value and
    limit is NaN); `value` is also NaN for single ages whose 95 % CI is wider than
    20 years, while their limits are still given (PHE behaviour).
    """

    start_age: FloatArray
    value: FloatArray
    se: FloatArray
    lower: dict[float, FloatArray] = field(default_factory=dict[float, FloatArray])
    upper: dict[float, FloatArray] = field(default_factory=dict[float, FloatArray])
    pops_used: FloatArray = field(default_factory=lambda: np.empty(0))
    deaths_used: FloatArray = field(default_factory=lambda: np.empty(0))
    suppressed: str | None = None


def _suppression(
    deaths: FloatArray, population: FloatArray, n_bands: int
) -> str | None:
    if deaths.size != n_bands:
        return f"the area has {deaths.size} age bands; {n_bands} are required"
    if np.isnan(deaths).any() or np.isnan(population).any():
        return "some age bands have missing deaths or population"
    if (deaths < 0).any():
        return "some age bands have negative deaths"
    if (population <= 0).any():
        return "some age bands have a zero or less population"
    if (deaths > population).any():
        return "some age bands have more deaths than population"
    if population.sum() <= MIN_TOTAL_POPULATION:
        return f"the total population is {MIN_TOTAL_POPULATION:,} or less"
    return None


def life_expectancy(
    deaths: npt.ArrayLike,
    population: npt.ArrayLike,
    start_ages: Sequence[float] = START_AGES,
    *,
    confidence: float | Sequence[float] = 0.95,
) -> LifeTable:
    """Abridged life table (Chiang II) with Silcocks et al. (2001) variance.

    For band i (width nᵢ, Mᵢ = Dᵢ/Pᵢ, aᵢ = 0.1 at age 0 else 0.5)::

        qᵢ = nᵢMᵢ / (1 + nᵢMᵢ(1 − aᵢ)),  q_last = 1
        l₀ = 100,000, lᵢ₊₁ = lᵢ(1 − qᵢ), dᵢ = lᵢ − lᵢ₊₁
        Lᵢ = nᵢ(lᵢ₊₁ + aᵢdᵢ),  L_last = l_last/M_last,  eᵢ = Σ_{j≥i} Lⱼ / lᵢ
        Var(eᵢ) = [Σ_{j≥i, closed} lⱼ²((1 − aⱼ)nⱼ + eⱼ₊₁)² qⱼ²(1 − qⱼ)/Dⱼ
                   + (l_last/2)² · 4/(D_last·M_last²)] / lᵢ²

    limits eᵢ ∓ z·√Var(eᵢ) (Chiang 1984; Silcocks, Jenner & Reza 2001).

    Suppression (PHE): a missing band, negative deaths, population ≤ 0, deaths
    > population or total population ≤ 5,000 → every output NaN and
    `suppressed` set; an LE with 1.959964 × SE > 10 → that value NaN (limits kept).

    Args:
        deaths: Deaths per band, youngest first.
        population: Population per band (person-years).
        start_ages: Band start ages (default 0, 1, 5, …, 90).
        confidence: One level or several.

    Returns:
        A `LifeTable`.

    Example:
        >>> pops = [7060, 35059, 46974, 48489, 43219, 38561, 46009, 57208, 61435,
        ...         55601, 50209, 56416, 46411, 39820, 37978, 37039, 33288, 23306,
        ...         11936, 11936]
        >>> deaths = [17, 9, 4, 8, 20, 15, 24, 33, 50, 71, 100, 163, 263, 304, 536,
        ...           872, 1390, 1605, 1936, 1937]
        >>> round(float(life_expectancy(deaths, pops).value[0]), 4)
        80.1696
    """
    d = as_float_array(deaths, "deaths")
    p = as_float_array(population, "population")
    ages = np.asarray(start_ages, dtype=np.float64)
    levels = normalise_confidence_levels(confidence)
    reason = _suppression(d, p, ages.size)
    if reason is not None:
        nan = np.full(ages.size, np.nan)
        return LifeTable(
            ages, nan, nan, {lv: nan for lv in levels}, {lv: nan for lv in levels},
            nan, nan, reason,
        )  # fmt: skip
    value, se = _chiang(d, p, ages)
    table = LifeTable(
        start_age=ages,
        value=np.where(z_value(0.95) * se > MAX_HALF_WIDTH_95, np.nan, value),
        se=se,
        pops_used=np.cumsum(p[::-1])[::-1],
        deaths_used=np.cumsum(d[::-1])[::-1],
    )
    for level in levels:
        z = z_value(level)
        table.lower[level] = value - z * se
        table.upper[level] = value + z * se
    return table


def _chiang(
    d: FloatArray, p: FloatArray, ages: FloatArray
) -> tuple[FloatArray, FloatArray]:
    k = ages.size
    m = d / p
    a = np.where(ages == 0, 0.1, 0.5)
    width = np.append(np.diff(ages), np.nan)
    q = np.ones(k)
    q[:-1] = m[:-1] * width[:-1] / (1.0 + m[:-1] * width[:-1] * (1.0 - a[:-1]))
    q = np.minimum(q, 1.0)
    survivors = 100_000.0 * np.concatenate([[1.0], np.cumprod(1.0 - q[:-1])])
    dying = survivors - np.append(survivors[1:], 0.0)
    years = np.empty(k)
    years[:-1] = width[:-1] * (survivors[1:] + a[:-1] * dying[:-1])
    with np.errstate(divide="ignore", invalid="ignore"):
        years[-1] = survivors[-1] / m[-1]
        total = np.cumsum(years[::-1])[::-1]
        e = np.where(survivors == 0, 0.0, total / survivors)
        var_q = np.where(dying == 0, 0.0, q * q * (1.0 - q) / d)
    weighted = np.empty(k)
    weighted[:-1] = (
        var_q[:-1] * survivors[:-1] ** 2 * ((1.0 - a[:-1]) * width[:-1] + e[1:]) ** 2
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        weighted[-1] = (survivors[-1] / 2.0) ** 2 * 4.0 / (d[-1] * m[-1] ** 2)
        se = np.sqrt(np.cumsum(weighted[::-1])[::-1] / survivors**2)
    return e, se


def phe_life_expectancy(
    data: pd.DataFrame,
    deaths: str,
    population: str,
    startage: str,
    *,
    group_by: str | Sequence[str] | None = None,
    confidence: float | Sequence[float] = 0.95,
    le_age: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Life expectancy at each start age per group (``phe_life_expectancy``).

    Rows within a group may come in any order (they are sorted by `startage`).
    Output: groups, `startage`, `value`, limits per level, `pops_used`,
    `dths_used`, `confidence`, `statistic`, `method`, and `suppression` (the
    reason an area was blanked, else empty).

    Example:
        >>> df = pd.DataFrame({"age": START_AGES, "pop": [10_000] * 20,
        ...                    "deaths": [10] * 19 + [2_000]})
        >>> out = phe_life_expectancy(df, "deaths", "pop", "age", le_age=[0])
        >>> round(float(out["value"][0]), 1)
        90.6
    """
    groups = _frames.as_list(group_by)
    _frames.require_columns(data, [deaths, population, startage, *groups])
    levels = normalise_confidence_levels(confidence)
    items = _frames.split_groups(data, groups)
    frames: list[pd.DataFrame] = []
    for key, frame in items:
        order = np.argsort(_frames.numeric_column(frame, startage), kind="stable")
        table = life_expectancy(
            _frames.numeric_column(frame, deaths)[order],
            _frames.numeric_column(frame, population)[order],
            START_AGES, confidence=levels,
        )  # fmt: skip
        out = pd.DataFrame({startage: list(START_AGES)})
        for group, value in zip(groups, key, strict=True):
            out.insert(len(out.columns) - 1, group, [value] * len(out))
        out["value"] = table.value
        for level in levels:
            out[f"lower{ci_suffix(level)}"] = table.lower[level]
            out[f"upper{ci_suffix(level)}"] = table.upper[level]
        out["pops_used"] = table.pops_used
        out["dths_used"] = table.deaths_used
        out["suppression"] = table.suppressed or ""
        frames.append(out)
    result = pd.concat(frames, ignore_index=True)
    ages = _frames.numeric_column(result, startage)
    if le_age is not None:
        keep = np.isin(ages, np.asarray(list(le_age), dtype=np.float64))
        result = _frames.filter_rows(result, keep)
        ages = ages[keep]
    result["confidence"] = format_levels(levels)
    result["statistic"] = [f"life expectancy at {int(a)}" for a in ages]
    result["method"] = "Chiang, using Silcocks et al for confidence limits"
    return result
