"""Difference-in-differences: the 2x2 regression and two-way fixed effects.

* `did_2x2`: ``y = a + b1·G + b2·P + tau·G·P (+ X'g) + e`` by OLS, where G marks
  the treated group and P the post period; ``tau`` is the DiD (Card & Krueger
  1994; Angrist & Pischke 2009, ch. 5). Conventional, HC1 or cluster-robust (CR1)
  standard errors.
* `twfe`: ``y_it = a_i + l_t + tau·D_it (+ X_it'g) + e_it`` with unit and time
  fixed effects (linearmodels `PanelOLS`), cluster-robust SEs at the assigned
  unit. Under staggered adoption with heterogeneous effects TWFE is a weighted
  average with possibly negative weights (Goodman-Bacon 2021), so the result
  carries a note pointing to `staggered`.

Pure module: no web, database, template or file I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
from linearmodels.panel import PanelOLS
from linearmodels.panel.utility import AbsorbingEffectError

from carepilot.errors import InputDataError, InsufficientDataError
from carepilot.evaluation._checks import (
    absorbed_treatment,
    binary_column,
    check_full_rank,
    drop_missing,
    numeric_column,
    require_columns,
    require_min,
)
from carepilot.evaluation.results import Effect, EvaluationResult

SE_TYPES = ("conventional", "hc1", "cluster")


def did_2x2(
    data: pd.DataFrame,
    *,
    outcome: str,
    group: str,
    post: str,
    covariates: Sequence[str] = (),
    se_type: str = "conventional",
    cluster: str | None = None,
) -> EvaluationResult:
    """Estimate a two-group, two-period difference-in-differences by OLS.

    Formula: tau = (Ybar_G1,P1 - Ybar_G1,P0) - (Ybar_G0,P1 - Ybar_G0,P0), the
    coefficient of ``G·P`` in ``y ~ 1 + G + P + G·P (+ X)`` (Card & Krueger 1994,
    Table 3; Hill, Griffiths & Lim 2011, ch. 7). With covariates the coefficient is
    the regression-adjusted DiD.

    Args:
        data: One row per observation (unit-period or repeated cross-section).
        outcome: Outcome column.
        group: 0/1 column, 1 = treated group.
        post: 0/1 column, 1 = post-intervention period.
        covariates: Extra regressors.
        se_type: ``"conventional"`` (homoskedastic, df = n - k), ``"hc1"`` or
            ``"cluster"`` (CR1, needs ``cluster``).
        cluster: Column identifying the unit that was assigned (e.g. practice).

    Returns:
        Result whose headline effect ``"did"`` is tau, with group/period cell means.

    Raises:
        InputDataError: missing or non-binary columns, collinear covariates.
        InsufficientDataError: an empty cell of the 2x2 table.

    Example:
        >>> df = pd.DataFrame({"y": [1.0, 2, 3, 7, 1, 2, 3, 7], "g": [0, 0, 1, 1] * 2,
        ...                    "p": [0, 1, 0, 1] * 2})
        >>> round(did_2x2(df, outcome="y", group="g", post="p").headline.estimate, 6)
        3.0
    """
    what = "difference-in-differences (2x2)"
    covariates = list(covariates)
    if se_type not in SE_TYPES:
        raise InputDataError(
            f"{what}: se_type must be one of {SE_TYPES}, got {se_type!r}"
        )
    if se_type == "cluster" and cluster is None:
        raise InputDataError(
            f"{what}: se_type='cluster' needs a cluster column (--cluster)."
        )
    require_columns(data, [outcome, group, post, cluster, *covariates], what)
    notes: list[str] = []
    frame = drop_missing(data, [outcome, group, post, *covariates], what, notes)
    g = binary_column(frame, group, what).to_numpy(float)
    p = binary_column(frame, post, what).to_numpy(float)
    y = numeric_column(frame, outcome, what).to_numpy()
    for gv in (0, 1):
        for pv in (0, 1):
            n_cell = int(((g == gv) & (p == pv)).sum())
            if n_cell == 0:
                label = f"{'treated' if gv else 'comparison'} group, {'post' if pv else 'pre'} period"
                raise InsufficientDataError(
                    f"{what}: no observations in the {label}; DiD needs both groups "
                    "observed before and after. Check the group/post columns."
                )
    cov = (
        np.column_stack([numeric_column(frame, c, what) for c in covariates])
        if covariates
        else np.empty((len(y), 0))
    )
    names = ["const", group, post, f"{group}:{post}", *covariates]
    x = np.column_stack([np.ones_like(y), g, p, g * p, cov])
    check_full_rank(x, names, what)
    model = sm.OLS(y, x)
    if se_type == "conventional":
        fit = model.fit()
    elif se_type == "hc1":
        fit = model.fit(cov_type="HC1")
    else:
        assert cluster is not None
        groups = pd.factorize(frame[cluster])[0]
        require_min(
            len(np.unique(groups)), 2, what, "clusters", "Cluster at a coarser unit."
        )
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": groups})
    tau, se = float(fit.params[3]), float(fit.bse[3])
    df_resid = float(fit.df_resid) if se_type == "conventional" else None
    cells = {
        f"{'treated' if gv else 'comparison'}_{'post' if pv else 'pre'}": float(
            y[(g == gv) & (p == pv)].mean()
        )
        for gv in (0, 1)
        for pv in (0, 1)
    }
    coefs = pd.DataFrame({"term": names, "estimate": fit.params, "se": fit.bse})
    return EvaluationResult(
        method="did",
        estimand="ATT (difference-in-differences)",
        effects=[Effect.from_normal("did", tau, se, df=df_resid)],
        n_obs=len(y),
        n_treated=int(g.sum()),
        details={"se_type": se_type, "cell_means": cells, "covariates": covariates},
        tables={"coefficients": coefs},
        notes=notes,
    )


def twfe(
    data: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    treated: str,
    covariates: Sequence[str] = (),
    cluster: str | None = None,
) -> EvaluationResult:
    """Two-way fixed-effects DiD with cluster-robust standard errors.

    Model: ``y_it = alpha_i + lambda_t + tau·D_it + X_it'gamma + e_it`` estimated
    by the within transformation (linearmodels PanelOLS); SEs clustered on
    ``cluster`` (default: the unit), i.e. the Liang–Zeger (1986) sandwich with
    the small-sample factor G/(G-1). With one treated cohort and a balanced
    panel tau equals the 2x2 DiD of means.

    Args:
        data: Long panel, one row per unit and period.
        unit: Unit id column.
        time: Period column (numeric or date).
        outcome: Outcome column.
        treated: 0/1 column, 1 when the unit is under treatment in that period.
        covariates: Time-varying covariates (time-invariant ones are absorbed).
        cluster: Clustering column; defaults to ``unit``.

    Returns:
        Result with headline effect ``"att"``.

    Raises:
        InputDataError: missing columns, duplicate unit-periods, collinearity.
        InsufficientDataError: no treated or comparison units, < 2 periods.
    """
    what = "two-way fixed effects DiD"
    covariates = list(covariates)
    require_columns(data, [unit, time, outcome, treated, cluster, *covariates], what)
    notes: list[str] = []
    frame = drop_missing(
        data, [unit, time, outcome, treated, *covariates], what, notes
    ).copy()
    frame[treated] = binary_column(frame, treated, what)
    _check_panel(frame, unit, time, treated, what)
    frame = frame.set_index([unit, time]).sort_index()
    exog = frame[[treated, *covariates]].astype(float)
    check_full_rank(
        np.column_stack([np.ones(len(exog)), exog.to_numpy()]),
        ["const", treated, *covariates],
        what,
    )
    model = PanelOLS(
        frame[outcome].astype(float),
        exog,
        entity_effects=True,
        time_effects=True,
        drop_absorbed=False,
    )
    clusters = frame.index.get_level_values(0) if cluster is None else frame[cluster]
    try:
        fit = model.fit(
            cov_type="clustered",
            clusters=pd.DataFrame(
                {"c": pd.factorize(np.asarray(clusters))[0]}, index=frame.index
            ),
        )
    except AbsorbingEffectError as exc:
        raise absorbed_treatment(what) from exc
    except ValueError as exc:  # linearmodels reports absorbed / collinear regressors
        raise InputDataError(
            f"{what}: {exc}. A covariate that does not vary within units (or within "
            "periods) is absorbed by the fixed effects - drop it."
        ) from exc
    tau, se = float(fit.params[treated]), float(fit.std_errors[treated])
    n_units = frame.index.get_level_values(0).nunique()
    if frame.groupby(level=0)[treated].max().sum() > 0:
        starts = frame[frame[treated] == 1].reset_index().groupby(unit)[time].min()
        if starts.nunique() > 1:
            notes.append(
                "treatment starts at different times: TWFE weights can be negative under "
                "heterogeneous effects (Goodman-Bacon 2021); prefer method 'staggered'."
            )
    coefs = pd.DataFrame(
        {
            "term": list(fit.params.index),
            "estimate": fit.params.to_numpy(),
            "se": fit.std_errors.to_numpy(),
        }
    )
    return EvaluationResult(
        method="twfe",
        estimand="ATT (two-way fixed effects)",
        effects=[Effect.from_normal("att", tau, se)],
        n_obs=int(fit.nobs),
        n_units=int(n_units),
        n_treated=int(frame.groupby(level=0)[treated].max().sum()),
        details={
            "se_type": "cluster",
            "cluster": cluster or unit,
            "covariates": covariates,
        },
        tables={"coefficients": coefs},
        notes=notes,
    )


def _check_panel(
    frame: pd.DataFrame, unit: str, time: str, treated: str, what: str
) -> None:
    dup = frame.duplicated([unit, time])
    if dup.any():
        raise InputDataError(
            f"{what}: {int(dup.sum())} duplicate ({unit}, {time}) row(s); a panel needs one "
            "row per unit and period - aggregate first."
        )
    ever = frame.groupby(unit)[treated].max()
    require_min(
        int((ever == 1).sum()),
        1,
        what,
        "treated units",
        f"Check the {treated!r} column.",
    )
    require_min(
        int((ever == 0).sum()),
        1,
        what,
        "comparison (never-treated) units",
        "DiD needs units that stay untreated; add comparators.",
    )
    require_min(
        int(frame[time].nunique()), 2, what, "periods", "Provide pre and post periods."
    )
    first_time = frame[time].min()
    pre_treated = frame[(frame[time] == first_time)].groupby(unit)[treated].max()
    if int(pre_treated.sum()) == int((ever == 1).sum()):
        raise InsufficientDataError(
            f"{what}: every treated unit is already treated in the first period ({first_time}); "
            "there is no pre-period. Add earlier periods."
        )


def check_panel(
    frame: pd.DataFrame, unit: str, time: str, treated: str, what: str
) -> None:
    """Public wrapper of the panel checks (duplicates, comparators, pre-period)."""
    _check_panel(frame, unit, time, treated, what)
