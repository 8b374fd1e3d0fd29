"""Cluster-robust SEs for RA / IPW / AIPW / IPWRA (treatment_effect(cluster=...))."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.treatment.treatment_effects import TreatmentEffect

from carepilot.errors import InputDataError
from carepilot.evaluation import PanelSpec, default_registry, treatment_effect
from carepilot.evaluation.treatment import treatment_effect_fit

METHODS = ["ra", "ipw", "aipw", "ipwra"]
ESTIMANDS = ["ate", "att"]

# Three practices, seven patients: cluster, treated, outcome.
HAND = pd.DataFrame(
    {
        "practice": ["A", "A", "B", "B", "C", "C", "C"],
        "d": [1, 0, 1, 0, 1, 0, 0],
        "y": [4.0, 1.0, 6.0, 3.0, 5.0, 2.0, 4.0],
    }
)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("estimand", ESTIMANDS)
def test_hand_computed_three_clusters(method, estimand):
    """No covariates: every estimator is the difference in means, 5 - 2.5 = 2.5.

    Influence function IF_i = n[d_i(y_i - 5)/3 - (1 - d_i)(y_i - 2.5)/4]; cluster
    sums are n·(1/24, 5/24, -6/24), so
    Var = G/(G-1) · Σ_g S_g² / n² = 3/2 · 62/576 = 93/576 and SE = √93/24.
    """
    res = treatment_effect(
        HAND,
        outcome="y",
        treatment="d",
        method=method,
        estimand=estimand,
        cluster="practice",
    )
    eff = res.headline
    se = np.sqrt(93) / 24
    assert eff.estimate == pytest.approx(2.5, abs=1e-12)
    assert eff.se == pytest.approx(se, rel=1e-9)
    crit = stats.t.ppf(0.975, 2)  # G - 1 = 2 degrees of freedom
    assert eff.ci_low == pytest.approx(2.5 - crit * se, rel=1e-9)
    assert eff.ci_high == pytest.approx(2.5 + crit * se, rel=1e-9)
    assert eff.p_value == pytest.approx(2 * stats.t.sf(2.5 / se, 2), rel=1e-9)
    assert res.details["n_clusters"] == 3
    assert res.details["df"] == 2
    assert "cluster-robust" in res.details["se_type"]
    assert any("few clusters" in n for n in res.notes)


def _clustered(seed: int, n_clusters: int = 30, size: int = 20) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_clusters), size)
    d = (rng.random(n_clusters) < 0.4)[g].astype(float)
    x = rng.normal(0, 1, len(g)) + 0.3 * d
    y = 1 + 0.5 * d + x + rng.normal(0, 1, n_clusters)[g] + rng.normal(0, 1, len(g))
    return pd.DataFrame({"y": y, "d": d, "x": x, "g": g})


def test_ra_without_covariates_equals_statsmodels_cluster_ols():
    """RA with no covariates = OLS of y on (1, d); its CR1 SE is statsmodels' up to
    statsmodels' extra (n-1)/(n-k) factor, which M-estimators do not apply."""
    data = _clustered(5)
    ols = sm.OLS(data.y, sm.add_constant(data.d)).fit(
        cov_type="cluster", cov_kwds={"groups": data.g}
    )
    n, k = len(data), 2
    expected = float(ols.bse["d"]) * np.sqrt((n - k) / (n - 1))
    for estimand in ESTIMANDS:
        res = treatment_effect(
            data,
            outcome="y",
            treatment="d",
            method="ra",
            estimand=estimand,
            cluster="g",
        )
        assert res.headline.estimate == pytest.approx(float(ols.params["d"]), abs=1e-12)
        assert res.headline.se == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize(
    ("method", "group"), [("ipw", "all"), ("ipw", 1), ("aipw", "all")]
)
def test_matches_statsmodels_moment_conditions_clustered(method, group):
    """Independent moments: statsmodels' TreatmentEffect GMM moment conditions and
    Jacobian, with the influence functions summed by cluster, give our SE."""
    data = _clustered(11)
    x = sm.add_constant(data.x.to_numpy())
    d, y = data.d.to_numpy(), data.y.to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        te = TreatmentEffect(
            sm.OLS(y, x), d.astype(int), results_select=sm.Logit(d, x).fit(disp=0)
        )
        res = te.aipw() if method == "aipw" else te.ipw(effect_group=group)
    gmm = res.results_gmm  # pyright: ignore[reportAttributeAccessIssue]
    psi = gmm.model.momcond(gmm.params)
    infl = psi @ np.linalg.inv(gmm.model.gradient_momcond(gmm.params)).T
    sums = np.bincount(data.g, weights=infl[:, 0])
    n_g = sums.size
    se_sm = np.sqrt(n_g / (n_g - 1) * np.sum(sums**2)) / len(y)
    ours = treatment_effect(
        data,
        outcome="y",
        treatment="d",
        covariates=["x"],
        method=method,
        estimand="ate" if group == "all" else "att",
        cluster="g",
    )
    assert ours.headline.estimate == pytest.approx(float(gmm.params[0]), abs=1e-8)
    assert ours.headline.se == pytest.approx(se_sm, rel=1e-6)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("estimand", ESTIMANDS)
