"""Event studies: CS and TWFE estimators, pre-trend tests."""

from __future__ import annotations

import pytest

from carepilot.errors import InputDataError
from carepilot.evaluation import event_study

from .simulate import staggered_panel

KW = dict(unit="practice", time="period", outcome="y", first_treated="first")


def test_cs_event_study_matches_mpdta(mpdta):
    data, ref = mpdta
    res = event_study(
        data,
        unit="countyreal",
        time="year",
        outcome="lemp",
        first_treated="first.treat",
    )
    dyn = ref["spec_unconditional"]["aggregations"]["dynamic"]
    assert res.headline.estimate == pytest.approx(dyn["published"], abs=1e-4)
    for e, v in dyn["event_study"].items():
        assert res.effect(f"event:{e}").estimate == pytest.approx(
            v["published"], abs=1e-4
        )


def test_twfe_event_study_flat_pre_trends():
    data = staggered_panel(8, n_units=200, cohorts=(5,))
    data["y"] = data["y"] + 0.5 * data["d"] * (data["imd"] == 5)
    res = event_study(data, **KW, estimator="twfe")
    es = res.tables["event_study"].set_index("event_time")
    assert es.loc[-1, "estimate"] == 0.0
    assert es.loc[0, "ci_low"] <= 1.0 <= es.loc[0, "ci_high"]
    assert res.details["pretrend_test"]["p_value"] > 0.01


def test_pre_trend_detected():
    data = staggered_panel(9, n_units=200, cohorts=(5,))
    treated = data["first"] > 0
    data.loc[treated, "y"] += 0.4 * data.loc[treated, "period"]  # diverging trend
    assert (
        event_study(data, **KW, estimator="twfe").details["pretrend_test"]["p_value"]
        < 0.01
    )
    assert event_study(data, **KW).details["pretrend_test"]["p_value"] < 0.01


def test_bad_estimator():
    with pytest.raises(InputDataError, match="estimator"):
        event_study(staggered_panel(1, n_units=20), **KW, estimator="magic")
