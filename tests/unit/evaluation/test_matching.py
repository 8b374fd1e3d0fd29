"""Matching: Stata teffects psmatch/nnmatch oracles and comparator selection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carepilot.errors import InputDataError, InsufficientDataError
from carepilot.evaluation import balance_table, match_comparators, matching_estimator

PS_COV = ["mmarried", "mage", "fage", "medu", "prenatal1"]


@pytest.mark.parametrize("estimand", ["ate", "atet"])
def test_psmatch_matches_stata(cattaneo2, estimand):
    data, ref = cattaneo2
    spec = ref["estimates"]["psmatch"]
    res = matching_estimator(
        data,
        outcome="bweight",
        treatment="mbsmoke",
        covariates=PS_COV,
        estimand="ate" if estimand == "ate" else "att",
    )
    assert res.headline.estimate == pytest.approx(
        spec[estimand]["published"], abs=ref["tolerance"]["matching_abs"]
    )
    assert res.details["max_matches"] == spec["max_matches"]["published"]


@pytest.mark.parametrize("estimand", ["ate", "atet"])
def test_nnmatch_mahalanobis_exact_biasadj_matches_stata(cattaneo2, estimand):
    data, ref = cattaneo2
    spec = ref["estimates"]["nnmatch"]
    res = matching_estimator(
        data,
        outcome="bweight",
        treatment="mbsmoke",
        covariates=PS_COV,
        distance="mahalanobis",
        exact=["mmarried", "prenatal1"],
        bias_adjust=["mage", "fage", "medu"],
        estimand="ate" if estimand == "ate" else "att",
    )
    assert res.headline.estimate == pytest.approx(
        spec[estimand]["published"], abs=ref["tolerance"]["matching_abs"]
    )


def test_nnmatch_without_bias_adjustment_variant(cattaneo2):
    data, ref = cattaneo2
    expected = ref["estimates"]["nnmatch"]["sensitivity"]["no_bias_adjustment"][0]
    res = matching_estimator(
        data,
        outcome="bweight",
        treatment="mbsmoke",
        covariates=PS_COV,
        distance="mahalanobis",
        exact=["mmarried", "prenatal1"],
    )
    assert res.headline.estimate == pytest.approx(expected, abs=1e-3)


@pytest.fixture(scope="module")
def practices():
    rng = np.random.default_rng(11)
    n = 400
    x1 = rng.normal(0, 1, n)
    x2 = rng.normal(0, 1, n)
    d = (rng.random(n) < 1 / (1 + np.exp(-(-1.2 + 1.0 * x1 + 0.5 * x2)))).astype(int)
    return pd.DataFrame(
        {
            "d": d,
            "x1": x1,
            "x2": x2,
            "imd": rng.integers(1, 6, n),
            "y": 1 + x1 + 2 * d + rng.normal(0, 1, n),
        }
    )


@pytest.mark.parametrize("method", ["psm", "mahalanobis", "cem"])
def test_matching_improves_balance(practices, method):
    m = match_comparators(
        practices,
        treatment="d",
        covariates=["x1", "x2"],
        method=method,
        replace=method != "psm",
        caliper=0.2,
    )
    bal = m.balance
    assert (bal["smd_after"].abs() < bal["smd_before"].abs()).all()
    assert (bal["smd_after"].abs() < 0.2).all()


def test_k_to_one_without_replacement_uses_distinct_controls(practices):
    m = match_comparators(
        practices,
        treatment="d",
        covariates=["x1", "x2"],
        k=2,
        replace=False,
        caliper=None,
    )
    controls = m.matched[m.matched.d == 0]
    assert controls["_weight"].max() <= 1.0
    n_t = m.n_treated_matched
    assert len(controls) <= 2 * n_t
    assert controls["_weight"].sum() == pytest.approx(n_t)


def test_caliper_drops_treated(practices):
    loose = match_comparators(
        practices, treatment="d", covariates=["x1", "x2"], caliper=None
    )
    tight = match_comparators(
        practices, treatment="d", covariates=["x1", "x2"], caliper=0.001
    )
    assert tight.n_treated_unmatched > loose.n_treated_unmatched


def test_exact_matching_on_strata(practices):
    m = match_comparators(practices, treatment="d", covariates=["imd"], method="exact")
    assert m.balance["smd_after"].abs().max() < 1e-9
    ps = match_comparators(
        practices, treatment="d", covariates=["x1"], exact=["imd"], replace=True
    )
    for _, grp in ps.matched.groupby("_subclass"):
        assert grp["imd"].nunique() == 1


def test_balance_table_variance_ratio():
    df = pd.DataFrame({"t": [1] * 4 + [0] * 4, "x": [0, 2, 0, 2, 0, 4, 0, 4.0]})
    b = balance_table(df, treatment="t", covariates=["x"])
    assert b["var_ratio_before"].iloc[0] == pytest.approx(0.25)
    assert b["smd_before"].iloc[0] < 0


def test_too_few_comparators(practices):
    with pytest.raises(InsufficientDataError, match="comparators"):
        match_comparators(
            practices[practices.d == 1]
            .head(5)
            .pipe(lambda d: pd.concat([d, practices[practices.d == 0].head(1)])),
            treatment="d",
            covariates=["x1"],
            k=3,
        )


def test_separation_in_matching(practices):
    with pytest.raises(InputDataError, match="perfect separation"):
        match_comparators(
            practices.assign(leak=practices.d * 1.0), treatment="d", covariates=["leak"]
        )


def test_no_covariates():
    with pytest.raises(InputDataError, match="covariate"):
        match_comparators(
            pd.DataFrame({"d": [0, 1, 0]}), treatment="d", covariates=[], method="psm"
        )
