"""Patient-level treatment effects: regression adjustment, IPW, AIPW, IPWRA.

Point estimates (Stata `teffects` definitions; Cattaneo 2010; Wooldridge 2010 ch. 21):

* RA: ATE = mean_i [m1(X_i) - m0(X_i)], m_d = OLS of y on X in arm d.
* IPW (normalised/Hajek): mu1 = sum(D·y/p)/sum(D/p), mu0 = sum((1-D)·y/(1-p))/sum((1-D)/(1-p)).
* AIPW: mean[m1 + D(y - m1)/p] - mean[m0 + (1-D)(y - m0)/(1-p)] (Robins, Rotnitzky & Zhao 1994).
* IPWRA: RA with arm regressions weighted by 1/p (treated) and 1/(1-p) (controls).
* ATT versions average over the treated and weight controls by p/(1-p). The
  doubly robust ATT (``aipw``, ``estimand="att"``) is the Sant'Anna & Zhao (2020)
  cross-section form: mean over the treated of (y - m0(X)) minus the
  Hajek-weighted mean of control residuals (y - m0(X)) with weights p/(1-p),
  m0 fitted by OLS on the controls. It is consistent if either the propensity
  model or the control outcome model is right (Stata's `teffects aipw` has no
  ATET; this is `DRDID::drdid_panel` applied to a single outcome).

Inference: every estimator is an exactly identified M-estimator, so we stack its
estimating equations (propensity score, outcome models, potential-outcome
means) and take the sandwich. Each patient's influence function is
``-A⁻¹ψ_i`` (A = mean Jacobian of the moments, computed by central differences,
ψ_i the patient's moment contributions); the effect's influence function is its
linear combination. Without ``cluster`` the variance is ``Σ IF_i² / n²`` (the
GMM sandwich of Stata's `teffects`; matches its published SEs). With
``cluster`` the influence functions are summed within clusters first:
``G/(G-1) · Σ_g (Σ_{i∈g} IF_i)² / n²`` with a t(G-1) reference, because when
treatment is assigned by practice, patients of one practice share shocks and
the patient-level SEs are far too small.

Pure module.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import special, stats

from carepilot.errors import InputDataError
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
FEW_CLUSTERS = 20
"""Below this many clusters the report warns that cluster-robust SEs are imprecise."""


def fit_propensity(
    d: np.ndarray, x: np.ndarray, link: str, what: str
) -> tuple[np.ndarray, Any]:
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


def _arm_beta(
    y: np.ndarray, x: np.ndarray, mask: np.ndarray, w: np.ndarray | None = None
) -> np.ndarray:
    sw = np.ones(int(mask.sum())) if w is None else np.sqrt(w[mask])
    beta, *_ = np.linalg.lstsq(x[mask] * sw[:, None], y[mask] * sw, rcond=None)
    return beta


@dataclass(frozen=True)
class TreatmentFit:
    """A treatment-effect estimate with its per-row influence function.

    Attributes:
        result: What `treatment_effect` returns.
        influence: Influence function of the headline effect, one value per row
            used (indexed like the input rows): ``estimate - truth ≈ mean(IF)``.
            Summing it within clusters gives cluster-robust variances, also
            across several estimates on overlapping clusters (group gaps).
        pomean_influence: Influence functions of the two potential-outcome means
            (columns ``treated``, ``control``; their difference is ``influence``),
            for ratios such as the relative effect by the delta method.
        propensity: Fitted propensity scores (None for RA), for balance weights.
    """

    result: EvaluationResult
    influence: pd.Series
    pomean_influence: pd.DataFrame
    propensity: pd.Series | None = None


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
    cluster: str | None = None,
    cluster_df: str = "clusters",
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
        cluster: Column of the assigned unit (e.g. practice): cluster-robust SEs
            (influence functions summed within clusters, G/(G-1) correction,
            t reference with G-1 degrees of freedom).
        cluster_df: Degrees of freedom of the t reference with ``cluster``:
            ``"clusters"`` (G - 1, the usual CR1 choice) or ``"arms"``
            (min(G_treated, G_control) - 1): more honest when treatment is
            assigned to few clusters, e.g. 8 pilot practices among 24, where
            G - 1 intervals under-cover (about 88-90 % in our pilot simulation).

    Returns:
        Headline effect named after ``estimand``; details hold the potential-outcome
        means, propensity-score range and SE type.

    Raises:
        InputDataError: bad columns, separation, collinear covariates, fewer than
            two clusters.
        InsufficientDataError: too few treated or comparison patients.
    """
    return treatment_effect_fit(
        data,
        outcome=outcome,
        treatment=treatment,
        covariates=covariates,
        treatment_covariates=treatment_covariates,
        method=method,
        estimand=estimand,
        link=link,
        cluster=cluster,
        cluster_df=cluster_df,
    ).result


