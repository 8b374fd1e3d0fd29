"""Synthetic control, synthetic DiD and placebo-in-space inference.

* `synthetic_control`: Abadie, Diamond & Hainmueller (2010) weights w on the
  simplex over donor units minimising (X1 - X0 w)' V (X1 - X0 w), where X holds
  pre-period outcomes (default) or pre-period means of predictors (then the
  diagonal V is chosen to minimise the pre-period outcome MSPE, the ADH nested
  optimisation). ``solver="synthdid"`` instead uses synthdid's ridge-penalised
  Frank–Wolfe ``sc_estimate``. The effect is the mean post-period gap
  Y1t - sum_j w_j Y_jt. Inference: placebo in space - refit with each donor as
  the treated unit; the p-value is the rank of the treated unit's post/pre
  RMSPE ratio among all units (Abadie et al. 2010, section 2.4).
* `synthetic_did`: Arkhangelsky et al. (2021) synthetic DiD, with unit weights
  (intercept, ridge zeta = (N1·T1)^(1/4)·sigma) and time weights, as in R
  synthdid 0.0.9 (also its ``did`` and ``sc`` special cases); placebo SE =
  sd of leave-one-control-out placebo estimates (their Algorithm 4, exhaustive).

Pure module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from carepilot.errors import InputDataError
from carepilot.evaluation._checks import (
    binary_column,
    numeric_column,
    require_columns,
    require_min,
)
from carepilot.evaluation._simplex import sc_weight_fw, simplex_lstsq, sparsify
from carepilot.evaluation.results import Effect, EvaluationResult

MIN_DONORS = 2


@dataclass(frozen=True)
class BlockPanel:
    """Outcome matrix with donors first and treated units last."""

    y: np.ndarray
    units: list[object]
    periods: np.ndarray
    n0: int
    t0: int


def block_panel(
    data: pd.DataFrame, *, unit: str, time: str, outcome: str, treated: str, what: str
) -> BlockPanel:
    """Reshape a long panel for block designs (all treated units start together).

    Raises:
        InputDataError: staggered starts, duplicates, missing outcomes.
        InsufficientDataError: too few donors, no pre-period.
    """
    require_columns(data, [unit, time, outcome, treated], what)
    frame = data.copy()
    frame[outcome] = numeric_column(frame, outcome, what)
    frame[treated] = binary_column(frame, treated, what)
    if frame.duplicated([unit, time]).any():
        raise InputDataError(
            f"{what}: duplicate ({unit}, {time}) rows; one row per unit and period is needed."
        )
    wide = frame.pivot(index=unit, columns=time, values=outcome).sort_index(axis=1)
    if wide.isna().any().any():
        bad = int(wide.isna().any(axis=1).sum())
        raise InputDataError(
            f"{what}: {bad} unit(s) lack {outcome!r} in some period; synthetic control needs a balanced panel without gaps."
        )
    ever = frame.groupby(unit)[treated].max().reindex(wide.index)
    require_min(
        int((ever == 1).sum()),
        1,
        what,
        "treated units",
        f"Check the {treated!r} column.",
    )
    require_min(
        int((ever == 0).sum()),
        MIN_DONORS,
        what,
        "donor (never-treated) units",
        "Add comparison units to the donor pool.",
    )
    starts = frame[frame[treated] == 1].groupby(unit)[time].min()
    if starts.nunique() > 1:
        raise InputDataError(
            f"{what}: treated units start at different times ({starts.nunique()} start dates); use method 'staggered' or evaluate each cohort separately."
        )
    periods = wide.columns.to_numpy()
    t0 = int(np.searchsorted(periods, starts.iloc[0]))
    require_min(
        t0,
        2,
        what,
        "pre-intervention periods",
        "A unit treated from the start has no pre-period; add earlier periods.",
    )
    require_min(
        len(periods) - t0, 1, what, "post-intervention periods", "Add post-period data."
    )
    order = list(wide.index[ever == 0]) + list(wide.index[ever == 1])
    return BlockPanel(
        wide.loc[order].to_numpy(float), order, periods, int((ever == 0).sum()), t0
    )


def _noise(y: np.ndarray, n0: int, t0: int) -> float:
    return (
        float(np.std(np.diff(y[:n0, :t0], axis=1), ddof=1))
        if t0 > 2
        else float(np.std(y[:n0, :t0]))
    )


def _collapsed(y: np.ndarray, n0: int, t0: int) -> np.ndarray:
    top = np.column_stack([y[:n0, :t0], y[:n0, t0:].mean(axis=1)])
    bottom = np.append(y[n0:, :t0].mean(axis=0), y[n0:, t0:].mean())
    return np.vstack([top, bottom])


def _fw_weights(
    y: np.ndarray, zeta: float, intercept: bool, min_dec: float
) -> np.ndarray:
    w = sc_weight_fw(y, zeta, intercept=intercept, min_decrease=min_dec, max_iter=100)
    return sc_weight_fw(
        y,
        zeta,
        intercept=intercept,
        weights=sparsify(w),
        min_decrease=min_dec,
        max_iter=10_000,
    )


def sdid_weights(
    y: np.ndarray, n0: int, t0: int, estimator: str
) -> tuple[np.ndarray, np.ndarray]:
    """Unit weights omega and time weights lambda of synthdid's estimators."""
    n, t = y.shape
    sigma = _noise(y, n0, t0)
    min_dec = 1e-5 * sigma
    yc = _collapsed(y, n0, t0)
    if estimator == "did":
        return np.full(n0, 1 / n0), np.full(t0, 1 / t0)
    if estimator == "sc":
        return _fw_weights(yc[:, :t0].T, 1e-6 * sigma, False, min_dec), np.zeros(t0)
    lam = _fw_weights(yc[:n0, :], 1e-6 * sigma, True, min_dec)
    zeta_omega = ((n - n0) * (t - t0)) ** 0.25 * sigma
    return _fw_weights(yc[:, :t0].T, zeta_omega, True, min_dec), lam


