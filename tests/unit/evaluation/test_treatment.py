"""RA / IPW / AIPW / IPWRA: Stata teffects manual examples on cattaneo2."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carepilot.errors import InputDataError, InsufficientDataError
from carepilot.evaluation import treatment_effect
from carepilot.evaluation._drdid import dr_did
from carepilot.evaluation.treatment import treatment_effect_fit

OUT = ["prenatal1", "mmarried", "mage", "fbaby"]
TRT = ["mmarried", "mage", "mage2", "fbaby", "medu"]


def _run(data, method, estimand="ate"):
    return treatment_effect(
        data,
        outcome="bweight",
        treatment="mbsmoke",
        covariates=OUT,
        treatment_covariates=TRT,
        method=method,
        estimand=estimand,
        link="probit",
    )


@pytest.mark.parametrize("method", ["ra", "ipw", "aipw", "ipwra"])
def test_ate_pomean_and_se_match_stata(cattaneo2, method):
    data, ref = cattaneo2
    spec = ref["estimates"][method]
    tol = ref["tolerance"]
    res = _run(data, method)
    assert res.headline.estimate == pytest.approx(
        spec["ate"]["published"], abs=tol["ate_abs"]
    )
    assert res.details["pomean_control"] == pytest.approx(
        spec["pomean_control"]["published"], abs=tol["pomean_abs"]
    )
    assert res.headline.se == pytest.approx(
        spec["ate"]["published_se"], rel=tol["se_rel_full_gmm_sandwich"]
    )
    # our own stacked sandwich reproduces Stata's SE to ~1e-6 (statsmodels' GMM,
    # a Nelder-Mead fit, only to ~1e-4)
    assert res.headline.se == pytest.approx(spec["ate"]["published_se"], rel=1e-7)
    if "published_ci95" in spec["ate"]:
        assert res.headline.ci_low == pytest.approx(
            spec["ate"]["published_ci95"][0], abs=0.2
        )


@pytest.mark.parametrize("method", ["ra", "ipw", "ipwra"])
def test_atet_matches_stata(cattaneo2, method):
    data, ref = cattaneo2
    spec = ref["estimates"][method]["atet"]
    res = _run(data, method, "att")
    assert res.headline.estimate == pytest.approx(
        spec["published"], abs=ref["tolerance"]["ate_abs"]
    )
    if "published_se" in spec:
        assert res.headline.se == pytest.approx(
            spec["published_se"], rel=ref["tolerance"]["se_rel_other"]
        )
        assert res.headline.se == pytest.approx(spec["published_se"], rel=1e-7)


def test_logit_sensitivity_context(cattaneo2):
    data, ref = cattaneo2
    ctx = ref["context"]["logit_instead_of_probit"]
    res = treatment_effect(
        data,
        outcome="bweight",
        treatment="mbsmoke",
        covariates=OUT,
        treatment_covariates=TRT,
        method="ipw",
    )
    assert res.headline.estimate == pytest.approx(ctx["ipw_ate"], abs=0.01)


def test_dr_att_equals_drdid_on_one_outcome(cattaneo2):
    """AIPW ATT = Sant'Anna-Zhao DR estimator (our DRDID port) with dy = y."""
    data = cattaneo2[0]
    fit = treatment_effect_fit(
        data,
        outcome="bweight",
        treatment="mbsmoke",
        covariates=TRT,
        method="aipw",
        estimand="att",
    )
    x = np.column_stack([np.ones(len(data)), data[TRT].to_numpy(float)])
    ref = dr_did(data.bweight.to_numpy(float), data.mbsmoke.to_numpy(float), x, "drdid")
    assert fit.result.headline.estimate == pytest.approx(ref.att, abs=1e-8)
    np.testing.assert_allclose(fit.influence.to_numpy(), ref.influence, atol=1e-4)
    se_ref = float(np.sqrt(np.mean(ref.influence**2) / len(data)))
    assert fit.result.headline.se == pytest.approx(se_ref, rel=1e-7)


def test_dr_att_on_stata_spec_sits_with_ipwra_and_ra(cattaneo2):
    res = _run(cattaneo2[0], "aipw", "att")
    spec = cattaneo2[1]["estimates"]
    # doubly robust: between the RA and IPWRA ATETs on this well-specified data
    assert res.headline.estimate == pytest.approx(
        spec["ipwra"]["atet"]["published"], abs=1.0
    )
    assert res.headline.estimate == pytest.approx(
        spec["ra"]["atet"]["published"], abs=1.0
    )
    assert res.details["pomean_treated"] == pytest.approx(
        cattaneo2[0].loc[cattaneo2[0].mbsmoke == 1, "bweight"].mean()
    )
    assert 20 < res.headline.se < 27


