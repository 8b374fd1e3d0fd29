"""Covariate balance diagnostics: standardised mean differences and variance ratios.

SMD = (mean_T - mean_C) / sqrt((s²_T + s²_C)/2) with the *unweighted* pooled SD
in the denominator both before and after matching, so the change reflects the
means only (Austin 2009; Stuart 2010). Variance ratio = s²_T / s²_C (weighted
after matching). |SMD| < 0.1 and variance ratios in [0.5, 2] are the usual
thresholds (Rubin 2001).

Pure module.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

SMD_THRESHOLD = 0.1
"""|SMD| above this flags imbalance (Austin 2009)."""


def _wmean_var(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    if w.sum() <= 0:
        return float("nan"), float("nan")
    m = float(np.average(x, weights=w))
    v1, v2 = w.sum(), (w**2).sum()
    denom = v1 - v2 / v1
    var = float(np.sum(w * (x - m) ** 2) / denom) if denom > 0 else 0.0
    return m, var


def balance_table(
    data: pd.DataFrame,
    *,
    treatment: str,
    covariates: Sequence[str],
    weights: str | None = None,
) -> pd.DataFrame:
    """Return one row per covariate with SMD and variance ratio before and after weighting.

    Args:
        data: Units (all of them, weight 0 = not matched).
        treatment: 0/1 column.
        covariates: Numeric covariates.
        weights: Column of matching/ATT weights; None gives "before" only.

    Returns:
        Columns covariate, mean_treated, mean_control, smd_before, var_ratio_before,
        and with weights mean_treated_after, mean_control_after, smd_after,
        var_ratio_after, balanced.

    Example:
        >>> df = pd.DataFrame({"t": [1, 1, 0, 0], "x": [1.0, 3.0, 1.0, 3.0]})
        >>> float(balance_table(df, treatment="t", covariates=["x"])["smd_before"][0])
        0.0
    """
    d = pd.to_numeric(data[treatment]).to_numpy()
    w_all = np.ones(len(d)) if weights is None else data[weights].to_numpy(float)
    rows = []
    for c in covariates:
        x = pd.to_numeric(data[c]).to_numpy(float)
        xt, xc = x[d == 1], x[d == 0]
        vt, vc = (
            float(np.var(xt, ddof=1)) if len(xt) > 1 else 0.0,
            float(np.var(xc, ddof=1)) if len(xc) > 1 else 0.0,
        )
        pooled = np.sqrt((vt + vc) / 2)
        row: dict[str, object] = {
            "covariate": c,
            "mean_treated": float(xt.mean()),
            "mean_control": float(xc.mean()),
            "smd_before": float((xt.mean() - xc.mean()) / pooled)
            if pooled > 0
            else 0.0,
            "var_ratio_before": vt / vc if vc > 0 else np.nan,
        }
        if weights is not None:
            mt, vtw = _wmean_var(xt, w_all[d == 1])
            mc, vcw = _wmean_var(xc, w_all[d == 0])
            smd = (mt - mc) / pooled if pooled > 0 else 0.0
            row.update(
                mean_treated_after=mt,
                mean_control_after=mc,
                smd_after=float(smd),
                var_ratio_after=vtw / vcw if vcw > 0 else np.nan,
                balanced=bool(abs(smd) < SMD_THRESHOLD),
            )
        rows.append(row)
    return pd.DataFrame(rows)