def _tau(y: np.ndarray, n0: int, t0: int, omega: np.ndarray, lam: np.ndarray) -> float:
    n, t = y.shape
    left = np.concatenate([-omega, np.full(n - n0, 1 / (n - n0))])
    right = np.concatenate([-lam, np.full(t - t0, 1 / (t - t0))])
    return float(left @ y @ right)


def synthetic_did(
    data: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    treated: str,
    estimator: str = "sdid",
    placebo_se: bool = True,
) -> EvaluationResult:
    """Synthetic DiD (or synthdid's DID / SC special cases) with placebo SE.

    tau = (ybar_1,post - omega'Y_0,post) - (lambda'ybar_1,pre - omega'Y_0,pre lambda)
    (Arkhangelsky et al. 2021, eq. 1-4).

    Args:
        data: Balanced long panel, block treatment timing.
        unit, time, outcome, treated: Column names (treated = 0/1 now-treated).
        estimator: ``"sdid"``, ``"sc"`` or ``"did"``.
        placebo_se: Compute the leave-one-control-out placebo SE (needs >= 3 donors).

    Returns:
        Headline ``"att"``; tables ``unit_weights``, ``time_weights``.
    """
    what = f"synthetic DiD ({estimator})"
    if estimator not in ("sdid", "sc", "did"):
        raise InputDataError(f"{what}: estimator must be 'sdid', 'sc' or 'did'.")
    bp = block_panel(
        data, unit=unit, time=time, outcome=outcome, treated=treated, what=what
    )
    omega, lam = sdid_weights(bp.y, bp.n0, bp.t0, estimator)
    tau = _tau(bp.y, bp.n0, bp.t0, omega, lam)
    se = None
    notes: list[str] = []
    n1 = bp.y.shape[0] - bp.n0
    if placebo_se and bp.n0 > n1 + 1:
        ctrl = bp.y[: bp.n0]
        placebos = []
        for j in range(bp.n0):
            order = [i for i in range(bp.n0) if i != j] + [j]
            yp = ctrl[order]
            o, lm = sdid_weights(yp, bp.n0 - 1, bp.t0, estimator)
            placebos.append(_tau(yp, bp.n0 - 1, bp.t0, o, lm))
        se = float(
            np.std(placebos, ddof=1)
            * np.sqrt((bp.n0 - 1) / bp.n0)
            * np.sqrt(bp.n0 / (bp.n0 - 1))
        )
        notes.append(
            "SE from exhaustive leave-one-control-out placebo estimates (assumes homoskedastic units)."
        )
    uw = pd.DataFrame({"unit": bp.units[: bp.n0], "weight": omega}).sort_values(
        "weight", ascending=False
    )
    tw = pd.DataFrame({"time": bp.periods[: bp.t0], "weight": lam})
    return EvaluationResult(
        method=f"synthdid:{estimator}",
        estimand="ATT (average over treated units and post periods)",
        effects=[Effect.from_normal("att", tau, se)],
        n_obs=int(bp.y.size),
        n_units=len(bp.units),
        n_treated=n1,
        details={
            "estimator": estimator,
            "n_donors": bp.n0,
            "n_pre": bp.t0,
            "n_post": len(bp.periods) - bp.t0,
        },
        tables={"unit_weights": uw, "time_weights": tw},
        notes=notes,
    )


