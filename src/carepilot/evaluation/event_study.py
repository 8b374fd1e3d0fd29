"""Event studies: dynamic effects by time relative to treatment, with a pre-trend test.

Two estimators:

* ``estimator="cs"`` (default): Callaway–Sant'Anna event-time aggregation
  theta(e) (robust to staggered adoption with heterogeneous effects); the
  pre-trend test is the Wald test that all pre-period ATT(g,t) are zero.
* ``estimator="twfe"``: the dynamic TWFE regression
  ``y_it = a_i + l_t + sum_{e != -1} b_e·1[t - G_i = e] + e_it``
  (reference period e = -1, endpoints binned at ``window``), cluster-robust SEs;
  pre-trend test = Wald F-test that all leads b_e (e < -1) are zero. Under
  staggered timing leads/lags can be contaminated (Sun & Abraham 2021).

Pure module.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from linearmodels.panel import PanelOLS
from linearmodels.panel.utility import AbsorbingEffectError

from carepilot.errors import InputDataError
from carepilot.evaluation._checks import (
    absorbed_treatment,
    drop_missing,
    numeric_column,
    require_columns,
    require_min,
    time_column,
)
from carepilot.evaluation.pretrend import pretrend_test
from carepilot.evaluation.results import Z95, Effect, EvaluationResult
from carepilot.evaluation.staggered import callaway_santanna, first_treated_from_flags


def event_study(
    data: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    first_treated: str | None = None,
    treated: str | None = None,
    covariates: Sequence[str] = (),
    estimator: str = "cs",
    window: tuple[int, int] | None = None,
    cluster: str | None = None,
    **cs_options: object,
) -> EvaluationResult:
    """Estimate event-time effects and test for pre-trends.

    Args:
        data: Long panel.
        unit, time, outcome: Column names.
        first_treated: First treated period column (0/missing = never).
        treated: Or a 0/1 treated-now column.
        covariates: Covariates (CS: pre-treatment; TWFE: time-varying).
        estimator: ``"cs"`` or ``"twfe"``.
        window: (min, max) event time for TWFE; outside values are binned.
        cluster: Cluster column (default unit) for both estimators.
        **cs_options: Passed to `callaway_santanna` (control_group, inference...).

    Returns:
        Headline ``"post_average"`` (mean of e >= 0 effects), ``"event:e"``
        effects, table ``event_study`` and ``details["pretrend_test"]``.
    """
    if estimator == "cs":
        res = callaway_santanna(
            data,
            unit=unit,
            time=time,
            outcome=outcome,
            first_treated=first_treated,
            treated=treated,
            covariates=covariates,
            cluster=cluster,
            **cs_options,  # type: ignore[arg-type]
        )
        dyn = res.effect("dynamic")
        effects = [Effect(**{**dyn.to_dict(), "name": "post_average"})]
        effects += [e for e in res.effects if e.name.startswith("event:")]
        res.effects = effects
        res.method = "event-study"
        res.estimand = "ATT by event time (Callaway-Sant'Anna)"
        return res
    if estimator != "twfe":
        raise InputDataError(
            f"event study: estimator must be 'cs' or 'twfe', got {estimator!r}."
        )
    return _twfe_event_study(
        data,
        unit,
        time,
        outcome,
        first_treated,
        treated,
        list(covariates),
        window,
        cluster,
    )


def _twfe_event_study(
    data: pd.DataFrame,
    unit: str,
    time: str,
    outcome: str,
    first_treated: str | None,
    treated: str | None,
    covariates: list[str],
    window: tuple[int, int] | None,
    cluster: str | None,
) -> EvaluationResult:
    what = "event study (TWFE)"
    if first_treated is None and treated is None:
        raise InputDataError(f"{what}: give --first-treated or --treated.")
    require_columns(
        data, [unit, time, outcome, first_treated, treated, cluster, *covariates], what
    )
    notes: list[str] = []
    frame = drop_missing(data, [unit, time, outcome, *covariates], what, notes).copy()
    frame[time] = time_column(frame, time, what)
    if first_treated is None:
        assert treated is not None
        g = first_treated_from_flags(frame, unit=unit, time=time, treated=treated)
    else:
        g = numeric_column(frame, first_treated, what).fillna(0)
    frame["_g"] = g.to_numpy()
    ever = frame.groupby(unit)["_g"].first()
    require_min(
        int((ever > 0).sum()), 1, what, "treated units", "Check the treatment columns."
    )
    require_min(
        int((ever == 0).sum()),
        1,
        what,
        "never-treated units",
        "A TWFE event study needs never-treated comparators; use estimator='cs' with control_group='notyet'.",
    )
    rel = (frame[time] - frame["_g"]).where(frame["_g"] > 0)
    lo, hi = window if window else (int(rel.min()), int(rel.max()))
    if lo > -2:
        raise InputDataError(
            f"{what}: no pre-period before e = -1 in the window; the pre-trend test needs leads."
        )
    rel = rel.clip(lo, hi)
    names = []
    for e in range(lo, hi + 1):
        if e == -1:
            continue
        col = f"e{e}"
        frame[col] = (rel == e).astype(float)
        if frame[col].sum() > 0:
            names.append((e, col))
    frame = frame.set_index([unit, time]).sort_index()
    exog = frame[[c for _, c in names] + covariates].astype(float)
    clusters = frame.index.get_level_values(0) if cluster is None else frame[cluster]
    try:
        fit = PanelOLS(
            frame[outcome].astype(float), exog, entity_effects=True, time_effects=True
        ).fit(
            cov_type="clustered",
            clusters=pd.DataFrame(
                {"c": pd.factorize(np.asarray(clusters))[0]}, index=frame.index
            ),
        )
    except AbsorbingEffectError as exc:
        raise absorbed_treatment(what) from exc
    except ValueError as exc:
        raise InputDataError(f"{what}: {exc}") from exc
    rows = [{"event_time": -1, "estimate": 0.0, "se": 0.0}]
    for e, c in names:
        rows.append(
            {
                "event_time": e,
                "estimate": float(fit.params[c]),
                "se": float(fit.std_errors[c]),
            }
        )
    es = pd.DataFrame(rows).sort_values("event_time").reset_index(drop=True)
    es["ci_low"] = es["estimate"] - Z95 * es["se"]
    es["ci_high"] = es["estimate"] + Z95 * es["se"]
    leads = [c for e, c in names if e < -1]
    cov = fit.cov.loc[leads, leads].to_numpy()
    b = fit.params[leads].to_numpy()
    codes = pd.Series(pd.factorize(np.asarray(clusters))[0], index=frame.index)
    treated_units = frame.index.get_level_values(0).isin(ever[ever > 0].index)
    pre = pretrend_test(
        b, cov, [e for e, c in names if e < -1],
        n_clusters=int(codes.nunique()),
        n_treated_clusters=int(codes[treated_units].nunique()),
    )  # fmt: skip
    post = [c for e, c in names if e >= 0]
    wvec = np.full(len(post), 1 / len(post))
    avg = float(fit.params[post].to_numpy() @ wvec)
    avg_se = float(np.sqrt(wvec @ fit.cov.loc[post, post].to_numpy() @ wvec))
    effects = [Effect.from_normal("post_average", avg, avg_se)]
    for e_t, b_e, s_e in zip(
        es["event_time"].to_numpy(int),
        es["estimate"].to_numpy(float),
        es["se"].to_numpy(float),
        strict=True,
    ):
        effects.append(
            Effect.from_normal(
                f"event:{int(e_t)}", float(b_e), float(s_e) if e_t != -1 else None
            )
        )
    if (ever[ever > 0].nunique()) > 1:
        notes.append(
            "staggered treatment timing: TWFE event-study coefficients can mix effects across periods (Sun & Abraham 2021); prefer estimator='cs'."
        )
    return EvaluationResult(
        method="event-study",
        estimand="ATT by event time (TWFE, reference e = -1)",
        effects=effects,
        n_obs=int(fit.nobs),
        n_units=int(frame.index.get_level_values(0).nunique()),
        n_treated=int((ever > 0).sum()),
        details={
            "estimator": "twfe",
            "window": [lo, hi],
            "pretrend_test": pre,
            "cluster": cluster or unit,
        },
        tables={"event_study": es},
        notes=notes,
    )
