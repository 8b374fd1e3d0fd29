"""Compared to goal: an area's value against the indicator's target.

Fingertips colours some indicators against a fixed goal instead of (or as well
as) England: an area that reaches the goal is green, one that does not is red,
whatever England's value. In carepilot an indicator's goal is its definition's
``target`` (on the value scale, e.g. 80 for "80 % of eligible women screened")
and its polarity says which side of it is good:

- higher is better: value >= goal is ``better`` (meets the goal), else ``worse``;
- lower is better: value <= goal is ``better``, else ``worse``;
- with a minimum standard (``target_minimum``, Fingertips' red/amber/green goals,
  e.g. screening coverage < 70 % / 70-80 % / >= 80 %): a value that reaches the
  minimum but not the goal is ``similar`` (amber);
- no preferred direction, no goal, or no published value: ``not compared``.

As in Fingertips the point value is compared, not its confidence interval: a
goal is a standard to reach, not a population parameter to test against.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd

from carepilot.publication.results import IndicatorMeta

GOAL_LABELS: dict[str, str] = {
    "better": "Meets goal",
    "similar": "Meets minimum, not goal",
    "worse": "Does not meet goal",
    "not compared": "Not compared with goal",
}
"""Plain-English label of each goal comparison (tables, legends, sentences)."""

OPEN_DATA_LABELS: dict[str, str] = {
    "better": "Better",
    "similar": "Similar",
    "worse": "Worse",
    "not compared": "Not compared",
}
"""Fingertips wording in the "Compared to goal" download column."""


def compare_to_goal(
    values: npt.ArrayLike,
    goal: float | None,
    polarity: str,
    minimum: float | None = None,
) -> npt.NDArray[np.object_]:
    """``better`` / ``similar`` / ``worse`` / ``not compared`` per value.

    Args:
        values: Indicator values (NaN where suppressed or undefined).
        goal: The indicator's target on the value scale (None: no goal).
        polarity: ``higher_is_better``, ``lower_is_better`` or ``no_judgement``.
        minimum: Optional minimum standard on the worse side of the goal; values
            that reach it but not the goal are ``similar``.
    """
    v = np.asarray(values, dtype=float)
    out = np.full(v.shape, "not compared", dtype=object)
    if goal is None or math.isnan(goal):
        return out
    sign = _SIGN.get(polarity, 0.0)
    if sign == 0:
        return out
    known = ~np.isnan(v)
    # On a "higher is better" scale (lower: negate) meeting is value >= level.
    meets = sign * v >= sign * goal
    out[known & meets] = "better"
    out[known & ~meets] = "worse"
    if minimum is not None and not math.isnan(minimum):
        out[known & ~meets & (sign * v >= sign * minimum)] = "similar"
    return out


def goal_text(m: IndicatorMeta) -> str:
    """The goal as a phrase, e.g. ``80% or more`` (empty without a goal)."""
    if m.target is None:
        return ""
    unit = "%" if m.value_type == "proportion" else f" {m.unit}".rstrip()
    figure = f"{m.target:g}{unit}"
    minimum = (
        f" (minimum {m.target_minimum:g}{unit})" if m.target_minimum is not None else ""
    )
    if m.polarity == "higher_is_better":
        return f"{figure} or more{minimum}"
    if m.polarity == "lower_is_better":
        return f"{figure} or less{minimum}"
    return figure


def goals_by_indicator(
    indicator_ids: npt.ArrayLike,
    values: npt.ArrayLike,
    meta: Mapping[str, IndicatorMeta],
) -> npt.NDArray[np.object_]:
    """`compare_to_goal` row by row for a mixed column of indicators (vectorised
    over integer indicator codes: the open-data export has a million rows)."""
    codes, uniques = pd.factorize(pd.Series(np.asarray(indicator_ids, dtype=object)))
    v = np.asarray(values, dtype=float)
    goal = np.full(len(uniques) + 1, np.nan)
    minimum = np.full(len(uniques) + 1, np.nan)
    sign = np.zeros(len(uniques) + 1)
    for k, indicator_id in enumerate(uniques):
        m = meta.get(str(indicator_id))
        if m is not None and m.target is not None:
            goal[k] = m.target
            sign[k] = _SIGN.get(m.polarity, 0.0)
            if m.target_minimum is not None:
                minimum[k] = m.target_minimum
    # code -1 (an id without metadata) takes the last slot: no goal.
    row_goal, row_min, row_sign = goal[codes], minimum[codes], sign[codes]
    known = ~np.isnan(v) & ~np.isnan(row_goal) & (row_sign != 0)
    with np.errstate(invalid="ignore"):
        meets = row_sign * v >= row_sign * row_goal
        reaches_min = row_sign * v >= row_sign * row_min  # False where NaN
    out = np.full(len(v), "not compared", dtype=object)
    out[known & meets] = "better"
    out[known & ~meets] = "worse"
    out[known & ~meets & reaches_min] = "similar"
    return out


_SIGN = {"higher_is_better": 1.0, "lower_is_better": -1.0}
