"""RA / IPW / AIPW / IPWRA: Stata teffects manual examples on cattaneo2."""

from __future__ import annotations

import numpy as np
import pytest

from carepilot.errors import InputDataError, InsufficientDataError, UnsupportedOperation
from carepilot.evaluation import treatment_effect

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


def test_aipw_att_is_unsupported(cattaneo2):
    with pytest.raises(UnsupportedOperation, match="ipwra"):
        _run(cattaneo2[0], "aipw", "att")


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