def treatment_effect_fit(
    data: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    covariates: Sequence[str] = (),
    treatment_covariates: Sequence[str] | None = None,
    method: str = "aipw",
    estimand: str = "ate",
    link: str = "logit",
    cluster: str | None = None,
    cluster_df: str = "clusters",
) -> TreatmentFit:
    """`treatment_effect` plus the effect's influence function (see `TreatmentFit`)."""
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
    if cluster_df not in ("clusters", "arms"):
        raise InputDataError(
            f"{what}: cluster_df must be 'clusters' (G - 1) or 'arms' "
            f"(min(G_treated, G_control) - 1), got {cluster_df!r}."
        )
    covariates = list(covariates)
    tcov = covariates if treatment_covariates is None else list(treatment_covariates)
    require_columns(data, [outcome, treatment, *covariates, *tcov, cluster], what)
    notes: list[str] = []
    used = [outcome, treatment, *covariates, *tcov]
    if cluster is not None:
        used.append(cluster)
    frame = drop_missing(data, list(dict.fromkeys(used)), what, notes)
    y = numeric_column(frame, outcome, what).to_numpy()
    d = binary_column(frame, treatment, what).to_numpy().astype(float)
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
    groups: np.ndarray | None = None
    if cluster is not None:
        groups = pd.factorize(frame[cluster])[0]
        n_clusters = int(groups.max()) + 1
        if n_clusters < 2:
            raise InputDataError(
                f"{what}: cluster column {cluster!r} has {n_clusters} distinct value; "
                "cluster-robust SEs need at least 2 clusters (ideally 20+). Drop "
                "--cluster or cluster by a coarser-grained unit that varies."
            )
    prob = _Problem(y, d, xo, xt, method, estimand, link)
    theta, pres = prob.estimate(what)
    po_influence = prob.pomean_influence(theta)
    influence = po_influence[:, 0] - po_influence[:, 1]
    mu1, mu0 = prob.pomeans(theta)
    est = float(mu1 - mu0)
    n = len(y)
    details: dict[str, object] = {
        "pomean_treated": float(mu1),
        "pomean_control": float(mu0),
        "link": link if method != "ra" else None,
        "covariates": covariates,
        "treatment_covariates": tcov if method != "ra" else None,
    }
    if groups is None:
        se = float(np.sqrt(np.sum(influence**2)) / n)
        effect = Effect.from_normal(estimand, est, se)
        details["se_type"] = "GMM sandwich (stacked estimating equations)"
    else:
        n_clusters = int(groups.max()) + 1
        sums = np.bincount(groups, weights=influence, minlength=n_clusters)
        se = float(np.sqrt(n_clusters / (n_clusters - 1) * np.sum(sums**2)) / n)
        treated_clusters = int(np.unique(groups[d == 1]).size)
        control_clusters = int(np.unique(groups[d == 0]).size)
        df = (
            n_clusters - 1
            if cluster_df == "clusters"
            else max(min(treated_clusters, control_clusters) - 1, 1)
        )
        effect = Effect.from_normal(estimand, est, se, df=df)
        details.update(
            se_type=(
                f"cluster-robust sandwich by {cluster} (influence functions summed "
                "within clusters, G/(G-1) correction, t reference)"
            ),
            cluster=cluster,
            n_clusters=n_clusters,
            n_clusters_treated=treated_clusters,
            n_clusters_control=control_clusters,
            df=df,
            cluster_df=cluster_df,
        )
        if min(treated_clusters, control_clusters) < FEW_CLUSTERS:
            notes.append(
                f"only {treated_clusters} cluster(s) hold treated and "
                f"{control_clusters} hold comparison patients: cluster-robust SEs "
                "rest on few clusters and can be too small (t reference with "
                f"{df} df); read the interval as approximate."
            )
    if pres is not None:
        p = prob.propensity(theta)
        details["propensity_range"] = [float(p.min()), float(p.max())]
        extreme = int(((p < 0.01) | (p > 0.99)).sum())
        if extreme:
            notes.append(
                f"{extreme} patient(s) have propensity scores outside [0.01, 0.99]: limited overlap, weights are unstable."
            )
    result = EvaluationResult(
        method=method,
        estimand=estimand.upper(),
        effects=[effect],
        n_obs=n,
        n_units=None if groups is None else int(groups.max()) + 1,
        n_treated=n1,
        details=details,
        notes=notes,
    )
    return TreatmentFit(
        result,
        pd.Series(influence, index=frame.index, name="if"),
        pd.DataFrame(po_influence, index=frame.index, columns=["treated", "control"]),
        None if pres is None else pd.Series(prob.propensity(theta), index=frame.index),
    )


