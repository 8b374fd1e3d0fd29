"""Built-in methods, registered by name exactly as outside code would.

Each runner maps a `PanelSpec` (column roles + options) to one estimator.
Pure module.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd
import statsmodels.api as sm

from carepilot.errors import InputDataError
from carepilot.evaluation._checks import require_columns
from carepilot.evaluation.did import did_2x2, twfe
from carepilot.evaluation.event_study import event_study
from carepilot.evaluation.its import interrupted_time_series
from carepilot.evaluation.matching import match_comparators
from carepilot.evaluation.registry import Method, MethodRegistry, PanelSpec
from carepilot.evaluation.results import Effect, EvaluationResult
from carepilot.evaluation.staggered import callaway_santanna
from carepilot.evaluation.synth import synthetic_control, synthetic_did
from carepilot.evaluation.treatment import treatment_effect


def _opt(spec: PanelSpec, key: str, default: Any = None) -> Any:
    return spec.options.get(key, default)


def run_did(data: pd.DataFrame, spec: PanelSpec) -> EvaluationResult:
    """2x2 DiD: explicit ``group_indicator``/``post`` options, or derived from unit/time."""
    gcol, pcol = _opt(spec, "group_indicator"), _opt(spec, "post")
    frame = data
    if gcol is None or pcol is None:
        spec.need("unit", "time", method="did")
        assert spec.unit and spec.time
        require_columns(data, [spec.unit, spec.time, spec.treated], "did")
        frame = data.copy()
        on = pd.to_numeric(frame[spec.treated], errors="coerce") == 1
        if not on.any():
            raise InputDataError(
                f"did: column {spec.treated!r} is never 1; nothing is treated."
            )
        frame["_group"] = frame[spec.unit].isin(frame.loc[on, spec.unit]).astype(int)
        frame["_post"] = (frame[spec.time] >= frame.loc[on, spec.time].min()).astype(
            int
        )
        gcol, pcol = "_group", "_post"
    cluster = spec.cluster or spec.unit
    return did_2x2(
        frame,
        outcome=spec.outcome,
        group=str(gcol),
        post=str(pcol),
        covariates=spec.covariates,
        se_type=str(_opt(spec, "se_type", "cluster" if cluster else "conventional")),
        cluster=cluster,
    )


def run_twfe(data: pd.DataFrame, spec: PanelSpec) -> EvaluationResult:
    spec.need("unit", "time", method="twfe")
    assert spec.unit and spec.time
    return twfe(
        data,
        unit=spec.unit,
        time=spec.time,
        outcome=spec.outcome,
        treated=spec.treated,
        covariates=spec.covariates,
        cluster=spec.cluster,
    )


def _cs_kwargs(spec: PanelSpec) -> dict[str, Any]:
    keys = ("control_group", "base_period", "est_method", "inference", "n_boot", "seed")
    out = {k: spec.options[k] for k in keys if k in spec.options}
    if spec.cluster is not None:
        out["cluster"] = spec.cluster
    return out


def run_staggered(data: pd.DataFrame, spec: PanelSpec) -> EvaluationResult:
    spec.need("unit", "time", method="staggered")
    assert spec.unit and spec.time
    return callaway_santanna(
        data,
        unit=spec.unit,
        time=spec.time,
        outcome=spec.outcome,
        first_treated=spec.first_treated,
        treated=None if spec.first_treated else spec.treated,
        covariates=spec.covariates,
        **_cs_kwargs(spec),
    )


def run_event_study(data: pd.DataFrame, spec: PanelSpec) -> EvaluationResult:
    spec.need("unit", "time", method="event-study")
    assert spec.unit and spec.time
    estimator = str(_opt(spec, "estimator", "cs"))
    extra: dict[str, Any] = (
        _cs_kwargs(spec) if estimator == "cs" else {"cluster": spec.cluster}
    )
    return event_study(
        data,
        unit=spec.unit,
        time=spec.time,
        outcome=spec.outcome,
        first_treated=spec.first_treated,
        treated=None if spec.first_treated else spec.treated,
        covariates=spec.covariates,
        estimator=estimator,
        **extra,
    )


def run_its(data: pd.DataFrame, spec: PanelSpec) -> EvaluationResult:
    spec.need("time", method="its")
    assert spec.time
    pop = _opt(spec, "population")
    kwargs: dict[str, Any] = dict(
        population=pop,
        season=_opt(spec, "season"),
        period=float(_opt(spec, "period", 12)),
        harmonics=int(_opt(spec, "harmonics", 2)),
        slope_change=bool(_opt(spec, "slope_change", True)),
        family=str(_opt(spec, "family", "quasipoisson")),
        se=str(_opt(spec, "se", "model")),
    )
    if (
        spec.unit is not None
        and spec.unit in data.columns
        and data[spec.unit].nunique() > 1
    ):
        # comparative ITS: sum intervention units and control units into two series
        require_columns(data, [spec.unit, spec.treated, spec.outcome, pop], "its")
        ever = data.groupby(spec.unit)[spec.treated].transform("max")
        frame = data.assign(_series=np.where(ever == 1, "intervention", "control"))
        sums = [spec.outcome, *([pop] if pop else [])]
        agg = frame.groupby(["_series", spec.time], as_index=False).agg(
            {
                **{c: "sum" for c in sums},
                spec.treated: "max",
                **({str(kwargs["season"]): "first"} if kwargs["season"] else {}),
            }
        )
        treated_times = agg.loc[
            (agg["_series"] == "intervention") & (agg[spec.treated] == 1), spec.time
        ]
        if len(treated_times) == 0:
            raise InputDataError(
                f"its: column {spec.treated!r} is never 1 for any unit; no intervention."
            )
        agg[spec.treated] = (agg[spec.time] >= treated_times.min()).astype(int)
        if (agg["_series"] == "control").sum() == 0:
            agg = agg[agg["_series"] == "intervention"]
            return interrupted_time_series(
                agg,
                time=spec.time,
                outcome=spec.outcome,
                intervention=spec.treated,
                **kwargs,
            )
        return interrupted_time_series(
            agg,
            time=spec.time,
            outcome=spec.outcome,
            intervention=spec.treated,
            series="_series",
            control_series="control",
            **kwargs,
        )
    return interrupted_time_series(
        data, time=spec.time, outcome=spec.outcome, intervention=spec.treated, **kwargs
    )


def run_synth(data: pd.DataFrame, spec: PanelSpec) -> EvaluationResult:
    spec.need("unit", "time", method="synth")
    assert spec.unit and spec.time
    return synthetic_control(
        data,
        unit=spec.unit,
        time=spec.time,
        outcome=spec.outcome,
        treated=spec.treated,
        predictors=spec.covariates,
        solver=str(_opt(spec, "solver", "exact")),
    )


def run_sdid(data: pd.DataFrame, spec: PanelSpec) -> EvaluationResult:
    spec.need("unit", "time", method="sdid")
    assert spec.unit and spec.time
    return synthetic_did(
        data,
        unit=spec.unit,
        time=spec.time,
        outcome=spec.outcome,
        treated=spec.treated,
        estimator=str(_opt(spec, "estimator", "sdid")),
        placebo_se=bool(_opt(spec, "placebo_se", True)),
    )


def _te(method: str):  # noqa: ANN202 - small closure factory
    def run(data: pd.DataFrame, spec: PanelSpec) -> EvaluationResult:
        tcov = _opt(spec, "treatment_covariates")
        return treatment_effect(
            data,
            outcome=spec.outcome,
            treatment=spec.treated,
            covariates=spec.covariates,
            treatment_covariates=list(tcov) if tcov else None,
            method=method,
            estimand=str(_opt(spec, "estimand", "ate")),
            link=str(_opt(spec, "link", "logit")),
            cluster=spec.cluster,
        )

    return run


def run_match(data: pd.DataFrame, spec: PanelSpec) -> EvaluationResult:
    """Match comparators, then the ATT as the weighted difference in outcome means."""
    if not spec.covariates:
        raise InputDataError("match: give the matching covariates with --covariates.")
    m = match_comparators(
        data,
        treatment=spec.treated,
        covariates=spec.covariates,
        method=str(_opt(spec, "match_method", "psm")),
        k=int(_opt(spec, "k", 1)),
        replace=bool(_opt(spec, "replace", False)),
        caliper=_opt(spec, "caliper", 0.2),
    )
    kept = m.matched.dropna(subset=[spec.outcome])
    y = pd.to_numeric(kept[spec.outcome]).to_numpy(float)
    d = pd.to_numeric(kept[spec.treated]).to_numpy(float)
    fit = sm.WLS(
        y,
        np.column_stack([np.ones_like(d), d]),
        weights=kept["_weight"].to_numpy(float),
    ).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(kept["_subclass"])[0]})
    return EvaluationResult(
        method="match",
        estimand="ATT on matched treated units",
        effects=[Effect.from_normal("att", float(fit.params[1]), float(fit.bse[1]))],
        n_obs=len(kept),
        n_treated=m.n_treated_matched,
        details={
            **m.details,
            "n_treated_unmatched": m.n_treated_unmatched,
            "se_type": "cluster-robust by match set",
        },
        tables={"balance": m.balance},
        notes=[str(n) for n in cast(list[Any], m.details.get("notes", []))],
    )


BUILTIN_METHODS: tuple[Method, ...] = (
    Method("did", "2x2 difference-in-differences (OLS, cluster-robust SEs)", run_did),
    Method("twfe", "two-way fixed-effects DiD, cluster-robust SEs", run_twfe),
    Method(
        "staggered",
        "Callaway-Sant'Anna group-time ATTs and aggregations",
        run_staggered,
    ),
    Method("event-study", "event-time effects with a pre-trend test", run_event_study),
    Method(
        "its",
        "interrupted time series, (quasi-)Poisson segmented regression",
        run_its,
        "series",
    ),
    Method("synth", "synthetic control with placebo-in-space inference", run_synth),
    Method(
        "sdid", "synthetic difference-in-differences (Arkhangelsky et al.)", run_sdid
    ),
    Method("ra", "regression adjustment (patient level)", _te("ra"), "patient"),
    Method(
        "ipw", "inverse probability weighting (patient level)", _te("ipw"), "patient"
    ),
    Method(
        "aipw", "augmented IPW, doubly robust (patient level)", _te("aipw"), "patient"
    ),
    Method(
        "ipwra", "IPW regression adjustment (patient level)", _te("ipwra"), "patient"
    ),
    Method(
        "match",
        "matched comparators (PSM/Mahalanobis/exact/CEM) and ATT",
        run_match,
        "patient",
    ),
)


def register(registry: MethodRegistry) -> None:
    """Register the built-in methods (called via DEFAULT_METHOD_MODULES)."""
    for method in BUILTIN_METHODS:
        registry.register(method)
