"""Patient-level pilot evaluation on hand-made cohorts (no database)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carepilot.errors import InsufficientDataError
from carepilot.evaluation import treatment_effect
from carepilot.pilot_evaluation.patients import (
    PatientCohort,
    cohort_table,
    patient_balance,
    patient_effect,
    patient_group_effects,
    patient_sensitivity,
)


def _cohort(
    seed: int,
    *,
    effect: float = -2.0,
    practices: int = 30,
    treated: int = 10,
    size: int = 60,
    shared_shock: float = 1.0,
    by_practice_group: bool = False,
) -> PatientCohort:
    rng = np.random.default_rng(seed)
    pid = np.repeat(np.arange(practices), size)
    d = (pid < treated).astype(int)
    n = pid.size
    age = rng.integers(18, 90, n).astype(float)
    if by_practice_group:  # each practice holds one group only
        group = np.where(pid % 2 == 0, "a", "b")
    else:
        group = np.where(rng.random(n) < 0.5, "a", "b")
    shock = rng.normal(0, shared_shock, practices)[pid]
    pre = 10 + 0.05 * age + rng.normal(0, 2, n) + shock
    post = pre + effect * d + rng.normal(0, 2, n) + shock
    early = pre + rng.normal(0, 1, n)
    late = pre + rng.normal(0, 1, n)
    data = pd.DataFrame(
        {
            "patient_id": np.arange(n),
            "practice_id": pid,
            "treated": d,
            "pre_rate": pre,
            "post_rate": post,
            "early_rate": early,
            "late_rate": late,
            "age": age,
            "age_sq": (age / 10) ** 2,
            "female": rng.integers(0, 2, n).astype(float),
            "imd_decile": rng.integers(1, 11, n).astype(float),
            "pre_months": np.full(n, 12.0),
            "sex": np.where(rng.random(n) < 0.5, "female", "male"),
            "grp": group,
        }
    )
    data["imd_quintile"] = ((data["imd_decile"] + 1) // 2).astype(int).astype(str)
    return PatientCohort(data, (1, 12), (19, 30))


@pytest.mark.parametrize("method", ["ipw", "aipw"])
def test_main_effect_is_clustered_att_with_relative(method):
    cohort = _cohort(1)
    res, fit = patient_effect(cohort, method)
    direct = treatment_effect(
        cohort.data,
        outcome="post_rate",
        treatment="treated",
        covariates=res.details["covariates_used"],
        method=method,
        estimand="att",
        cluster="practice_id",
    )
    assert res.headline.estimate == pytest.approx(direct.headline.estimate)
    assert res.headline.se == pytest.approx(direct.headline.se)
    assert res.details["n_clusters"] == 30
    assert res.details["df"] == 9  # min(10 pilot, 20 comparison practices) - 1
    # pre_months is constant: left out rather than failing as collinear
    assert "pre_months" not in res.details["covariates_used"]
    rel = res.effect("relative")
    mu1, mu0 = res.details["pomean_treated"], res.details["pomean_control"]
    assert rel.estimate == pytest.approx(mu1 / mu0 - 1)
    assert rel.ci_low is not None and rel.ci_high is not None
    assert rel.ci_low < rel.estimate < rel.ci_high
    assert fit.propensity is not None


def test_relative_effect_se_is_delta_method_on_clustered_pomean_covariance():
    cohort = _cohort(2)
    res, fit = patient_effect(cohort, "aipw")
    mu1, mu0 = res.details["pomean_treated"], res.details["pomean_control"]
    sums = fit.pomean_influence.groupby(cohort.data["practice_id"]).sum().to_numpy()
    g, n = sums.shape[0], len(cohort.data)
    cov = g / (g - 1) * sums.T @ sums / n**2
    grad = np.array([1 / mu0, -mu1 / mu0**2])
    assert res.effect("relative").se == pytest.approx(
        float(np.sqrt(grad @ cov @ grad)), rel=1e-9
    )


def test_balance_after_weighting_is_better():
    cohort = _cohort(3)
    # confound: older patients at pilot practices
    cohort.data.loc[cohort.data["treated"] == 1, "age"] += 8
    cohort.data["age_sq"] = (cohort.data["age"] / 10) ** 2
    _, fit = patient_effect(cohort, "ipw")
    bal = patient_balance(cohort, fit).set_index("covariate").to_dict("index")["age"]
    assert abs(bal["smd_before"]) > 0.3
    assert abs(bal["smd_after"]) < 0.05


def test_placebo_and_alternative_estimator():
    sens = patient_sensitivity(_cohort(4), "aipw")
    assert set(map(type, sens.values())) != {str}
    placebo = next(v for k, v in sens.items() if k.startswith("placebo"))
    assert not isinstance(placebo, str)
    direct = treatment_effect(
        _cohort(4).data,
        outcome="late_rate",
        treatment="treated",
        covariates=["early_rate", "age", "age_sq", "female", "imd_decile"],
        method="aipw",
        estimand="att",
        cluster="practice_id",
    )
    assert placebo.headline.estimate == pytest.approx(direct.headline.estimate)
    assert placebo.headline.se == pytest.approx(direct.headline.se)
    assert any(k.startswith("alternative estimator: IPW") for k in sens)


def test_group_gap_uses_joint_covariance_when_groups_share_practices():
    """Groups mixed within practices share the practice shock: the gap's SE is much
    smaller than hypot(se_a, se_b), which would treat them as independent."""
    res = patient_group_effects(_cohort(5, shared_shock=3.0), "aipw", "grp", "group")
    a, b = res.effect("by:grp=a"), res.effect("by:grp=b")
    gap = res.effect("gap:grp=b-vs-a")
    assert gap.estimate == pytest.approx(b.estimate - a.estimate)
    assert a.se is not None and b.se is not None and gap.se is not None
    assert gap.se < 0.6 * np.hypot(a.se, b.se)
    test = res.details["heterogeneity_test"]
    # 10 pilot practices: G_eff = 10, F(1, 9) = squared t of the gap
    assert test["df"] == 1 and test["df_denominator"] == 9
    assert test["statistic"] == pytest.approx((gap.estimate / gap.se) ** 2, rel=1e-9)


def test_group_gap_reduces_to_independent_when_groups_split_practices():
    res = patient_group_effects(
        _cohort(6, by_practice_group=True), "ipw", "grp", "group"
    )
    a, b = res.effect("by:grp=a"), res.effect("by:grp=b")
    gap = res.effect("gap:grp=b-vs-a")
    assert a.se is not None and b.se is not None
    assert gap.se == pytest.approx(np.hypot(a.se, b.se), rel=1e-9)


def test_group_effects_need_two_estimable_groups():
    cohort = _cohort(7)
    cohort.data["grp"] = "a"
    with pytest.raises(InsufficientDataError, match="fewer than two categories"):
        patient_group_effects(cohort, "aipw", "grp", "group")


def test_cohort_table_rounds_patient_counts():
    table = cohort_table(_cohort(8, size=61))
    assert table["patients (rounded to 5)"].tolist() == [610, 1220]
    assert table["practices"].tolist() == [10, 20]
