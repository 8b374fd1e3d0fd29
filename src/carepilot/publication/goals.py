"""Compared to goal: an area's value against the indicator's target.

Fingertips colours some indicators against a fixed goal instead of (or as well
as) England: an area that reaches the goal is green, one that does not is red,
whatever England's value. In carepilot an indicator's goal is its definition's
``target`` (on the value scale, e.g. 80 for "80 % of eligible women screened")
and its polarity says which side of it is good:

- higher is better: value >= goal is ``better`` (meets the goal), else ``worse``;
- lower is better: value <= goal is ``better``, else ``worse``;
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
    "worse": "Does not meet goal",
    "not compared": "Not compared with goal",
}
"""Plain-English label of each goal comparison (tables, legends, sentences)."""

OPEN_DATA_LABELS: dict[str, str] = {
    "better": "Better",
    "worse": "Worse",
    "not compared": "Not compared",
}
"""Fingertips wording in the "Compared to goal" download column."""


def compare_to_goal(
    values: npt.ArrayLike, goal: float | None, polarity: str
) -> npt.NDArray[np.object_]:
    """``better`` / ``worse`` / ``not compared`` for each value against `goal`.

    Args:
        values: Indicator values (NaN where suppressed or undefined).
        goal: The indicator's target on the value scale (None: no goal).
        polarity: ``higher_is_better``, ``lower_is_better`` or ``no_judgement``.
    """
    v = np.asarray(values, dtype=float)
    out = np.full(v.shape, "not compared", dtype=object)
    if goal is None or math.isnan(goal):
        return out
    known = ~np.isnan(v)
    if polarity == "higher_is_better":
        meets = v >= goal
    elif polarity == "lower_is_better":
        meets = v <= goal
    else:
        return out
    out[known & meets] = "better"
    out[known & ~meets] = "worse"
    return out


def goal_text(m: IndicatorMeta) -> str:
    """The goal as a phrase, e.g. ``80% or more`` (empty without a goal)."""
    if m.target is None:
        return ""
    unit = "%" if m.value_type == "proportion" else f" {m.unit}".rstrip()
    figure = f"{m.target:g}{unit}"
    if m.polarity == "higher_is_better":
        return f"{figure} or more"
    if m.polarity == "lower_is_better":
        return f"{figure} or less"
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
    sign = np.zeros(len(uniques) + 1)
    for k, indicator_id in enumerate(uniques):
        m = meta.get(str(indicator_id))
        if m is not None and m.target is not None:
            goal[k] = m.target
            sign[k] = _SIGN.get(m.polarity, 0.0)
    row_goal, row_sign = goal[codes], sign[codes]  # code -1 (missing id): no goal
    known = ~np.isnan(v) & ~np.isnan(row_goal) & (row_sign != 0)
    with np.errstate(invalid="ignore"):
        meets = np.where(row_sign > 0, v >= row_goal, v <= row_goal)
    out = np.full(len(v), "not compared", dtype=object)
    out[known & meets] = "better"
    out[known & ~meets] = "worse"
    return out


_SIGN = {"higher_is_better": 1.0, "lower_is_better": -1.0}
