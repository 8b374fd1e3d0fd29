"""Matching: comparator selection and matching estimators.

Two uses:

* `match_comparators` picks comparators for pilot units (practices or patients):
  propensity-score (logit) nearest neighbour k:1 with or without replacement
  and an optional caliper in SDs of the logit of the score (Austin 2011
  recommends 0.2), Mahalanobis nearest neighbour, exact matching on strata and
  coarsened exact matching (Iacus, King & Porro 2012). It returns the matched
  sample with weights, ready for DiD, plus balance before and after.
* `matching_estimator` reproduces Stata's `teffects psmatch` / `teffects nnmatch`:
  1-NN (or k-NN) with replacement, all ties at the minimal distance, both
  directions, optional exact cells and the Abadie–Imbens (2011) bias
  adjustment (regressions weighted by how often each unit is used as a match).

Pure module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from carepilot.errors import InputDataError, InsufficientDataError
from carepilot.evaluation._checks import (
    binary_column,
    check_full_rank,
    drop_missing,
    numeric_column,
    require_columns,
    require_min,
)
from carepilot.evaluation.balance import balance_table
from carepilot.evaluation.results import Effect, EvaluationResult
from carepilot.evaluation.treatment import fit_propensity

MATCH_METHODS = ("psm", "mahalanobis", "exact", "cem")


@dataclass
class MatchResult:
    """A matched sample and its diagnostics.

    Attributes:
        matched: Rows kept, with columns ``_weight`` (ATT weights: 1 for treated,
            summed k:1 shares for comparators) and ``_subclass`` (match set id).
        balance: Standardised mean differences and variance ratios before/after.
        n_treated_matched: Treated units that found at least one comparator.
        n_treated_unmatched: Treated units dropped (no comparator within caliper/cell).
        details: Method, k, caliper, replacement.
    """

    matched: pd.DataFrame
    balance: pd.DataFrame
    n_treated_matched: int
    n_treated_unmatched: int
    details: dict[str, object]


def _mahalanobis_matrix(xa: np.ndarray, xb: np.ndarray, vinv: np.ndarray) -> np.ndarray:
    diff = xa[:, None, :] - xb[None, :, :]
    return np.einsum("ijk,kl,ijl->ij", diff, vinv, diff)


def match_comparators(
    data: pd.DataFrame,
    *,
    treatment: str,
    covariates: Sequence[str],
    method: str = "psm",
    k: int = 1,
    replace: bool = False,
    caliper: float | None = 0.2,
    exact: Sequence[str] = (),
    cem_bins: int = 5,
    seed: int = 0,
) -> MatchResult:
    """Select matched comparators for treated units.

    Args:
        data: One row per unit (practice or patient) with pre-period characteristics.
        treatment: 0/1 column, 1 = pilot unit.
        covariates: Matching variables (pre-period outcomes and characteristics).
        method: ``"psm"``, ``"mahalanobis"``, ``"exact"`` or ``"cem"``.
        k: Comparators per treated unit (k:1).
        replace: Allow a comparator to be reused.
        caliper: For PSM, maximum distance in SDs of the logit propensity score
            (None = no caliper).
        exact: Columns that must match exactly (strata) for psm/mahalanobis.
        cem_bins: Equal-width bins per continuous covariate for CEM.
        seed: Seed for the random order of greedy matching without replacement.

    Returns:
        The matched sample with ATT weights, and balance before/after.

    Raises:
        InputDataError: missing columns, separation, collinear covariates.
        InsufficientDataError: too few comparators or no treated unit matched.
    """
    what = f"matching ({method})"
    if method not in MATCH_METHODS:
        raise InputDataError(
            f"{what}: method must be one of {MATCH_METHODS}, got {method!r}."
        )
    if k < 1:
        raise InputDataError(f"{what}: k must be at least 1.")
    covariates = list(covariates)
    require_columns(data, [treatment, *covariates, *exact], what)
    notes: list[str] = []
    frame = drop_missing(
        data, [treatment, *covariates, *exact], what, notes
    ).reset_index(drop=True)
    d = binary_column(frame, treatment, what).to_numpy()
    n1, n0 = int(d.sum()), int((1 - d).sum())
    require_min(n1, 1, what, "treated units", f"Check the {treatment!r} column.")
    require_min(
        n0,
        k if replace else max(k, 1),
        what,
        "potential comparators",
        "Add comparison units or lower k.",
    )
    if not replace and n0 < k * n1:
        notes.append(
            f"only {n0} comparators for {n1} treated units at {k}:1 without replacement; some treated units stay unmatched."
        )
    x = (
        np.column_stack([numeric_column(frame, c, what).to_numpy() for c in covariates])
        if covariates
        else np.empty((len(d), 0))
    )
    if method in ("exact", "cem"):
        weights, subclass = _stratified(
            frame, d, x, covariates, list(exact), method, cem_bins
        )
    else:
        if not covariates:
            raise InputDataError(f"{what}: give at least one covariate to match on.")
        check_full_rank(
            np.column_stack([np.ones(len(d)), x]), ["const", *covariates], what
        )
        if method == "psm":
            p, _ = fit_propensity(
                d, np.column_stack([np.ones(len(d)), x]), "logit", what
            )
            score = np.log(p / (1 - p))
            frame["_pscore"] = p
            dist_fn = lambda a, b: np.abs(score[a][:, None] - score[b][None, :])  # noqa: E731
            cal = None if caliper is None else caliper * float(np.std(score, ddof=1))
        else:
            vinv = np.linalg.pinv(
                np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])
            )
            dist_fn = lambda a, b: _mahalanobis_matrix(x[a], x[b], vinv)  # noqa: E731
            cal = None
        cells = (
            frame[list(exact)].astype(str).agg("|".join, axis=1).to_numpy()
            if exact
            else np.zeros(len(d), dtype=object)
        )
        weights, subclass = _nearest(
            d, cells, dist_fn, k, replace, cal, np.random.default_rng(seed)
        )
    frame["_weight"] = weights
    frame["_subclass"] = subclass
    matched_t = int(((d == 1) & (weights > 0)).sum())
    if matched_t == 0:
        raise InsufficientDataError(
            f"{what}: no treated unit found a comparator (caliper or exact cells too strict); widen the caliper or coarsen strata."
        )
    if matched_t < n1:
        notes.append(
            f"{n1 - matched_t} treated unit(s) had no comparator and were dropped: the estimand is the ATT on matched units."
        )
    kept = frame[weights > 0].copy()
    bal = balance_table(
        frame, treatment=treatment, covariates=covariates, weights="_weight"
    )
    return MatchResult(
        matched=kept,
        balance=bal,
        n_treated_matched=matched_t,
        n_treated_unmatched=n1 - matched_t,
        details={
            "method": method,
            "k": k,
            "replace": replace,
            "caliper": caliper,
            "exact": list(exact),
            "notes": notes,
        },
    )


def _nearest(
    d: np.ndarray,
    cells: np.ndarray,
    dist_fn,
    k: int,
    replace: bool,
    cal: float | None,
    rng: np.random.Generator,  # noqa: ANN001
) -> tuple[np.ndarray, np.ndarray]:
    n = len(d)
    weights = np.zeros(n)
    subclass = np.full(n, -1)
    used = np.zeros(n, bool)
    for cell in np.unique(cells):
        t_idx = np.flatnonzero((d == 1) & (cells == cell))
        c_idx = np.flatnonzero((d == 0) & (cells == cell))
        if len(t_idx) == 0 or len(c_idx) == 0:
            continue
        dist = dist_fn(t_idx, c_idx)
        order = rng.permutation(len(t_idx)) if not replace else np.arange(len(t_idx))
        for r in order:
            i = t_idx[r]
            row = dist[r].copy()
            if not replace:
                row[used[c_idx]] = np.inf
            if cal is not None:
                row[row > cal] = np.inf
            pick = np.argsort(row, kind="stable")[:k]
            pick = pick[np.isfinite(row[pick])]
            if len(pick) == 0:
                continue
            weights[i] = 1.0
            subclass[i] = i
            for j in c_idx[pick]:
                weights[j] += 1.0 / len(pick)
                subclass[j] = i if subclass[j] < 0 else subclass[j]
                used[j] = True
    return weights, subclass


def _stratified(
    frame: pd.DataFrame,
    d: np.ndarray,
    x: np.ndarray,
    covariates: list[str],
    exact: list[str],
    method: str,
    bins: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact / coarsened exact matching with the CEM ATT weights.

    Weight for a comparator in stratum s: (n_t,s / n_c,s)·(N_c,matched / N_t,matched)
    (Iacus, King & Porro 2012, section 3); treated units get 1.
    """
    keys = []
    for j in range(len(covariates)):
        col = x[:, j]
        if method == "cem" and len(np.unique(col)) > bins:
            edges = np.linspace(col.min(), col.max(), bins + 1)
            keys.append(np.digitize(col, edges[1:-1]).astype(str))
        else:
            keys.append(col.astype(str))
    for c in exact:
        keys.append(frame[c].astype(str).to_numpy())
    stratum = pd.Series(
        ["|".join(parts) for parts in zip(*keys, strict=True)]
        if keys
        else ["all"] * len(d)
    )
    codes = pd.factorize(stratum)[0]
    weights = np.zeros(len(d))
    nt = pd.Series(d).groupby(codes).sum()
    nc = pd.Series(1 - d).groupby(codes).sum()
    ok = (nt > 0) & (nc > 0)
    matched = np.isin(codes, ok[ok].index)
    n_t_m = int((matched & (d == 1)).sum())
    n_c_m = int((matched & (d == 0)).sum())
    for s in ok[ok].index:
        m = codes == s
        weights[m & (d == 1)] = 1.0
        weights[m & (d == 0)] = (nt[s] / nc[s]) * (n_c_m / n_t_m) if n_t_m else 0.0
    # rescale so comparator weights sum to the number of matched treated (ATT scale)
    if n_c_m:
        weights[d == 0] *= n_t_m / weights[d == 0].sum()
    subclass = np.where(matched, codes, -1)
    return weights, subclass


