"""Patient-level evaluation of a pilot: IPW / doubly robust ATT clustered by practice.

`carepilot evaluate --design ipw|aipw` answers "what did the pilot do for the
patients registered at its practices?" rather than "what did it do to practice
rates?". The cohort and the analysis:

* **Windows.** Pre-period: every analysis period before the earliest member
  start. Post-period: every period from the *latest* member start on, so every
  pilot patient is exposed throughout the post window and both arms share the
  same calendar months (the months between the first and the last start are
  left out; with staggered starts they act as a washout for early starters).
* **Cohort.** Patients in the outcome's population (its denominator) in both
  windows. Each patient's index practice is their practice in their last
  pre-period month; **treatment** = registered at a pilot practice at the start
  (practices of other pilots and members starting after the window are left
  out).
* **Outcome.** The patient's post-period rate, ``Σ num / Σ den × multiplier``
  from the engine's patient-level rows (`Engine.patient_level`), on the
  indicator's own scale (e.g. admissions per 1,000 patient-months); covariates:
  the pre-period rate, age (and age²), female, IMD decile and pre-period
  exposure.
* **Estimand.** The ATT by normalised IPW (``ipw``) or the doubly robust
  Sant'Anna-Zhao ATT (``aipw``), with influence functions summed by index
  practice (`carepilot.evaluation.treatment`): treatment is assigned by
  practice, so patient-level SEs would be far too small. The relative effect is
  ATT / counterfactual mean, with a delta-method SE from the same influence
  functions.
* **Inequality groups.** The same ATT within each category (IMD quintile, sex,
  ethnicity, disability, the pilot's chosen inequality); because categories
  share practices, the gap against the reference category and the test that all
  effects are equal use the joint cluster covariance of the category effects
  (their influence functions summed by practice), not independent SEs.

This module does no I/O beyond the engine query; the service writes the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from carepilot.engine.breakdowns import DERIVED
from carepilot.engine.run import Engine
from carepilot.errors import InsufficientDataError, UserError
from carepilot.evaluation import EvaluationResult, balance_table
from carepilot.evaluation.results import Effect
from carepilot.evaluation.treatment import TreatmentFit, treatment_effect_fit
from carepilot.indicators.model import IndicatorDefinition
from carepilot.pilot_evaluation.panel import (
    GROUP_REFERENCE,
    NOT_STATED,
    PilotInfo,
    first_treated_index,
)
from carepilot.schema import categories as cat

PATIENT_DESIGNS: tuple[str, ...] = ("ipw", "aipw")
"""Patient-level designs of `carepilot evaluate --design`."""

COVARIATES: tuple[str, ...] = (
    "pre_rate",
    "age",
    "age_sq",
    "female",
    "imd_decile",
    "pre_months",
)
"""Propensity- and outcome-model covariates (those that vary are used)."""

MIN_PATIENTS_PER_ARM = 20


@dataclass
class PatientCohort:
    """The patient-level analysis dataset of one outcome.

    Attributes:
        data: One row per patient: ``patient_id``, ``practice_id`` (index
            practice), ``treated``, ``pre_num``/``pre_den``/``pre_rate``,
            ``post_num``/``post_den``/``post_rate``, the placebo split
            ``early_rate``/``late_rate``, ``pre_months``, ``age``, ``age_sq``,
            ``female``, ``imd_decile`` and the inequality categories
            ``imd_quintile``, ``sex``, ``ethnicity_5``, ``disability`` (plus the
            pilot's chosen inequality when another breakdown).
        pre: First and last pre-period index (1-based t).
        post: First and last post-period index.
        notes: What was left out and why.
    """

    data: pd.DataFrame
    pre: tuple[int, int]
    post: tuple[int, int]
    notes: list[str] = field(default_factory=list[str])


def patient_windows(
    engine: Engine, pilot: PilotInfo
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Pre window (before the earliest start) and post window (from the latest start).

    Raises:
        InsufficientDataError: fewer than 2 pre-periods or no post-period.
    """
    starts = [first_treated_index(engine.periods, d) for d in pilot.members.values()]
    starts = [s for s in starts if s > 0]
    n = len(engine.periods)
    if not starts:
        raise InsufficientDataError(
            f"pilot {pilot.pilot_id!r}: no member practice starts inside the analysis "
            "window, so there is no post-period; extend the window (--to)."
        )
    first, last = min(starts), max(starts)
    if first < 3:
        raise InsufficientDataError(
            f"pilot {pilot.pilot_id!r}: fewer than 2 pre-periods before the first start; "
            "start the analysis earlier (--from)."
        )
    return (1, first - 1), (last, n)


def build_patient_cohort(
    engine: Engine,
    definition: IndicatorDefinition,
    pilot: PilotInfo,
    *,
    exclude_practices: Sequence[int] = (),
    extra_breakdowns: Sequence[str] = (),
) -> PatientCohort:
    """Pivot the engine's patient x period rows into one row per patient.

    The aggregation runs in the database (Ibis): only one row per patient comes
    back.

    Raises:
        InsufficientDataError: too few pilot or comparison patients in the cohort.
    """
    pre, post = patient_windows(engine, pilot)
    mid = (pre[0] + pre[1]) // 2  # placebo split of the pre-period
    pl = engine.patient_level(definition).mutate(t=ibis._.period_id + 1)
    c = ibis._  # deferred column references (typed loosely, resolved per table)
    is_pre = c.t <= pre[1]
    is_post = c.t >= post[0]
    is_early = c.t <= mid
    attrs = ["age", "sex", "ethnicity", "disability", "imd_decile"]
    raw_extra = [DERIVED[b][0] for b in extra_breakdowns if b in DERIVED]
    attrs += [a for a in raw_extra if a not in attrs and a in pl.columns]
    pre_rows = pl.filter(is_pre)
    last_pre = pre_rows.group_by("patient_id").aggregate(
        practice_id=c.practice_pseudo_id.argmax(c.period_id),
        **{a: c[a].argmax(c.period_id) for a in attrs},
    )
    sums = pl.group_by("patient_id").aggregate(
        pre_num=is_pre.ifelse(c.num, 0.0).sum(),
        pre_den=is_pre.ifelse(c.den, 0.0).sum(),
        early_num=(is_pre & is_early).ifelse(c.num, 0.0).sum(),
        early_den=(is_pre & is_early).ifelse(c.den, 0.0).sum(),
        late_num=(is_pre & ~is_early).ifelse(c.num, 0.0).sum(),
        late_den=(is_pre & ~is_early).ifelse(c.den, 0.0).sum(),
        post_num=is_post.ifelse(c.num, 0.0).sum(),
        post_den=is_post.ifelse(c.den, 0.0).sum(),
        pre_months=(is_pre & (c.den > 0)).ifelse(1.0, 0.0).sum(),
    )
    joined = sums.join(last_pre, "patient_id")
    data = joined.filter((c.pre_den > 0) & (c.post_den > 0)).to_pandas()
    notes: list[str] = []
    excluded = data["practice_id"].isin(list(exclude_practices))
    if excluded.any():
        notes.append(
            f"{int(excluded.sum())} patient(s) registered at practices of other pilots "
            "(or members starting after the window) were left out."
        )
    data = data[~excluded].copy()
    mult = float(definition.multiplier)
    for part in ("pre", "post", "early", "late"):
        den = data[f"{part}_den"].astype(float)
        data[f"{part}_rate"] = (
            data[f"{part}_num"].astype(float) / den.where(den > 0) * mult
        )
    data["treated"] = data["practice_id"].isin(list(pilot.members)).astype(int)
    data["age"] = pd.to_numeric(data["age"], errors="coerce").astype(float)
    data["age_sq"] = (data["age"] / 10.0) ** 2
    data["female"] = (data["sex"].astype(str).str.lower() == "female").astype(float)
    data["imd_decile"] = pd.to_numeric(data["imd_decile"], errors="coerce").astype(
        float
    )
    data["pre_months"] = data["pre_months"].astype(float)
    for breakdown in ("imd_quintile", "ethnicity_5", "disability", *extra_breakdowns):
        if breakdown in DERIVED and breakdown not in data:
            raw, fn = DERIVED[breakdown]
            data[breakdown] = [
                cat.UNKNOWN if pd.isna(v) else fn(str(v)) for v in data[raw].tolist()
            ]
    data = data.sort_values("patient_id").reset_index(drop=True)
    n1, n0 = int(data["treated"].sum()), int((1 - data["treated"]).sum())
    if min(n1, n0) < MIN_PATIENTS_PER_ARM:
        raise InsufficientDataError(
            f"outcome {definition.id!r}: the patient cohort has {n1} pilot and {n0} "
            f"comparison patients in the outcome's population in both windows; need at "
            f"least {MIN_PATIENTS_PER_ARM} each. Use a practice-level design "
            "(--design staggered) or a longer window."
        )
    return PatientCohort(data, pre, post, notes)


def _usable(data: pd.DataFrame, covariates: Sequence[str]) -> list[str]:
    """Covariates that vary within both arms (constant ones would be collinear)."""
    out: list[str] = []
    for c in covariates:
        col = data[c]
        if col.notna().all() and all(
            col[data["treated"] == arm].nunique() > 1 for arm in (0, 1)
        ):
            out.append(c)
    return out


def _fit(
    data: pd.DataFrame, method: str, outcome: str, covariates: Sequence[str]
) -> TreatmentFit:
    return treatment_effect_fit(
        data,
        outcome=outcome,
        treatment="treated",
        covariates=_usable(data, covariates),
        method=method,
        estimand="att",
        cluster="practice_id",
        cluster_df="arms",
    )


def _relative(
    fit: TreatmentFit, n_clusters: int, clusters: pd.Series, df: int
) -> Effect:
    """ATT / counterfactual mean with a clustered delta-method SE and t(df) CI."""
    mu1 = float(fit.result.details["pomean_treated"])
    mu0 = float(fit.result.details["pomean_control"])
    if mu0 == 0:
        return Effect("relative", float("nan"))
    po = fit.pomean_influence
    infl = (po["treated"] - (mu1 / mu0) * po["control"]) / mu0
    se = _cluster_se(infl, clusters, n_clusters)
    return Effect.from_normal("relative", mu1 / mu0 - 1.0, se, df=df)


def _cluster_se(infl: pd.Series, clusters: pd.Series, n_clusters: int) -> float:
    sums = infl.groupby(clusters.loc[infl.index]).sum()
    n = len(infl)
    return float(np.sqrt(n_clusters / (n_clusters - 1) * np.sum(sums**2)) / n)


def patient_effect(
    cohort: PatientCohort,
    method: str,
    *,
    outcome: str = "post_rate",
    baseline: str = "pre_rate",
    label: str | None = None,
) -> tuple[EvaluationResult, TreatmentFit]:
    """The ATT (and relative effect) of the pilot on its patients, clustered by practice."""
    data = cohort.data.dropna(subset=[outcome, baseline])
    covs = [baseline if c == "pre_rate" else c for c in COVARIATES]
    fit = _fit(data, method, outcome, covs)
    res = fit.result
    g = int(res.details["n_clusters"])
    res.effects.append(_relative(fit, g, data["practice_id"], int(res.details["df"])))
    res.estimand = label or (
        "ATT on patients registered at pilot practices (doubly robust, Sant'Anna-Zhao)"
        if method == "aipw"
        else "ATT on patients registered at pilot practices (normalised IPW)"
    )
    res.details["covariates_used"] = _usable(data, covs)
    res.details["outcome"] = outcome
    return res, fit


def patient_balance(cohort: PatientCohort, fit: TreatmentFit) -> pd.DataFrame:
    """SMDs and variance ratios before and after ATT weighting (w = p/(1-p) for controls)."""
    data = cohort.data.loc[fit.influence.index]
    covs = list(fit.result.details.get("covariates", []))
    if fit.propensity is None or not covs:
        return balance_table(data, treatment="treated", covariates=covs)
    p = fit.propensity
    w = np.where(data["treated"] == 1, 1.0, p / (1 - p))
    return balance_table(
        data.assign(_w=w), treatment="treated", covariates=covs, weights="_w"
    )


def patient_sensitivity(
    cohort: PatientCohort, method: str
) -> dict[str, EvaluationResult | str]:
    """Alternative estimator and a placebo on the pre-period (should show no effect)."""
    out: dict[str, EvaluationResult | str] = {}
    other = "ipw" if method == "aipw" else "aipw"
    names = {"ipw": "IPW (propensity model only)", "aipw": "doubly robust AIPW"}
    try:
        out[f"alternative estimator: {names[other]}"] = patient_effect(cohort, other)[0]
    except UserError as exc:
        out[f"alternative estimator: {names[other]}"] = f"not estimable: {exc}"
    placebo = (
        f"placebo: second half of the pre-period (t {(cohort.pre[0] + cohort.pre[1]) // 2 + 1}"
        f"-{cohort.pre[1]}) as outcome, first half as baseline"
    )
    try:
        out[placebo] = patient_effect(
            cohort, method, outcome="late_rate", baseline="early_rate",
            label="placebo ATT before the pilot started (expected 0)",
        )[0]  # fmt: skip
    except UserError as exc:
        out[placebo] = f"not estimable: {exc}"
    return out


def patient_group_effects(
    cohort: PatientCohort,
    method: str,
    breakdown: str,
    label: str,
) -> EvaluationResult:
    """ATT by category of one inequality breakdown, gaps with the joint cluster covariance.

    Each category's influence function is scaled to a per-patient contribution
    (IF_i / n_g) and summed by practice; the covariance of two category effects is
    G/(G-1) Σ_c S_gc S_hc over the G practices, so a practice's shock that moves
    both categories does not make the gap look more certain than it is.
    Intervals use t with G_eff - 1 df, G_eff = min(pilot, comparison practices)
    (as the main effect). The test that all category effects are equal is the
    Wald statistic W of the q gaps referred to Hotelling's small-sample form,
    W (G_eff - q) / (q (G_eff - 1)) ~ F(q, G_eff - q).

    Raises:
        InsufficientDataError: fewer than two estimable categories.
    """
    data = cohort.data.dropna(subset=["post_rate", "pre_rate"])
    if breakdown not in data:
        raise InsufficientDataError(f"no {breakdown} attribute on the patient rows.")
    levels = sorted(
        v
        for v in data[breakdown].astype(str).unique()
        if v not in NOT_STATED and v != cat.UNKNOWN
    )
    clusters = data["practice_id"]
    n_clusters = int(clusters.nunique())
    g_eff = min(
        int(data.loc[data["treated"] == 1, "practice_id"].nunique()),
        int(data.loc[data["treated"] == 0, "practice_id"].nunique()),
    )
    df = max(g_eff - 1, 1)
    contributions: dict[str, pd.Series] = {}
    effects: dict[str, Effect] = {}
    rows: list[dict[str, object]] = []
    notes: list[str] = []
    covs = [c for c in COVARIATES if not (breakdown == "sex" and c == "female")]
    for lv in levels:
        sub = data[data[breakdown].astype(str) == lv]
        try:
            if (
                min(int(sub["treated"].sum()), int((1 - sub["treated"]).sum()))
                < MIN_PATIENTS_PER_ARM
            ):
                raise InsufficientDataError(
                    f"fewer than {MIN_PATIENTS_PER_ARM} pilot or comparison patients"
                )
            fit = _fit(sub, method, "post_rate", covs)
        except UserError as exc:
            notes.append(f"{label} = {lv}: not estimated ({exc})")
            continue
        contrib = fit.influence / len(fit.influence)
        contributions[lv] = contrib.groupby(clusters.loc[contrib.index]).sum()
        eff = fit.result.headline
        se = float(
            np.sqrt(n_clusters / (n_clusters - 1) * np.sum(contributions[lv] ** 2))
        )
        effects[lv] = Effect.from_normal(
            f"by:{breakdown}={lv}", eff.estimate, se, df=df
        )
        rows.append(
            {
                "group": lv,
                "estimate": eff.estimate,
                "se": se,
                "ci_low": effects[lv].ci_low,
                "ci_high": effects[lv].ci_high,
                "n_obs": fit.result.n_obs,
                "n_treated": fit.result.n_treated,
                "scale": "difference",
            }
        )
    if len(effects) < 2:
        raise InsufficientDataError(
            f"effects by {label}: fewer than two categories with enough pilot and "
            f"comparison patients. {' '.join(notes)}"
        )
    ref = GROUP_REFERENCE.get(breakdown)
    ref = ref if ref in effects else next(iter(effects))
    s = pd.DataFrame(contributions).fillna(0.0)  # practices x categories
    cov = n_clusters / (n_clusters - 1) * (s.T @ s)
    others = [lv for lv in effects if lv != ref]
    gaps: list[Effect] = []
    diffs = np.array([effects[lv].estimate - effects[ref].estimate for lv in others])
    contrast = np.zeros((len(others), len(s.columns)))
    cols = list(s.columns)
    for i, lv in enumerate(others):
        contrast[i, cols.index(lv)] = 1.0
        contrast[i, cols.index(ref)] = -1.0
        var = float(contrast[i] @ cov.to_numpy() @ contrast[i])
        gaps.append(
            Effect.from_normal(
                f"gap:{breakdown}={lv}-vs-{ref}",
                float(diffs[i]),
                float(np.sqrt(max(var, 0.0))),
                df=df,
            )
        )
    vc = contrast @ cov.to_numpy() @ contrast.T
    q = len(others)
    wald = float(diffs @ np.linalg.pinv(vc) @ diffs)
    if g_eff - q > 0:
        f_stat = wald * (g_eff - q) / (q * (g_eff - 1))
        test = {
            "test": "Wald, joint cluster covariance, F(q, G_eff - q)",
            "statistic": f_stat,
            "df": q,
            "df_denominator": g_eff - q,
            "p_value": float(stats.f.sf(f_stat, q, g_eff - q)),
        }
    else:
        test = {"test": "not available (too few practices)", "statistic": None,
                "df": q, "p_value": None}  # fmt: skip
    return EvaluationResult(
        method=f"by-group ({method})",
        estimand=f"ATT by {label}; gap vs {ref} (joint cluster covariance)",
        effects=[*effects.values(), *gaps],
        n_obs=int(sum(int(str(r["n_obs"])) for r in rows)),
        n_units=n_clusters,
        details={"group": breakdown, "reference": ref, "heterogeneity_test": test},
        tables={"by_group": pd.DataFrame(rows)},
        notes=notes,
    )


def cohort_table(cohort: PatientCohort) -> pd.DataFrame:
    """Patients and practices by arm, mean pre/post rates (patient counts rounded to 5)."""
    d = cohort.data
    rows = []
    for arm, name in ((1, "pilot practices"), (0, "comparison practices")):
        part = d[d["treated"] == arm]
        rows.append(
            {
                "arm": name,
                "practices": int(part["practice_id"].nunique()),
                "patients (rounded to 5)": int(5 * round(len(part) / 5)),
                "mean pre-period rate": float(part["pre_rate"].mean()),
                "mean post-period rate": float(part["post_rate"].mean()),
            }
        )
    return pd.DataFrame(rows)