def test_singleton_clusters_reduce_to_iid_sandwich(method, estimand):
    data = _clustered(2).reset_index(names="row")
    kw = {"outcome": "y", "treatment": "d", "covariates": ["x"], "method": method}
    iid = treatment_effect(data, estimand=estimand, **kw).headline
    cl = treatment_effect(data, estimand=estimand, cluster="row", **kw).headline
    n = len(data)
    assert cl.estimate == iid.estimate
    assert cl.se == pytest.approx(iid.se * np.sqrt(n / (n - 1)), rel=1e-10)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), shift=st.floats(-50, 50), scale=st.floats(0.1, 10))
def test_cluster_se_equivariant_and_label_invariant(seed, shift, scale):
    """SE scales with the outcome, ignores shifts and how clusters are labelled."""
    data = _clustered(seed, n_clusters=12, size=8)
    if data.d.nunique() < 2:
        return
    base = treatment_effect_fit(
        data,
        outcome="y",
        treatment="d",
        covariates=["x"],
        method="aipw",
        estimand="att",
        cluster="g",
    )
    moved = data.assign(y=shift + scale * data.y, g=(data.g * 7 + 3).astype(str))
    other = treatment_effect(
        moved,
        outcome="y",
        treatment="d",
        covariates=["x"],
        method="aipw",
        estimand="att",
        cluster="g",
    )
    assert other.headline.se == pytest.approx(scale * base.result.headline.se, rel=1e-6)
    assert base.influence.mean() == pytest.approx(
        0.0, abs=1e-6 * base.influence.abs().max()
    )


def test_cluster_shocks_iid_undercovers_clustered_covers():
    """40 practices (12 treated, by practice), 50 patients each, practice shock with
    ICC 0.5: patient-level SEs cover ~30 %, clustered ones ~95 % (200 seeds, ~5 s)."""
    truth, reps = 0.5, 200
    hits = {"iid": 0, "cluster": 0}
    for seed in range(reps):
        rng = np.random.default_rng(seed)
        g = np.repeat(np.arange(40), 50)
        d = np.isin(np.arange(40), rng.choice(40, 12, replace=False))[g].astype(float)
        x = rng.normal(0, 1, g.size) + 0.5 * d
        y = 1 + truth * d + x + rng.normal(0, 1, 40)[g] + rng.normal(0, 1, g.size)
        data = pd.DataFrame({"y": y, "d": d, "x": x, "g": g})
        kw = {"outcome": "y", "treatment": "d", "covariates": ["x"], "estimand": "att"}
        method = ("ra", "ipw", "aipw", "ipwra")[seed % 4]
        for key, cl in (("iid", None), ("cluster", "g")):
            e = treatment_effect(data, method=method, cluster=cl, **kw).headline
            assert e.ci_low is not None and e.ci_high is not None
            hits[key] += e.ci_low <= truth <= e.ci_high
    assert hits["iid"] / reps < 0.5
    # nominal 95 %; MC SE 1.5 %: accept 0.90-0.99
    assert 0.90 <= hits["cluster"] / reps <= 0.99


def test_cluster_df_by_arms():
    data = _clustered(9)
    kw = {"outcome": "y", "treatment": "d", "covariates": ["x"], "cluster": "g"}
    by_g = treatment_effect(data, **kw)
    by_arm = treatment_effect(data, cluster_df="arms", **kw)
    g1 = by_arm.details["n_clusters_treated"]
    g0 = by_arm.details["n_clusters_control"]
    assert by_arm.details["df"] == min(g1, g0) - 1
    assert by_g.details["df"] == 29
    assert by_arm.headline.se == by_g.headline.se
    a, b = by_arm.headline, by_g.headline
    assert a.ci_low is not None and a.ci_high is not None
    assert b.ci_low is not None and b.ci_high is not None
    assert a.ci_high - a.ci_low > b.ci_high - b.ci_low
    with pytest.raises(InputDataError, match="cluster_df"):
        treatment_effect(data, cluster_df="g", **kw)


def test_bad_cluster_column():
    with pytest.raises(InputDataError, match="cluster column 'one'.*at least 2"):
        treatment_effect(
            HAND.assign(one=1), outcome="y", treatment="d", method="ra", cluster="one"
        )
    with pytest.raises(InputDataError, match="'nope' not found"):
        treatment_effect(HAND, outcome="y", treatment="d", method="ra", cluster="nope")


def test_registry_passes_cluster_and_estimand():
    data = _clustered(4)
    res = default_registry().run(
        "aipw",
        data,
        PanelSpec(
            outcome="y",
            treated="d",
            covariates=["x"],
            cluster="g",
            options={"estimand": "att"},
        ),
    )
    assert res.estimand == "ATT"
    assert res.details["n_clusters"] == 30