@dataclass(frozen=True)
class _Problem:
    """The stacked estimating equations of one estimator.

    Parameters, in order: propensity coefficients (not for RA), outcome-model
    coefficients for the treated and control arms (not for IPW), then the
    potential-outcome means (mu1, mu0), or for the doubly robust ATT
    (mu1, a, b) with mu0 = a + b: a = mean over treated of m0(X), b = weighted
    mean of control residuals.
    """

    y: np.ndarray
    d: np.ndarray
    xo: np.ndarray
    xt: np.ndarray
    method: str
    estimand: str
    link: str

    @property
    def kt(self) -> int:
        return 0 if self.method == "ra" else self.xt.shape[1]

    @property
    def ko(self) -> int:
        return 0 if self.method == "ipw" else self.xo.shape[1]

    @property
    def dr_att(self) -> bool:
        return self.method == "aipw" and self.estimand == "att"

    def propensity(self, theta: np.ndarray) -> np.ndarray:
        eta = self.xt @ theta[: self.kt]
        if self.link == "logit":
            return special.expit(eta)
        return stats.norm.cdf(eta)

    def pomeans(self, theta: np.ndarray) -> tuple[float, float]:
        mu = theta[self.kt + 2 * self.ko :]
        if self.dr_att:
            return float(mu[0]), float(mu[1] + mu[2])
        return float(mu[0]), float(mu[1])

    def estimate(self, what: str) -> tuple[np.ndarray, Any]:
        """Closed-form point estimates, assembled into the parameter vector."""
        y, d, xo = self.y, self.d, self.xo
        t1, c0 = d == 1, d == 0
        parts: list[np.ndarray] = []
        pres: Any = None
        p = np.full(len(y), np.nan)
        if self.kt:
            p, pres = fit_propensity(d, self.xt, self.link, what)
            parts.append(np.asarray(pres.params, dtype=float))
        w: np.ndarray | None = None
        if self.method == "ipwra":
            w = (
                np.where(t1, 1 / p, 1 / (1 - p))
                if self.estimand == "ate"
                else np.where(t1, 1.0, p / (1 - p))
            )
        b1 = b0 = np.zeros(0)
        if self.ko:
            b1, b0 = _arm_beta(y, xo, t1, w), _arm_beta(y, xo, c0, w)
            parts += [b1, b0]
        sel = np.ones(len(y), bool) if self.estimand == "ate" else t1
        if self.method in ("ra", "ipwra"):
            mus = [(xo @ b1)[sel].mean(), (xo @ b0)[sel].mean()]
        elif self.method == "ipw":
            if self.estimand == "ate":
                w1, w0 = d / p, (1 - d) / (1 - p)
            else:
                w1, w0 = d, (1 - d) * p / (1 - p)
            mus = [np.sum(w1 * y) / w1.sum(), np.sum(w0 * y) / w0.sum()]
        elif self.estimand == "ate":
            m1, m0 = xo @ b1, xo @ b0
            mus = [
                np.mean(m1 + d * (y - m1) / p),
                np.mean(m0 + (1 - d) * (y - m0) / (1 - p)),
            ]
        else:
            m0 = xo @ b0
            w0 = (1 - d) * p / (1 - p)
            mus = [y[t1].mean(), m0[t1].mean(), np.sum(w0 * (y - m0)) / w0.sum()]
        parts.append(np.asarray(mus, dtype=float))
        return np.concatenate(parts), pres

    def moments(self, theta: np.ndarray) -> np.ndarray:
        """Per-row estimating-equation contributions ψ_i(θ), shape (n, k)."""
        y, d, xo, xt = self.y, self.d, self.xo, self.xt
        n = len(y)
        cols: list[np.ndarray] = []
        p = np.full(n, np.nan)
        if self.kt:
            eta = xt @ theta[: self.kt]
            if self.link == "logit":
                p = special.expit(eta)
                score = d - p
            else:
                p = stats.norm.cdf(eta)
                score = stats.norm.pdf(eta) * (d - p) / (p * (1 - p))
            cols.append(score[:, None] * xt)
        off = self.kt
        m1 = m0 = np.zeros(n)
        if self.ko:
            b1 = theta[off : off + self.ko]
            b0 = theta[off + self.ko : off + 2 * self.ko]
            off += 2 * self.ko
            m1, m0 = xo @ b1, xo @ b0
            w = np.ones(n)
            if self.method == "ipwra":
                w = (
                    np.where(d == 1, 1 / p, 1 / (1 - p))
                    if self.estimand == "ate"
                    else np.where(d == 1, 1.0, p / (1 - p))
                )
            cols.append((d * w * (y - m1))[:, None] * xo)
            cols.append(((1 - d) * w * (y - m0))[:, None] * xo)
        mu = theta[off:]
        sel = np.ones(n) if self.estimand == "ate" else d
        if self.method in ("ra", "ipwra"):
            cols.append(np.column_stack([sel * (m1 - mu[0]), sel * (m0 - mu[1])]))
        elif self.method == "ipw":
            if self.estimand == "ate":
                w1, w0 = d / p, (1 - d) / (1 - p)
            else:
                w1, w0 = d, (1 - d) * p / (1 - p)
            cols.append(np.column_stack([w1 * (y - mu[0]), w0 * (y - mu[1])]))
        elif self.estimand == "ate":
            cols.append(
                np.column_stack(
                    [
                        m1 + d * (y - m1) / p - mu[0],
                        m0 + (1 - d) * (y - m0) / (1 - p) - mu[1],
                    ]
                )
            )
        else:
            w0 = (1 - d) * p / (1 - p)
            cols.append(
                np.column_stack(
                    [d * (y - mu[0]), d * (m0 - mu[1]), w0 * (y - m0 - mu[2])]
                )
            )
        return np.column_stack(cols)

    def pomean_influence(self, theta: np.ndarray) -> np.ndarray:
        """Influence functions of (mu1, mu0), shape (n, 2): C(-A⁻¹ψ_i) per row."""
        psi = self.moments(theta)
        # steps: the propensity coefficients move the index x'gamma by <= 1e-4
        # whatever the covariate's scale (mage² ~ 10³); the other parameters
        # enter linearly, so any step is exact up to rounding
        steps = 1e-4 * np.maximum(1.0, np.abs(theta))
        if self.kt:
            steps[: self.kt] = 1e-4 / np.maximum(1.0, np.abs(self.xt).max(axis=0))
        jac = _mean_jacobian(lambda t: self.moments(t).mean(axis=0), theta, steps)
        k = len(theta)
        c = np.zeros((k, 2))
        if self.dr_att:  # mu1 = theta[-3], mu0 = a + b = theta[-2] + theta[-1]
            c[k - 3, 0] = 1.0
            c[k - 2 :, 1] = 1.0
        else:
            c[k - 2, 0] = 1.0
            c[k - 1, 1] = 1.0
        try:
            # IF_i = -C' A^{-1} psi_i  =  psi_i' V with A' V = -C
            v = np.linalg.solve(jac.T, -c)
        except np.linalg.LinAlgError as exc:
            raise InputDataError(
                "treatment effect: the estimating equations are singular (a covariate "
                "has no variation within an arm, or weights are degenerate); drop "
                "near-constant covariates."
            ) from exc
        return psi @ v


def _mean_jacobian(
    fn: Callable[[np.ndarray], np.ndarray], theta: np.ndarray, steps: np.ndarray
) -> np.ndarray:
    """Jacobian of the mean moments by central differences (exact for the linear blocks)."""
    k = len(theta)
    jac = np.empty((k, k))
    for j in range(k):
        h = float(steps[j])
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        jac[:, j] = (fn(up) - fn(down)) / (2 * h)
    return jac
