"""Planted effects are recovered; under the null, false-positive rates are near 5 %."""

from __future__ import annotations

import numpy as np
import pytest

from carepilot.evaluation import (
    callaway_santanna,
    interrupted_time_series,
    treatment_effect,
    twfe,
)

from .simulate import its_series, patients, staggered_panel

CS = dict(unit="practice", time="period", outcome="y", first_treated="first")


def _covers(eff, truth):
    return eff.ci_low <= truth <= eff.ci_high


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_staggered_recovers_planted_effect(seed):
    data = staggered_panel(seed)
    truth = float(np.mean(np.where(data.loc[data.d == 1, "imd"] == 5, 0.5, 1.0)))
    res = callaway_santanna(data, **CS)
    assert abs(res.headline.estimate - truth) < 0.15
    assert _covers(res.headline, truth)
    assert res.effect("event:0").estimate == pytest.approx(truth, abs=0.25)
    assert res.details["pretrend_test"]["p_value"] > 0.001


def test_twfe_recovers_homogeneous_effect():
    data = staggered_panel(5)
    data["y"] = data["y"] + 0.5 * data["d"] * (
        data["imd"] == 5
    )  # make the effect homogeneous (1.0)
    res = twfe(data, unit="practice", time="period", outcome="y", treated="d")
    assert _covers(res.headline, 1.0)


def test_aipw_recovers_patient_effect():
    data = patients(5)
    res = treatment_effect(
        data, outcome="y", treatment="d", covariates=["age", "imd"], method="aipw"
    )
    naive = data.loc[data.d == 1, "y"].mean() - data.loc[data.d == 0, "y"].mean()
    assert _covers(res.headline, -2.0)
    assert abs(res.headline.estimate + 2.0) < abs(naive + 2.0)


def test_its_recovers_rate_ratio():
    res = interrupted_time_series(
        its_series(9),
        time="t",
        outcome="y",
        intervention="s",
        population="pop",
        season="month",
        harmonics=1,
        slope_change=False,
    )
    assert _covers(res.headline, 0.85)


@pytest.mark.slow
def test_coverage_and_null_false_positive_rate():
    """100 seeded replications: >= 90 % coverage of the truth; null rejection near 5 %."""
    cover, reject = 0, 0
    for seed in range(100):
        data = staggered_panel(1000 + seed, n_units=90, n_periods=6, cohorts=(3, 5))
        truth = float(np.mean(np.where(data.loc[data.d == 1, "imd"] == 5, 0.5, 1.0)))
        cover += _covers(callaway_santanna(data, **CS).headline, truth)
        null = staggered_panel(
            5000 + seed, n_units=90, n_periods=6, cohorts=(3, 5), effect=0.0
        )
        p = callaway_santanna(null, **CS).headline.p_value
        reject += p < 0.05
    assert cover >= 90
    assert 1 <= reject <= 11
