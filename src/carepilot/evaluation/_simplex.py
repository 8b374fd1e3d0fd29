"""Least squares on the probability simplex, two ways.

* `simplex_lstsq`: the exact minimiser of ||A w - b||² subject to w >= 0 and
  sum(w) = 1 (the synthetic-control weight problem of Abadie, Diamond &
  Hainmueller 2010 with V = I), solved as a non-negative least-squares problem
  with the sum-to-one constraint as a heavily weighted extra row, then polished
  by solving the KKT system on the active set.
* `sc_weight_fw`: a port of the Frank–Wolfe solver of the R package synthdid
  (Arkhangelsky et al. 2021, `sc.weight.fw`, exact line search, ridge penalty,
  stopping when the objective falls by less than ``min_decrease²``), needed to
  reproduce synthdid's published numbers exactly.

Pure module.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize


def simplex_lstsq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return argmin_w ||a w - b||² over the simplex {w >= 0, sum w = 1}.

    Example:
        >>> w = simplex_lstsq(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0.3, 0.7]))
        >>> [round(float(v), 6) for v in w]
        [0.3, 0.7]
    """
    k = a.shape[1]
    scale = max(float(np.abs(a).max()), 1.0)
    big = 1e3 * scale * np.sqrt(a.shape[0])
    a_aug = np.vstack([a, big * np.ones((1, k))])
    b_aug = np.concatenate([b, [big]])
    w, _ = optimize.nnls(a_aug, b_aug, maxiter=50 * k)
    if w.sum() <= 0:
        return np.full(k, 1 / k)
    w = w / w.sum()
    # Polish: solve the equality-constrained problem exactly on the support (KKT).
    support = np.flatnonzero(w > 0)
    a_s = a[:, support]
    m = len(support)
    kkt = np.zeros((m + 1, m + 1))
    kkt[:m, :m] = 2 * a_s.T @ a_s
    kkt[:m, m] = 1.0
    kkt[m, :m] = 1.0
    rhs = np.concatenate([2 * a_s.T @ b, [1.0]])
    try:
        sol = np.linalg.solve(kkt, rhs)[:m]
    except np.linalg.LinAlgError:
        return w
    if np.all(sol >= 0):
        polished = np.zeros(k)
        polished[support] = sol
        if np.sum((a @ polished - b) ** 2) <= np.sum((a @ w - b) ** 2) + 1e-12:
            return polished
    return w


def _fw_step(a: np.ndarray, x: np.ndarray, b: np.ndarray, eta: float) -> np.ndarray:
    ax = a @ x
    half_grad = (ax - b) @ a + eta * x
    i = int(np.argmin(half_grad))
    d_x = -x.copy()
    d_x[i] = 1 - x[i]
    if np.all(d_x == 0):
        return x
    d_err = a[:, i] - ax
    step = -(half_grad @ d_x) / (d_err @ d_err + eta * (d_x @ d_x))
    return x + min(1.0, max(0.0, float(step))) * d_x


def sc_weight_fw(
    y: np.ndarray,
    zeta: float,
    *,
    intercept: bool = True,
    weights: np.ndarray | None = None,
    min_decrease: float = 1e-3,
    max_iter: int = 1000,
) -> np.ndarray:
    """synthdid's Frank–Wolfe weights: the last column of ``y`` is the target.

    Minimises zeta²·||w||² + ||A w - b||²/N over the simplex, where A = y[:, :-1],
    b = y[:, -1] (columns demeaned when ``intercept``), N = rows.
    """
    n_rows, n_cols = y.shape
    k = n_cols - 1
    w = np.full(k, 1 / k) if weights is None else weights.astype(float).copy()
    if intercept:
        y = y - y.mean(axis=0, keepdims=True)
    a, b = y[:, :k], y[:, k]
    eta = n_rows * zeta**2
    vals: list[float] = []
    t = 0
    while t < max_iter and (t < 2 or vals[t - 2] - vals[t - 1] > min_decrease**2):
        t += 1
        w = _fw_step(a, w, b, eta)
        err = y @ np.append(w, -1.0)
        vals.append(zeta**2 * float(w @ w) + float(err @ err) / n_rows)
    return w


def sparsify(w: np.ndarray) -> np.ndarray:
    """Zero weights <= max/4 and renormalise (synthdid's default sparsifier)."""
    v = w.copy()
    v[v <= v.max() / 4] = 0
    return v / v.sum()