def _adh_weights(
    y: np.ndarray, n0: int, t0: int, xpred: np.ndarray | None, solver: str
) -> tuple[np.ndarray, np.ndarray | None]:
    target_pre = y[n0:, :t0].mean(axis=0)
    if solver == "synthdid":
        return sdid_weights(y, n0, t0, "sc")[0], None
    if xpred is None:
        return simplex_lstsq(y[:n0, :t0].T, target_pre), None
    sd = xpred.std(axis=0)
    sd[sd == 0] = 1.0
    xs = xpred / sd
    x0, x1 = xs[:n0].T, xs[n0:].mean(axis=0)

    def weights_for(logv: np.ndarray) -> np.ndarray:
        v = np.exp(logv - logv.max())
        root = np.sqrt(v / v.sum())
        return simplex_lstsq(root[:, None] * x0, root * x1)

    def loss(logv: np.ndarray) -> float:
        r = y[:n0, :t0].T @ weights_for(logv) - target_pre
        return float(r @ r)

    k = x0.shape[0]
    start = np.zeros(k)
    res = optimize.minimize(
        loss,
        start,
        method="Nelder-Mead",
        options={"maxiter": 200 * k, "xatol": 1e-4, "fatol": 1e-8},
    )
    best = res.x if res.fun <= loss(start) else start
    v = np.exp(best - best.max())
    return weights_for(best), v / v.sum()


