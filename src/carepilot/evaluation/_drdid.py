"""Two-period panel DiD estimators with influence functions (Sant'Anna & Zhao 2020).

These are the building blocks of the Callaway–Sant'Anna group-time ATT: for one
(g, t) cell they take the outcome change ``dy = Y_t - Y_base``, a treatment flag
``d`` (1 = cohort g) and covariates ``x`` (with intercept) and return the ATT
and its influence function, following `DRDID::reg_did_panel`,
`DRDID::std_ipw_did_panel` and `DRDID::drdid_panel` (the estimators the R `did`
package uses for ``est_method = "reg" / "ipw" / "dr"``).

Pure module.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import statsmodels.api as sm

from carepilot.errors import InputDataError

PS_TRIM = 1.0 - 1e-6
"""Upper trim of propensity scores, as in DRDID (``pmin(ps, 1 - 1e-6)``)."""


@dataclass(frozen=True)
class CellEstimate:
    """ATT of one 2x2 comparison and its influence function (one value per unit)."""

    att: float
    influence: np.ndarray


def fit_logit(d: np.ndarray, x: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Fit a logistic propensity model; return fitted p and the inverse Hessian·n.

    Raises:
        InputDataError: on perfect or quasi-perfect separation, where the
            propensity score is 0 or 1 for some units and weighting breaks down.
    """
    n = len(d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = sm.GLM(d, x, family=sm.families.Binomial()).fit()
        except Exception as exc:  # statsmodels raises PerfectSeparationError variants
            raise _separation(what) from exc
    p = np.asarray(fit.fittedvalues, dtype=float)
    if not np.all(np.isfinite(p)) or p.min() < 1e-8 or p.max() > 1 - 1e-8:
        raise _separation(what)
    w = p * (1 - p)
    hessian_inv_n = np.linalg.inv((x * w[:, None]).T @ x / n)
    return p, hessian_inv_n


def _separation(what: str) -> InputDataError:
    return InputDataError(
        f"{what}: perfect separation in the propensity-score model - some covariate "
        "pattern occurs only among treated (or only among comparison) units, so the "
        "propensity score is 0 or 1. Drop or coarsen that covariate, or restrict to "
        "the region of common support."
    )


def _ols_lin_rep(
    dy: np.ndarray, d: np.ndarray, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Outcome regression of dy on x among controls; fitted values and lin. rep."""
    n = len(dy)
    ctrl = d == 0
    beta, *_ = np.linalg.lstsq(x[ctrl], dy[ctrl], rcond=None)
    fitted = x @ beta
    w_ols = (1 - d)[:, None]
    xpx_inv = np.linalg.inv((w_ols * x).T @ x / n)
    lin_rep = (w_ols * (dy - fitted)[:, None] * x) @ xpx_inv
    return fitted, lin_rep


def reg_did(dy: np.ndarray, d: np.ndarray, x: np.ndarray, what: str) -> CellEstimate:
    """Outcome-regression DiD (Heckman, Ichimura & Todd 1997; DRDID::reg_did_panel).

    ATT = mean_{D=1}(dy) - mean_{D=1}(x'beta_0), beta_0 from OLS of dy on x
    among controls.
    """
    fitted, lin_rep = _ols_lin_rep(dy, d, x)
    w_t = d.astype(float)
    eta_t = np.mean(w_t * dy) / np.mean(w_t)
    eta_c = np.mean(w_t * fitted) / np.mean(w_t)
    inf_t = (w_t * dy - w_t * eta_t) / np.mean(w_t)
    m1 = np.mean(w_t[:, None] * x, axis=0)
    inf_c = (w_t * fitted - w_t * eta_c + lin_rep @ m1) / np.mean(w_t)
    return CellEstimate(float(eta_t - eta_c), inf_t - inf_c)


def ipw_did(dy: np.ndarray, d: np.ndarray, x: np.ndarray, what: str) -> CellEstimate:
    """Normalised IPW DiD (Abadie 2005; DRDID::std_ipw_did_panel).

    ATT = sum(D·dy)/sum(D) - sum(w0·dy)/sum(w0), w0 = (1-D)·p/(1-p).
    """
    n = len(dy)
    p, h = fit_logit(d, x, what)
    p = np.minimum(p, PS_TRIM)
    w_t = d.astype(float)
    w_c = p * (1 - d) / (1 - p)
    eta_t = np.mean(w_t * dy) / np.mean(w_t)
    eta_c = np.mean(w_c * dy) / np.mean(w_c)
    score = (d - p)[:, None] * x
    lin_rep_ps = score @ h
    inf_t = (w_t * dy - w_t * eta_t) / np.mean(w_t)
    m2 = np.mean((w_c * (dy - eta_c))[:, None] * x, axis=0)
    inf_c = (w_c * dy - w_c * eta_c + lin_rep_ps @ m2) / np.mean(w_c)
    del n
    return CellEstimate(float(eta_t - eta_c), inf_t - inf_c)


def dr_did(dy: np.ndarray, d: np.ndarray, x: np.ndarray, what: str) -> CellEstimate:
    """Doubly robust DiD (Sant'Anna & Zhao 2020, eq. 3.1; DRDID::drdid_panel).

    ATT = E_n[(w1 - w0)(dy - x'beta_0)] with Hajek-normalised
    w1 = D/E_n[D], w0 = p(1-D)/(1-p) / E_n[p(1-D)/(1-p)].
    """
    p, h = fit_logit(d, x, what)
    p = np.minimum(p, PS_TRIM)
    fitted, lin_rep_ols = _ols_lin_rep(dy, d, x)
    w_t = d.astype(float)
    w_c = p * (1 - d) / (1 - p)
    resid = dy - fitted
    eta_t = np.mean(w_t * resid) / np.mean(w_t)
    eta_c = np.mean(w_c * resid) / np.mean(w_c)
    lin_rep_ps = ((d - p)[:, None] * x) @ h
    inf_t1 = w_t * resid - w_t * eta_t
    m1 = np.mean(w_t[:, None] * x, axis=0)
    inf_t = (inf_t1 - lin_rep_ols @ m1) / np.mean(w_t)
    inf_c1 = w_c * resid - w_c * eta_c
    m2 = np.mean((w_c * (resid - eta_c))[:, None] * x, axis=0)
    m3 = np.mean(w_c[:, None] * x, axis=0)
    inf_c = (inf_c1 + lin_rep_ps @ m2 - lin_rep_ols @ m3) / np.mean(w_c)
    return CellEstimate(float(eta_t - eta_c), inf_t - inf_c)


ESTIMATORS = {"reg": reg_did, "ipw": ipw_did, "dr": dr_did}
"""Two-period estimators by the names the R `did` package uses (est_method)."""
