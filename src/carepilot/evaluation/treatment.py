"""Patient-level treatment effects: regression adjustment, IPW, AIPW, IPWRA.

Point estimates (Stata `teffects` definitions; Cattaneo 2010; Wooldridge 2010 ch. 21):

* RA: ATE = mean_i [m1(X_i) - m0(X_i)], m_d = OLS of y on X in arm d.
* IPW (normalised/Hajek): mu1 = sum(D·y/p)/sum(D/p), mu0 = sum((1-D)·y/(1-p))/sum((1-D)/(1-p)).
* AIPW: mean[m1 + D(y - m1)/p] - mean[m0 + (1-D)(y - m0)/(1-p)] (Robins, Rotnitzky & Zhao 1994).
* IPWRA: RA with arm regressions weighted by 1/p (treated) and 1/(1-p) (controls).
* ATT versions average over the treated and weight controls by p/(1-p).

Standard errors are the GMM sandwich of the stacked moment conditions
(propensity model + outcome models + effect), computed by statsmodels'
`TreatmentEffect`, as Stata's `teffects` does. The propensity model is a logit
(default) or probit.

Pure module.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.treatment.treatment_effects import TreatmentEffect

from carepilot.errors import InputDataError, UnsupportedOperation
from carepilot.evaluation._checks import (
    binary_column,
    check_full_rank,
    drop_missing,
    numeric_column,
    require_columns,
    require_min,
)
from carepilot.evaluation.results import Effect, EvaluationResult

METHODS = ("ra", "ipw", "aipw", "ipwra")


def fit_propensity(
    d: np.ndarray, x: np.ndarray, link: str, what: str
) -> tuple[np.ndarray, object]:
    """Fit the treatment model; fail clearly on (quasi-)perfect separation.

    Returns:
        Fitted probabilities and the statsmodels results object.

    Raises:
        InputDataError: perfect separation (a propensity of 0 or 1).
    """
    model_cls = sm.Logit if link == "logit" else sm.Probit
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = model_cls(d, x).fit(disp=0, maxiter=200)
        except Exception as exc:
            raise _separation(what) from exc
    p = np.asarray(res.predict(x), dtype=float)
    if not np.all(np.isfinite(p)) or p.min() < 1e-8 or p.max() > 1 - 1e-8:
        raise _separation(what)
    return p, res


def _separation(what: str) -> InputDataError:
    return InputDataError(
        f"{what}: perfect separation in the propensity-score model - a covariate (or "
        "combination) predicts treatment exactly, so some propensity scores are 0 or 1 "
        "and those units have no comparable counterpart. Drop or coarsen that covariate, "
        "or restrict the sample to common support."
    )


def _design(frame: pd.DataFrame, cols: Sequence[str], what: str) -> np.ndarray:
    x = np.column_stack(
        [
            np.ones(len(frame)),
            *[numeric_column(frame, c, what).to_numpy() for c in cols],
        ]
    )
    check_full_rank(x, ["const", *cols], what)
    return x


def _arm_fit(
    y: np.ndarray, x: np.ndarray, mask: np.ndarray, w: np.ndarray | None = None
) -> np.ndarray:
    sw = np.ones(mask.sum()) if w is None else np.sqrt(w[mask])
    beta, *_ = np.linalg.lstsq(x[mask] * sw[:, None], y[mask] * sw, rcond=None)
    return x @ beta


def treatment_effect(
    data: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    covariates: Sequence[str] = (),
    treatment_covariates: Sequence[str] | None = None,
    method: str = "aipw",
    estimand: str = "ate",
    link: str = "logit",
) -> EvaluationResult:
    """Estimate the ATE or ATT of a binary treatment on a patient-level outcome.

    Args:
        data: One row per patient.
        outcome: Outcome column.
        treatment: 0/1 treatment column.
        covariates: Outcome-model covariates.
        treatment_covariates: Propensity-model covariates (default: ``covariates``).
        method: ``"ra"``, ``"ipw"``, ``"aipw"`` or ``"ipwra"``.
        estimand: ``"ate"`` or ``"att"``.
        link: ``"logit"`` or ``"probit"`` propensity model.

    Returns:
        Headline effect named after ``estimand``; details hold the potential-outcome
        means and propensity-score range.

    Raises:
        InputDataError: bad columns, separation, collinear covariates.
        InsufficientDataError: too few treated or comparison patients.
        UnsupportedOperation: AIPW for the ATT (use IPWRA).
    """
    what = f"treatment effect ({method})"
    if method not in METHODS:
        raise InputDataError(
            f"{what}: method must be one of {METHODS}, got {method!r}."
        )
    if estimand not in ("ate", "att"):
        raise InputDataError(
            f"{what}: estimand must be 'ate' or 'att', got {estimand!r}."
        )
    if link not in ("logit", "probit"):
        raise InputDataError(f"{what}: link must be 'logit' or 'probit', got {link!r}.")
    if method == "aipw" and estimand == "att":
        raise UnsupportedOperation(
            f"{what}: the AIPW estimator is implemented for the ATE only; use method 'ipwra' for the ATT."
        )
    covariates = list(covariates)
    tcov = covariates if treatment_covariates is None else list(treatment_covariates)
    require_columns(data, [outcome, treatment, *covariates, *tcov], what)
    notes: list[str] = []
    frame = drop_missing(
        data, list(dict.fromkeys([outcome, treatment, *covariates, *tcov])), what, notes
    )
    y = numeric_column(frame, outcome, what).to_numpy()
    d = binary_column(frame, treatment, what).to_numpy()
    xo = _design(frame, covariates, what + ", outcome model")
    xt = _design(frame, tcov, what + ", treatment model")
    n1, n0 = int(d.sum()), int((1 - d).sum())
    need = max(xo.shape[1], xt.shape[1]) + 1
    require_min(
        n1,
        need,
        what,
        "treated patients",
        "Add treated patients or use fewer covariates.",
    )
    require_min(
        n0,
        need,
        what,
        "comparison patients",
        "Add comparators or use fewer covariates.",
    )
    t1, c0 = d == 1, d == 0
    p = None
    pres = None
    if method != "ra":
        p, pres = fit_propensity(d, xt, link, what)
    if method == "ra":
        m1, m0 = _arm_fit(y, xo, t1), _arm_fit(y, xo, c0)
        sel = np.ones(len(y), bool) if estimand == "ate" else t1
        mu1, mu0 = m1[sel].mean(), m0[sel].mean()
    elif method == "ipw":
        assert p is not None
        if estimand == "ate":
            w1, w0 = d / p, (1 - d) / (1 - p)
        else:
            w1, w0 = d.astype(float), (1 - d) * p / (1 - p)
        mu1, mu0 = np.sum(w1 * y) / w1.sum(), np.sum(w0 * y) / w0.sum()
    elif method == "aipw":
        assert p is not None
        m1, m0 = _arm_fit(y, xo, t1), _arm_fit(y, xo, c0)
        mu1 = np.mean(m1 + d * (y - m1) / p)
        mu0 = np.mean(m0 + (1 - d) * (y - m0) / (1 - p))
    else:
        assert p is not None
        if estimand == "ate":
            w = np.where(t1, 1 / p, 1 / (1 - p))
            sel = np.ones(len(y), bool)
        else:
            w = np.where(t1, 1.0, p / (1 - p))
            sel = t1
        m1, m0 = _arm_fit(y, xo, t1, w), _arm_fit(y, xo, c0, w)
        mu1, mu0 = m1[sel].mean(), m0[sel].mean()
    est = float(mu1 - mu0)
    se = _gmm_se(y, d, xo, pres, method, estimand, xt, link)
    details: dict[str, object] = {
        "pomean_treated": float(mu1),
        "pomean_control": float(mu0),
        "link": link if method != "ra" else None,
        "covariates": covariates,
        "treatment_covariates": tcov if method != "ra" else None,
        "se_type": "GMM sandwich (stacked estimating equations)",
    }
    if p is not None:
        details["propensity_range"] = [float(p.min()), float(p.max())]
        extreme = int(((p < 0.01) | (p > 0.99)).sum())
        if extreme:
            notes.append(
                f"{extreme} patient(s) have propensity scores outside [0.01, 0.99]: limited overlap, weights are unstable."
            )
    return EvaluationResult(
        method=method,
        estimand=estimand.upper(),
        effects=[Effect.from_normal(estimand, est, se)],
        n_obs=len(y),
        n_treated=n1,
        details=details,
        notes=notes,
    )


def _gmm_se(
    y: np.ndarray,
    d: np.ndarray,
    xo: np.ndarray,
    pres: object,
    method: str,
    estimand: str,
    xt: np.ndarray,
    link: str,
) -> float | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if pres is None:
            model_cls = sm.Logit if link == "logit" else sm.Probit
            pres = model_cls(d, xt).fit(disp=0)
        te = TreatmentEffect(sm.OLS(y, xo), d.astype(int), results_select=pres)
        group: str | int = "all" if estimand == "ate" else 1
        try:
            fn = {"ra": te.ra, "ipw": te.ipw, "aipw": te.aipw, "ipwra": te.ipw_ra}[
                method
            ]
            res = fn(effect_group=group) if method != "aipw" else fn()
            se = float(res.summary_frame().iloc[0, 1])
        except Exception:  # noqa: BLE001 - SE is optional; report without it
            return None
    return se if np.isfinite(se) else None