def synthetic_control(
    data: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    treated: str,
    predictors: Sequence[str] = (),
    solver: str = "exact",
    placebo: bool = True,
) -> EvaluationResult:
    """Abadie–Diamond–Hainmueller synthetic control with placebo-in-space inference.

    Args:
        data: Balanced long panel with block timing (treated units averaged).
        unit, time, outcome, treated: Column names.
        predictors: Columns whose pre-period means are matched (with the
            ADH data-driven V); default: all pre-period outcomes, V = I.
        solver: ``"exact"`` (simplex least squares) or ``"synthdid"`` (Frank–Wolfe).
        placebo: Run placebo-in-space for the permutation p-value.

    Returns:
        Headline ``"att"`` (mean post gap) with the permutation p-value; tables
        ``weights``, ``path`` (treated vs synthetic per period), ``placebo``.
    """
    what = "synthetic control"
    if solver not in ("exact", "synthdid"):
        raise InputDataError(f"{what}: solver must be 'exact' or 'synthdid'.")
    bp = block_panel(
        data, unit=unit, time=time, outcome=outcome, treated=treated, what=what
    )
    xpred = None
    if predictors:
        require_columns(data, predictors, what)
        pre = data[data[time] < bp.periods[bp.t0]]
        means = pre.groupby(unit)[list(predictors)].mean().reindex(bp.units)
        if means.isna().any().any():
            raise InputDataError(
                f"{what}: some units have no pre-period values of a predictor; fill or drop them."
            )
        xpred = means.to_numpy(float)
    w, v = _adh_weights(bp.y, bp.n0, bp.t0, xpred, solver)
    synth = w @ bp.y[: bp.n0]
    target = bp.y[bp.n0 :].mean(axis=0)
    gap = target - synth
    pre_rmspe = float(np.sqrt(np.mean(gap[: bp.t0] ** 2)))
    post_rmspe = float(np.sqrt(np.mean(gap[bp.t0 :] ** 2)))
    att = float(gap[bp.t0 :].mean())
    effects_p = None
    placebo_tab = pd.DataFrame()
    notes: list[str] = []
    if placebo:
        rows = [
            {
                "unit": "treated",
                "pre_rmspe": pre_rmspe,
                "post_rmspe": post_rmspe,
                "att": att,
                "treated": True,
            }
        ]
        for j in range(bp.n0):
            order = [i for i in range(bp.n0) if i != j] + [j]
            yp = bp.y[order]
            xp = xpred[order] if xpred is not None else None
            wj, _ = _adh_weights(yp, bp.n0 - 1, bp.t0, xp, solver)
            g = yp[-1] - wj @ yp[:-1]
            rows.append(
                {
                    "unit": bp.units[j],
                    "pre_rmspe": float(np.sqrt(np.mean(g[: bp.t0] ** 2))),
                    "post_rmspe": float(np.sqrt(np.mean(g[bp.t0 :] ** 2))),
                    "att": float(g[bp.t0 :].mean()),
                    "treated": False,
                }
            )
        placebo_tab = pd.DataFrame(rows)
        placebo_tab["ratio"] = placebo_tab["post_rmspe"] / placebo_tab[
            "pre_rmspe"
        ].where(placebo_tab["pre_rmspe"] > 0)
        r_treated = placebo_tab["ratio"].iloc[0]
        effects_p = float((placebo_tab["ratio"] >= r_treated).sum() / len(placebo_tab))
        if len(placebo_tab) < 20:
            notes.append(
                f"only {bp.n0} donors: the smallest attainable permutation p-value is {1 / len(placebo_tab):.3f}."
            )
    if pre_rmspe > 0.1 * float(np.std(target[: bp.t0]) + 1e-12) and pre_rmspe > 0:
        notes.append(
            f"pre-period fit RMSPE {pre_rmspe:.3g}: check the synthetic unit tracks the treated unit before the intervention."
        )
    eff = Effect("att", att, None, None, None, effects_p)
    path = pd.DataFrame(
        {
            "time": bp.periods,
            "treated": target,
            "synthetic": synth,
            "gap": gap,
            "post": np.arange(len(gap)) >= bp.t0,
        }
    )
    weights = pd.DataFrame({"unit": bp.units[: bp.n0], "weight": w}).sort_values(
        "weight", ascending=False
    )
    return EvaluationResult(
        method="synth",
        estimand="ATT (mean post-period gap to the synthetic unit)",
        effects=[eff],
        n_obs=int(bp.y.size),
        n_units=len(bp.units),
        n_treated=bp.y.shape[0] - bp.n0,
        details={
            "solver": solver,
            "pre_rmspe": pre_rmspe,
            "post_rmspe": post_rmspe,
            "rmspe_ratio": post_rmspe / pre_rmspe if pre_rmspe > 0 else None,
            "permutation_p_value": effects_p,
            "predictors": list(predictors),
            "v_weights": None
            if v is None
            else dict(zip(predictors, v.tolist(), strict=True)),
            "n_donors": bp.n0,
        },
        tables={"weights": weights, "path": path, "placebo": placebo_tab},
        notes=notes,
    )
