"""Interrupted time series: Lopez Bernal et al. (2017) Sicily smoking ban oracle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carepilot.errors import InputDataError, InsufficientDataError
from carepilot.evaluation import interrupted_time_series as its
from carepilot.evaluation.its import fourier_terms

KW = dict(time="time", outcome="aces", intervention="smokban", population="stdpop")


def test_model3_quasipoisson_harmonics_matches_published(sicily):
    data, ref = sicily
    res = its(data, **KW, season="month", period=12, harmonics=2, slope_change=False)
    oracle, tol = ref["oracle"], ref["tolerance"]
    level = res.headline
    assert level.scale == "ratio"
    assert level.estimate == pytest.approx(oracle["published_rr"], abs=tol["rr_abs"])
    assert level.ci_low == pytest.approx(oracle["published_ci95"][0], abs=tol["ci_abs"])
    assert level.ci_high == pytest.approx(
        oracle["published_ci95"][1], abs=tol["ci_abs"]
    )
    model3 = ref["models"]["model3_quasipoisson_harmonic"]
    assert res.details["dispersion"] == pytest.approx(
        model3["reproduced"]["dispersion"], rel=tol["dispersion_rel"]
    )
    assert res.effect("pre_trend").estimate ** 12 == pytest.approx(
        model3["trend_rr_per_year"], abs=1e-5
    )


def test_models_1_2_4_computed_checks(sicily):
    data, ref = sicily
    m = ref["models"]
    r1 = its(data, **KW, slope_change=False, family="poisson")
    assert r1.headline.estimate == pytest.approx(
        m["model1_poisson_step_trend"]["reproduced"]["rr"], abs=1e-5
    )
    assert r1.headline.ci_low == pytest.approx(
        m["model1_poisson_step_trend"]["reproduced"]["ci95"][0], abs=1e-5
    )
    r2 = its(data, **KW, slope_change=False)
    assert r2.headline.se == pytest.approx(
        m["model2_quasipoisson_step_trend"]["reproduced"]["se_log_rr"], abs=1e-6
    )
    r4 = its(data, **KW, season="month", harmonics=2)
    assert r4.headline.estimate == pytest.approx(
        m["model4_quasipoisson_harmonic_slope_change"]["reproduced"]["rr"], abs=1e-5
    )
    slope = m["model4_quasipoisson_harmonic_slope_change"]["slope_change"]
    assert r4.effect("slope_change").estimate == pytest.approx(slope["rr"], abs=1e-5)
    assert r4.effect("slope_change").ci_high == pytest.approx(
        slope["ci95"][1], abs=1e-5
    )


def test_newey_west_se_runs_and_differs(sicily):
    data, _ = sicily
    model = its(data, **KW, season="month")
    hac = its(data, **KW, season="month", se="hac", hac_lags=3)
    assert hac.headline.estimate == pytest.approx(model.headline.estimate)
    assert hac.headline.se != pytest.approx(model.headline.se)
    assert hac.details["hac_lags"] == 3


def test_control_series_cancels_common_shock():
    rng = np.random.default_rng(1)
    t = np.arange(1, 49)
    rows = []
    for series, effect in (("pilot", 0.8), ("control", 1.0)):
        rate = (
            50
            * np.exp(0.01 * t)
            * np.where(t > 24, 1.3 * (effect if series == "pilot" else 1.0), 1.0)
        )
        rows += [
            {
                "t": a,
                "y": rng.poisson(r * 10) / 10 * 10,
                "s": int(a > 24),
                "series": series,
            }
            for a, r in zip(t, rate, strict=True)
        ]
    df = pd.DataFrame(rows)
    res = its(
        df,
        time="t",
        outcome="y",
        intervention="s",
        series="series",
        control_series="control",
        slope_change=False,
    )
    assert res.details["comparative"] is True
    assert res.headline.estimate == pytest.approx(0.8, abs=0.06)
    single = its(
        df[df.series == "pilot"],
        time="t",
        outcome="y",
        intervention="s",
        slope_change=False,
    )
    assert (
        single.headline.estimate > 0.95
    )  # the common shock contaminates the single-series ITS


def test_fourier_terms_shape():
    m, names = fourier_terms(np.arange(1, 13, dtype=float), 12, 2)
    assert m.shape == (12, 4) and names == ["sin1", "cos1", "sin2", "cos2"]
    assert m[:, 0].sum() == pytest.approx(0, abs=1e-12)


def test_no_pre_period(sicily):
    data, _ = sicily
    with pytest.raises(InsufficientDataError, match="pre-intervention"):
        its(data[data.smokban == 1], **KW)


def test_no_post_period(sicily):
    data, _ = sicily
    with pytest.raises(InsufficientDataError, match="never 1"):
        its(data[data.smokban == 0], **KW)


def test_bad_population(sicily):
    data, _ = sicily
    with pytest.raises(InputDataError, match="population"):
        its(data.assign(stdpop=0), **KW)


def test_negative_counts(sicily):
    data, _ = sicily
    with pytest.raises(InputDataError, match="negative"):
        its(data.assign(aces=-data.aces), **KW)


def test_date_time_column_gets_specific_message(sicily):
    data, _ = sicily
    data = data.assign(date=data["year"].astype(str) + "-" + data["month"].astype(str))
    with pytest.raises(InputDataError, match="convert dates"):
        its(data, time="date", outcome="aces", intervention="smokban")
