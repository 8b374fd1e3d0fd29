"""Compared to goal (Fingertips): values against the indicator's target."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from carepilot.publication import dashboards as d
from carepilot.publication.goals import (
    compare_to_goal,
    goal_text,
    goals_by_indicator,
)
from carepilot.publication.opendata import to_fingertips
from carepilot.publication.results import IndicatorMeta

from .builders import META


def test_goal_direction_follows_polarity() -> None:
    values = [79.9, 80.0, 85.0, math.nan]
    assert compare_to_goal(values, 80.0, "higher_is_better").tolist() == [
        "worse",
        "better",
        "better",
        "not compared",
    ]
    assert compare_to_goal(values, 80.0, "lower_is_better").tolist() == [
        "better",
        "better",
        "worse",
        "not compared",
    ]
    assert set(compare_to_goal(values, 80.0, "no_judgement")) == {"not compared"}
    assert set(compare_to_goal(values, None, "higher_is_better")) == {"not compared"}


@given(
    st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=30),
    st.floats(0, 100, allow_nan=False),
)
def test_meeting_the_goal_is_reaching_it_on_the_good_side(
    values: list[float], goal: float
) -> None:
    up = compare_to_goal(values, goal, "higher_is_better")
    down = compare_to_goal(values, goal, "lower_is_better")
    for v, a, b in zip(values, up, down, strict=True):
        assert (a == "better") == (v >= goal)
        assert (b == "better") == (v <= goal)
        # Exactly at the goal meets it in both directions; otherwise they differ.
        assert (a == b == "better") if v == goal else a != b


def test_mixed_indicators_use_their_own_goals() -> None:
    meta = {
        "a": IndicatorMeta(id="a", title="A", polarity="higher_is_better", target=50),
        "b": IndicatorMeta(id="b", title="B", polarity="lower_is_better", target=10),
        "c": IndicatorMeta(id="c", title="C", polarity="higher_is_better"),
    }
    got = goals_by_indicator(
        ["a", "b", "a", "c", "b", "zz"], [60, 60, 40, 99, 5, 1], meta
    )
    assert got.tolist() == [
        "better",
        "worse",
        "worse",
        "not compared",
        "better",
        "not compared",
    ]
    assert goal_text(meta["a"]) == "50% or more"
    assert goal_text(meta["b"]) == "10% or less"
    assert goal_text(meta["c"]) == ""


def test_area_profile_shows_the_goal(released: pd.DataFrame) -> None:
    view = d.area_profile(released, "A81001", None, META)
    assert view.spec is not None
    rows = {str(r["indicator_id"]): r for r in view.data.to_dict("records")}
    bp, ae = rows["bp-control"], rows["ae-rate"]
    assert bp["target"] == 80.0
    assert bp["goal"] == ("better" if float(bp["value"]) >= 80 else "worse")
    assert math.isnan(float(ae["target"]))
    assert ae["goal"] == "not compared"
    assert -1.05 <= float(bp["goal_position"]) <= 1.05
    assert view.columns["goal"] == "Compared with goal"
    html = view.table_html()
    assert ("Meets goal" in html) or ("Does not meet goal" in html)
    layers = view.spec["layer"]
    diamond = [ly for ly in layers if ly["mark"].get("shape") == "diamond"]
    assert diamond and diamond[0]["encoding"]["fill"]["field"] == "goal"
    assert diamond[0]["encoding"]["fill"]["legend"]["title"] == "Compared with goal"
    assert "Compared with goal" in view.svg()
    assert "diamond marks the indicator's goal" in view.summary


def test_profile_without_goals_has_no_goal_columns(released: pd.DataFrame) -> None:
    meta = {k: replace(m, target=None) for k, m in META.items()}
    view = d.area_profile(released, "A81001", None, meta)
    assert view.spec is not None
    assert "goal" not in view.columns
    assert not any(ly["mark"].get("shape") == "diamond" for ly in view.spec["layer"])


def test_tartan_rug_coloured_by_goal(released: pd.DataFrame) -> None:
    by_goal = d.tartan_rug(released, "practice", None, META, colour_by="goal")
    assert by_goal.spec is not None
    cells = by_goal.spec["layer"][0]["encoding"]["color"]
    assert cells["field"] == "goal"
    bp = by_goal.data[by_goal.data["indicator_id"] == "bp-control"]
    want = np.where(
        bp["value"].isna(),
        "not compared",
        np.where(bp["value"] >= 80, "better", "worse"),
    )
    assert bp["goal"].tolist() == want.tolist()
    ae = by_goal.data[by_goal.data["indicator_id"] == "ae-rate"]
    assert set(ae["goal"]) == {"not compared"}
    england = d.tartan_rug(released, "practice", None, META)
    assert england.spec is not None
    assert england.spec["layer"][0]["encoding"]["color"]["field"] == "comparison"
    assert "goal" in england.columns  # the table carries both comparisons
    assert by_goal.key != england.key


def test_tartan_goal_colouring_errors(released: pd.DataFrame) -> None:
    import pytest

    from carepilot.errors import InputDataError

    with pytest.raises(InputDataError, match="england` or `goal"):
        d.tartan_rug(released, "practice", None, META, colour_by="rainbow")
    with pytest.raises(InputDataError, match="has a goal"):
        d.tartan_rug(released, "practice", ["ae-rate"], META, colour_by="goal")


def test_open_data_compared_to_goal(released: pd.DataFrame) -> None:
    table = to_fingertips(released, META)
    columns = list(table.columns)
    assert columns.index("Compared to goal") == (
        columns.index("Compared to parent value or percentiles") + 1
    )
    bp = table[table["Indicator ID"] == "bp-control"]
    want = np.where(
        bp["Value"].isna(),
        "Not compared",
        np.where(bp["Value"] >= 80, "Better", "Worse"),
    )
    assert bp["Compared to goal"].tolist() == want.tolist()
    assert {"Better", "Worse"} <= set(bp["Compared to goal"])
    ae = table[table["Indicator ID"] == "ae-rate"]
    assert set(ae["Compared to goal"]) == {""}


def test_minimum_standard_is_amber() -> None:
    values = [65.0, 70.0, 75.0, 80.0, math.nan]
    assert compare_to_goal(values, 80.0, "higher_is_better", 70.0).tolist() == [
        "worse",
        "similar",
        "similar",
        "better",
        "not compared",
    ]
    # lower is better: goal 10, minimum standard 15
    assert compare_to_goal(
        [8.0, 12.0, 15.0, 20.0], 10.0, "lower_is_better", 15.0
    ).tolist() == [
        "better",
        "similar",
        "similar",
        "worse",
    ]
    meta = {
        "s": IndicatorMeta(
            id="s", title="S", polarity="higher_is_better", target=80, target_minimum=70
        ),
        "t": IndicatorMeta(id="t", title="T", polarity="higher_is_better", target=80),
    }
    got = goals_by_indicator(["s", "s", "s", "t"], [65, 75, 85, 75], meta)
    assert got.tolist() == ["worse", "similar", "better", "worse"]
    assert goal_text(meta["s"]) == "80% or more (minimum 70%)"


@given(
    st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=30),
    st.floats(50, 100, allow_nan=False),
    st.floats(0, 50, allow_nan=False),
)
def test_amber_band_lies_between_minimum_and_goal(
    values: list[float], goal: float, gap: float
) -> None:
    minimum = goal - gap - 1e-6
    got = compare_to_goal(values, goal, "higher_is_better", minimum)
    for v, c in zip(values, got, strict=True):
        assert c == ("better" if v >= goal else "similar" if v >= minimum else "worse")
    # Vectorised per-indicator path agrees with the scalar one.
    meta = {
        "x": IndicatorMeta(
            id="x",
            title="X",
            polarity="higher_is_better",
            target=goal,
            target_minimum=minimum,
        )
    }
    assert (
        goals_by_indicator(["x"] * len(values), values, meta).tolist() == got.tolist()
    )


def test_open_data_similar_for_the_minimum_standard(released: pd.DataFrame) -> None:
    meta = {
        **META,
        "bp-control": replace(META["bp-control"], target=90, target_minimum=75),
    }
    table = to_fingertips(released, meta)
    bp = table[table["Indicator ID"] == "bp-control"]
    v = bp["Value"].to_numpy(float)
    want = np.where(
        np.isnan(v),
        "Not compared",
        np.where(v >= 90, "Better", np.where(v >= 75, "Similar", "Worse")),
    )
    assert bp["Compared to goal"].tolist() == want.tolist()
    assert "Similar" in set(bp["Compared to goal"])
    view = d.area_profile(released, "A81001", None, meta)
    assert view.columns["target_minimum"] == "Minimum standard"