@pytest.mark.parametrize("method", ["ra", "ipw", "aipw", "ipwra"])
def test_att_identical_when_models_are_saturated(method):
    """One binary covariate in both models: every estimator is the stratified ATT."""
    rng = np.random.default_rng(3)
    n = 400
    x = rng.integers(0, 2, n)
    d = (rng.random(n) < np.where(x == 1, 0.6, 0.25)).astype(int)
    y = 2 + 3 * x + d * (1 + 2 * x) + rng.normal(0, 1, n)
    data = pd.DataFrame({"y": y, "d": d, "x": x})
    # exact: within-stratum difference in means, averaged over the treated
    t, c = data[data.d == 1], data[data.d == 0]
    diffs = t.groupby("x").y.mean() - c.groupby("x").y.mean()
    exact = float((diffs * t.x.value_counts(normalize=True).sort_index()).sum())
    res = treatment_effect(
        data,
        outcome="y",
        treatment="d",
        covariates=["x"],
        method=method,
        estimand="att",
    )
    assert res.headline.estimate == pytest.approx(exact, abs=1e-9)


@pytest.mark.parametrize("wrong", ["outcome", "propensity"])
def test_dr_att_is_doubly_robust(wrong):
    """Misspecify one model: the DR ATT stays unbiased, the single-model one does not."""
    dr, single = [], []
    for seed in range(30):
        rng = np.random.default_rng(seed)
        n = 2000
        x = rng.normal(0, 1, n)
        index = x - 0.5 if wrong == "outcome" else 0.3 + x - 0.8 * x**2
        d = (rng.random(n) < 1 / (1 + np.exp(-index))).astype(int)
        y = 1 + x + 1.5 * x**2 + 2.0 * d + rng.normal(0, 1, n)  # ATT = 2
        data = pd.DataFrame({"y": y, "d": d, "x": x, "x2": x**2})
        if wrong == "outcome":  # outcome model lacks x²; propensity model right
            kw = {"covariates": ["x"], "treatment_covariates": ["x"]}
            one = {"covariates": ["x"], "method": "ra"}
        else:  # propensity model lacks x²; outcome model right
            kw = {"covariates": ["x", "x2"], "treatment_covariates": ["x"]}
            one = {"covariates": ["x"], "method": "ipw"}
        common = {"outcome": "y", "treatment": "d", "estimand": "att"}
        dr.append(
            treatment_effect(data, method="aipw", **kw, **common).headline.estimate
        )
        single.append(treatment_effect(data, **one, **common).headline.estimate)
    mc_se = np.std(dr) / np.sqrt(len(dr))
    assert abs(np.mean(dr) - 2.0) < 3 * mc_se + 0.01
    assert abs(np.mean(single) - 2.0) > 0.2


def test_perfect_separation(cattaneo2):
    data = cattaneo2[0].assign(leak=lambda d: d.mbsmoke * 3.0 + 1)
    with pytest.raises(InputDataError, match="perfect separation"):
        treatment_effect(
            data,
            outcome="bweight",
            treatment="mbsmoke",
            covariates=["leak"],
            method="ipw",
        )


def test_collinear_covariates(cattaneo2):
    data = cattaneo2[0].assign(mage_copy=lambda d: d.mage * 1.0)
    with pytest.raises(InputDataError, match="collinear.*mage"):
        treatment_effect(
            data,
            outcome="bweight",
            treatment="mbsmoke",
            covariates=["mage", "mage_copy"],
            method="ra",
        )


def test_too_few_treated(cattaneo2):
    data = cattaneo2[0]
    small = data[
        (data.mbsmoke == 0) | (data.index.isin(data[data.mbsmoke == 1].index[:3]))
    ]
    with pytest.raises(InsufficientDataError, match="treated patients"):
        _run(small, "aipw")


def test_missing_values_dropped_with_note(cattaneo2):
    data = cattaneo2[0].copy()
    data.loc[data.index[:5], "mage"] = np.nan
    res = treatment_effect(
        data, outcome="bweight", treatment="mbsmoke", covariates=OUT, method="ra"
    )
    assert res.n_obs == len(data) - 5
    assert any("dropped 5" in n for n in res.notes)