def _match_blocks(
    units: np.ndarray,
    d: np.ndarray,
    cells: np.ndarray,
    feat: np.ndarray,
    vinv: np.ndarray,
    k: int,
    what: str,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Match sets per (cell, arm) block: rows, candidates, tie-inclusive mask, counts."""
    out = []
    for cell in np.unique(cells[units]):
        for arm in (0, 1):
            rows_all = units[(cells[units] == cell) & (d[units] == arm)]
            if len(rows_all) == 0:
                continue
            cand = np.flatnonzero((d != arm) & (cells == cell))
            if len(cand) == 0:
                raise InsufficientDataError(
                    f"{what}: some units have no comparator in their exact-match cell; coarsen the exact-match variables."
                )
            for start in range(0, len(rows_all), 256):
                rows = rows_all[start : start + 256]
                diff = feat[rows][:, None, :] - feat[cand][None, :, :]
                dist = np.einsum("ijk,kl,ijl->ij", diff, vinv, diff)
                kth = np.partition(dist, min(k, len(cand)) - 1, axis=1)[
                    :, min(k, len(cand)) - 1
                ]
                mask = (dist <= kth[:, None]).astype(float)
                out.append((rows, cand, mask, mask.sum(axis=1)))
    return out


def matching_estimator(
    data: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    covariates: Sequence[str],
    distance: str = "pscore",
    exact: Sequence[str] = (),
    bias_adjust: Sequence[str] = (),
    n_neighbors: int = 1,
    estimand: str = "ate",
) -> EvaluationResult:
    """Nearest-neighbour matching estimator with replacement and all ties (Stata teffects).

    For unit i in arm w, Y_i(1-w) is imputed as the mean over its matches J(i)
    (the ``n_neighbors`` nearest plus all ties) of Y_j, or with bias adjustment
    Y_j + mu_{1-w}(X_i) - mu_{1-w}(X_j) (Abadie & Imbens 2006, 2011). The ATE
    averages Y_i(1) - Y_i(0) over all units, the ATT over the treated.

    Args:
        data: One row per patient.
        outcome: Outcome column.
        treatment: 0/1 treatment column.
        covariates: Propensity covariates (``distance="pscore"``, logit
            probability) or Mahalanobis covariates (``distance="mahalanobis"``,
            inverse full-sample covariance).
        distance: ``"pscore"`` or ``"mahalanobis"``.
        exact: Columns to match exactly.
        bias_adjust: Covariates of the bias-adjustment regressions.
        n_neighbors: Matches per unit (before ties).
        estimand: ``"ate"`` or ``"att"``.

    Returns:
        Headline effect (no SE: Abadie–Imbens variance is not implemented) and
        ``max_matches`` in details.
    """
    what = f"matching estimator ({distance})"
    if distance not in ("pscore", "mahalanobis"):
        raise InputDataError(f"{what}: distance must be 'pscore' or 'mahalanobis'.")
    covariates, exact, bias_adjust = list(covariates), list(exact), list(bias_adjust)
    require_columns(data, [outcome, treatment, *covariates, *exact, *bias_adjust], what)
    notes: list[str] = []
    frame = drop_missing(
        data,
        list(dict.fromkeys([outcome, treatment, *covariates, *exact, *bias_adjust])),
        what,
        notes,
    )
    y = numeric_column(frame, outcome, what).to_numpy()
    d = binary_column(frame, treatment, what).to_numpy()
    require_min(
        int(d.sum()), 1, what, "treated patients", "Check the treatment column."
    )
    require_min(
        int((1 - d).sum()), n_neighbors, what, "comparison patients", "Add comparators."
    )
    x = np.column_stack([numeric_column(frame, c, what).to_numpy() for c in covariates])
    check_full_rank(np.column_stack([np.ones(len(d)), x]), ["const", *covariates], what)
    if distance == "pscore":
        p, _ = fit_propensity(d, np.column_stack([np.ones(len(d)), x]), "logit", what)
        feat = p[:, None]
        vinv = np.eye(1)
    else:
        feat = x
        vinv = np.linalg.inv(np.cov(x, rowvar=False))
    cells = (
        frame[exact].astype(str).agg("|".join, axis=1).to_numpy()
        if exact
        else np.zeros(len(d), dtype=object)
    )
    units = np.arange(len(y)) if estimand == "ate" else np.flatnonzero(d == 1)
    blocks = _match_blocks(units, d, cells, feat, vinv, n_neighbors, what)
    use = np.zeros(len(y))
    max_matches = 0
    for _rows, cand, mask, count in blocks:
        use[cand] += (mask / count[:, None]).sum(axis=0)
        max_matches = max(max_matches, int(count.max()))
    mu: dict[int, np.ndarray] = {}
    if bias_adjust:
        xb = np.column_stack(
            [
                np.ones(len(y)),
                *[numeric_column(frame, c, what).to_numpy() for c in bias_adjust],
            ]
        )
        for g in (0, 1):
            m = (d == g) & (use > 0)
            sw = np.sqrt(use[m])
            beta, *_ = np.linalg.lstsq(xb[m] * sw[:, None], y[m] * sw, rcond=None)
            mu[g] = xb @ beta
    imputed = np.full(len(y), np.nan)
    for rows, cand, mask, count in blocks:
        g = int(1 - d[rows[0]])
        yc = y[cand] - (mu[g][cand] if bias_adjust else 0.0)
        imputed[rows] = (mask @ yc) / count + (mu[g][rows] if bias_adjust else 0.0)
    y1 = np.where(d == 1, y, imputed)
    y0 = np.where(d == 0, y, imputed)
    sel = units
    est = float(np.mean(y1[sel] - y0[sel]))
    return EvaluationResult(
        method=f"match:{distance}",
        estimand=estimand.upper(),
        effects=[Effect(estimand, est)],
        n_obs=len(y),
        n_treated=int(d.sum()),
        details={
            "max_matches": max_matches,
            "n_neighbors": n_neighbors,
            "exact": exact,
            "bias_adjust": bias_adjust,
        },
        notes=[
            *notes,
            "no standard error: the Abadie-Imbens matching variance is not implemented; use ipw/aipw for inference.",
        ],
    )
