"""Effects by inequality group and tests that the gap changed.

* `effects_by_group` runs any estimator on each subgroup (deprivation quintile,
  ethnicity, sex, disability, the pilot's chosen inequality) and compares each
  group's effect with a reference group: gap change = tau_g - tau_ref with
  SE = sqrt(se_g² + se_ref²) (independent subsamples: valid when the group is a
  characteristic of the clustering unit, e.g. practice deprivation quintile),
  plus a Wald/Cochran Q test that all group effects are equal,
  Q = sum_g (tau_g - tau_bar)²/se_g², tau_bar the inverse-variance mean, chi²(G-1).
* `twfe_gap_change` estimates the gap change inside one regression:
  y_it = a_i + l_t + tau·D_it + sum_g delta_g·D_it·1[group_i = g] + e_it, so
  delta_g is the difference-in-difference-in-differences (change in the gap
  between group g and the reference), with cluster-robust SEs that stay valid
  when groups share clusters (patients of one practice in several groups).

Pure module.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from linearmodels.panel import PanelOLS
from linearmodels.panel.utility import AbsorbingEffectError
from scipy import stats

from carepilot.errors import InputDataError, InsufficientDataError, UserError
from carepilot.evaluation._checks import (
    absorbed_treatment,
    binary_column,
    drop_missing,
    require_columns,
)
from carepilot.evaluation.results import Z95, Effect, EvaluationResult


def effects_by_group(
    data: pd.DataFrame,
    *,
    group: str,
    estimate: Callable[[pd.DataFrame], EvaluationResult],
    reference: object | None = None,
    effect_name: str | None = None,
) -> EvaluationResult:
    """Estimate an effect separately by group and test whether the gap changed.

    Args:
        data: The full analysis data.
        group: Column holding the inequality group.
        estimate: Function running the chosen method on a subset.
        reference: Reference group (default: the first group in sort order,
            e.g. the least deprived quintile).
        effect_name: Which effect of each result to compare (default headline).

    Returns:
        Effects ``"group:<g>"`` and ``"gap:<g>-vs-<ref>"``; details hold the
        heterogeneity test; table ``by_group``. Groups where the method cannot run
        (too few units) are listed in notes instead of failing the whole analysis.
    """
    require_columns(data, [group], "effects by group")
    levels = sorted(data[group].dropna().unique().tolist(), key=str)
    if len(levels) < 2:
        raise InsufficientDataError(
            f"effects by group: column {group!r} has {len(levels)} group(s); need at least 2 to compare."
        )
    ref = levels[0] if reference is None else reference
    if ref not in levels:
        raise InputDataError(
            f"effects by group: reference group {ref!r} not found in {group!r}; groups are {levels}."
        )
    rows, notes, effects = [], [], []
    by: dict[object, Effect] = {}
    for lv in levels:
        try:
            res = estimate(data[data[group] == lv])
        except UserError as exc:
            notes.append(f"group {lv}: not estimated ({exc})")
            continue
        eff = res.headline if effect_name is None else res.effect(effect_name)
        by[lv] = eff
        rows.append(
            {
                "group": str(lv),
                "estimate": eff.estimate,
                "se": eff.se,
                "ci_low": eff.ci_low,
                "ci_high": eff.ci_high,
                "n_obs": res.n_obs,
                "scale": eff.scale,
            }
        )
        effects.append(
            Effect(
                f"by:{group}={lv}",
                eff.estimate,
                eff.se,
                eff.ci_low,
                eff.ci_high,
                eff.p_value,
                eff.scale,
            )
        )
    if ref not in by:
        raise InsufficientDataError(
            f"effects by group: the reference group {ref!r} could not be estimated; choose "
            f"another reference. {' '.join(notes)} (A covariate that is constant within a "
            f"group, such as {group!r} itself, cannot be used inside the groups.)"
        )
    ratio = by[ref].scale == "ratio"
    tr = (lambda v: float(np.log(v))) if ratio else (lambda v: float(v))
    for lv, eff in by.items():
        ref_se = by[ref].se
        if lv == ref or eff.se is None or ref_se is None:
            continue
        diff = tr(eff.estimate) - tr(by[ref].estimate)
        se = float(np.hypot(eff.se, ref_se))
        gap = Effect.from_normal(f"gap:{group}={lv}-vs-{ref}", diff, se)
        if ratio:
            gap = Effect.ratio_from_log(f"gap:{group}={lv}-vs-{ref}", diff, se)
        effects.append(gap)
    test = _homogeneity(
        [tr(e.estimate) for e in by.values() if e.se],
        [e.se for e in by.values() if e.se],
    )
    return EvaluationResult(
        method="by-group",
        estimand=f"effect by {group}; gap change vs {ref}",
        effects=effects,
        n_obs=int(sum(r["n_obs"] for r in rows)),
        details={"group": group, "reference": str(ref), "heterogeneity_test": test},
        tables={"by_group": pd.DataFrame(rows)},
        notes=notes,
    )


def _homogeneity(est: list[float], se: list[float]) -> dict[str, float | int | None]:
    if len(est) < 2:
        return {"statistic": None, "df": 0, "p_value": None}
    e, s = np.asarray(est), np.asarray(se, dtype=float)
    w = 1 / s**2
    mean = float(np.sum(w * e) / w.sum())
    q = float(np.sum(w * (e - mean) ** 2))
    return {
        "statistic": q,
        "df": len(e) - 1,
        "p_value": float(stats.chi2.sf(q, len(e) - 1)),
    }


def twfe_gap_change(
    data: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    treated: str,
    group: str,
    reference: object | None = None,
    cluster: str | None = None,
) -> EvaluationResult:
    """Change in the gap between groups by a TWFE interaction (triple difference).

    Model: y_it = a_i + l_t + tau·D_it + sum_{g != ref} delta_g·D_it·1[G_i = g] + e_it.
    tau is the effect in the reference group; delta_g the change in the g-vs-ref gap
    (Olden & Moen 2022 on triple differences). Here ``unit`` is the observation
    unit (patient or practice-by-group cell) and ``cluster`` the assigned unit.
    """
    what = "gap change (TWFE interaction)"
    require_columns(data, [unit, time, outcome, treated, group, cluster], what)
    notes: list[str] = []
    frame = drop_missing(
        data, [unit, time, outcome, treated, group], what, notes
    ).copy()
    frame[treated] = binary_column(frame, treated, what)
    levels = sorted(frame[group].unique().tolist(), key=str)
    ref = levels[0] if reference is None else reference
    if len(levels) < 2 or ref not in levels:
        raise InputDataError(
            f"{what}: need >= 2 groups in {group!r} including the reference {ref!r}."
        )
    cols = [treated]
    for lv in levels:
        if lv == ref:
            continue
        c = f"_x_{lv}"
        frame[c] = frame[treated] * (frame[group] == lv)
        cols.append(c)
    frame = frame.set_index([unit, time]).sort_index()
    clusters = frame.index.get_level_values(0) if cluster is None else frame[cluster]
    try:
        fit = PanelOLS(
            frame[outcome].astype(float),
            frame[cols].astype(float),
            entity_effects=True,
            time_effects=True,
        ).fit(
            cov_type="clustered",
            clusters=pd.DataFrame(
                {"c": pd.factorize(np.asarray(clusters))[0]}, index=frame.index
            ),
        )
    except AbsorbingEffectError as exc:
        raise absorbed_treatment("gap change by group") from exc
    effects = [
        Effect.from_normal(
            f"by:{group}={ref}",
            float(fit.params[treated]),
            float(fit.std_errors[treated]),
        )
    ]
    for lv in levels:
        if lv != ref:
            c = f"_x_{lv}"
            effects.append(
                Effect.from_normal(
                    f"gap:{group}={lv}-vs-{ref}",
                    float(fit.params[c]),
                    float(fit.std_errors[c]),
                )
            )
    inter = cols[1:]
    b = fit.params[inter].to_numpy()
    stat = float(b @ np.linalg.pinv(fit.cov.loc[inter, inter].to_numpy()) @ b)
    return EvaluationResult(
        method="by-group:twfe",
        estimand=f"change in the {group} gap (triple difference)",
        effects=effects,
        n_obs=int(fit.nobs),
        details={
            "group": group,
            "reference": str(ref),
            "heterogeneity_test": {
                "statistic": stat,
                "df": len(inter),
                "p_value": float(stats.chi2.sf(stat, len(inter))),
            },
            "z": Z95,
        },
        notes=notes,
    )
