"""Interrupted time series: segmented Poisson / quasi-Poisson regression.

Model (Lopez Bernal, Cummins & Gasparrini 2017; Wagner et al. 2002):

    log E[y_t] = log(pop_t) + b0 + b1·t + b2·S_t + b3·S_t·(t - t0)
                 + sum_k [c_k sin(2πk·m_t/P) + d_k cos(2πk·m_t/P)]

where S_t = 1 from the intervention, t0 the last pre-intervention time, m_t the
season (e.g. calendar month, P = 12) and pop_t an optional population offset.
exp(b2) is the level change (rate ratio), exp(b3) the slope change per period.
Quasi-Poisson multiplies the Poisson covariance by the Pearson dispersion
X²/(n-p) (as R's ``summary.glm``); ``se="hac"`` uses Newey–West (1987)
autocorrelation-consistent SEs. With a control series the model is fitted to
both series stacked, with every intervention term interacted with the series
indicator, so the effect is the change relative to the control (comparative ITS).

Pure module.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm

from carepilot.errors import InputDataError, InsufficientDataError
from carepilot.evaluation._checks import (
    binary_column,
    check_full_rank,
    drop_missing,
    numeric_column,
    require_columns,
    require_min,
    time_column,
)
from carepilot.evaluation.results import Effect, EvaluationResult

FAMILIES = ("quasipoisson", "poisson", "gaussian")


def fourier_terms(
    season: np.ndarray, period: float, harmonics: int
) -> tuple[np.ndarray, list[str]]:
    """Return sin/cos(2πk·season/period), k = 1..harmonics (tsModel::harmonic).

    Example:
        >>> m, names = fourier_terms(np.array([3.0]), 12, 1)
        >>> names, round(float(m[0, 0]), 6)
        (['sin1', 'cos1'], 1.0)
    """
    cols, names = [], []
    for k in range(1, harmonics + 1):
        arg = 2 * math.pi * k * season / period
        cols += [np.sin(arg), np.cos(arg)]
        names += [f"sin{k}", f"cos{k}"]
    return (np.column_stack(cols) if cols else np.empty((len(season), 0))), names


def interrupted_time_series(
    data: pd.DataFrame,
    *,
    time: str,
    outcome: str,
    intervention: str,
    population: str | None = None,
    season: str | None = None,
    period: float = 12,
    harmonics: int = 2,
    slope_change: bool = True,
    family: str = "quasipoisson",
    se: str = "model",
    hac_lags: int | None = None,
    series: str | None = None,
    control_series: object | None = None,
) -> EvaluationResult:
    """Fit a segmented regression and report level and slope change.

    Args:
        data: One row per period (per series when ``series`` is given).
        time: Numeric time index (months since start...).
        outcome: Count (Poisson families) or continuous outcome (gaussian).
        intervention: 0/1 column, 1 from the intervention onward.
        population: Column used as exposure; log(population) is the offset, so
            effects are on rates.
        season: Column with the season (e.g. month 1-12) for Fourier terms.
        period: Season length (12 for months).
        harmonics: Number of sine/cosine pairs.
        slope_change: Include the post-intervention slope term.
        family: ``"quasipoisson"`` (default), ``"poisson"`` or ``"gaussian"``.
        se: ``"model"`` or ``"hac"`` (Newey–West).
        hac_lags: HAC lag truncation; default floor(4(n/100)^(2/9)).
        series: Column naming the series (intervention vs control).
        control_series: Value of ``series`` that is the control series.

    Returns:
        Headline ``"level_change"`` (rate ratio for Poisson families, difference
        for gaussian), ``"slope_change"`` and ``"pre_trend"``; a ``fitted`` table.

    Raises:
        InputDataError: bad columns/options, collinear terms.
        InsufficientDataError: fewer than 3 pre or post points.

    Example:
        >>> t = np.arange(1, 25)
        >>> df = pd.DataFrame({"t": t, "y": np.round(100 * 0.8 ** (t > 12)), "s": (t > 12) * 1})
        >>> r = interrupted_time_series(df, time="t", outcome="y", intervention="s")
        >>> round(r.headline.estimate, 3)
        0.8
    """
    what = "interrupted time series"
    if family not in FAMILIES:
        raise InputDataError(
            f"{what}: family must be one of {FAMILIES}, got {family!r}."
        )
    if se not in ("model", "hac"):
        raise InputDataError(f"{what}: se must be 'model' or 'hac', got {se!r}.")
    require_columns(
        data, [time, outcome, intervention, population, season, series], what
    )
    notes: list[str] = []
    cols = [c for c in (time, outcome, intervention, population, season, series) if c]
    frame = drop_missing(data, cols, what, notes).sort_values(
        [c for c in (series, time) if c]
    )
    y = numeric_column(frame, outcome, what).to_numpy()
    t = time_column(frame, time, what).to_numpy()
    step = binary_column(frame, intervention, what).to_numpy(float)
    if family != "gaussian" and (y < 0).any():
        raise InputDataError(
            f"{what}: outcome {outcome!r} has negative values; Poisson models need counts or rates >= 0 (use family='gaussian')."
        )
    is_ctrl = np.zeros(len(y), bool)
    if series is not None:
        if control_series is None:
            raise InputDataError(
                f"{what}: with a series column, name the control series (control_series)."
            )
        is_ctrl = (frame[series] == control_series).to_numpy()
        require_min(
            int(is_ctrl.sum()),
            3,
            what,
            "control-series points",
            "Check control_series.",
        )
    main = ~is_ctrl
    if main.any() and step[main].max() == 0:
        raise InsufficientDataError(
            f"{what}: the intervention flag {intervention!r} is never 1; there is no post-period."
        )
    t0_candidates = t[main & (step == 1)]
    t0 = float(t0_candidates.min())
    n_pre, n_post = int((main & (t < t0)).sum()), int((main & (t >= t0)).sum())
    require_min(
        n_pre,
        3,
        what,
        "pre-intervention points",
        "ITS needs a pre-period to estimate the trend; add earlier periods.",
    )
    require_min(
        n_post,
        3,
        what,
        "post-intervention points",
        "Wait for more post-intervention data.",
    )
    if step[main & (t < t0)].any():
        raise InputDataError(
            f"{what}: intervention flag {intervention!r} switches off and on; it must be 0 before and 1 from the start."
        )
    if is_ctrl.any():
        step = (t >= t0).astype(float)  # the control series shares the calendar break
    tc = t - t0 + 1  # 1 at the first post point, so the slope term is 0 before
    names = ["const", "time", "level_change"]
    cols_x = [np.ones_like(y), t, step]
    if slope_change:
        names.append("slope_change")
        cols_x.append(step * tc)
    if season is not None:
        four, fnames = fourier_terms(
            numeric_column(frame, season, what).to_numpy(), period, harmonics
        )
        cols_x += list(four.T)
        names += fnames
    x = np.column_stack(cols_x)
    if is_ctrl.any():
        g = main.astype(float)
        inter = [
            g * x[:, j]
            for j, nm in enumerate(names)
            if nm in ("const", "time", "level_change", "slope_change")
        ]
        x = np.column_stack([x, *inter])
        base = [
            n for n in names if n in ("const", "time", "level_change", "slope_change")
        ]
        names = [
            *(f"control:{n}" if n in base else n for n in names),
            *(f"diff:{n}" for n in base),
        ]
    check_full_rank(x, names, what)
    offset = None
    if population is not None:
        pop = numeric_column(frame, population, what).to_numpy()
        if (pop <= 0).any():
            raise InputDataError(
                f"{what}: population column {population!r} must be > 0 on every row (it is a log offset)."
            )
        offset = np.log(pop)
    fam = sm.families.Gaussian() if family == "gaussian" else sm.families.Poisson()
    model = sm.GLM(y, x, family=fam, offset=offset)
    lags = (
        hac_lags
        if hac_lags is not None
        else int(math.floor(4 * (len(y) / 100) ** (2 / 9)))
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if se == "hac":
            fit = model.fit(cov_type="HAC", cov_kwds={"maxlags": lags})
        else:
            fit = model.fit(
                scale="X2" if family in ("quasipoisson", "gaussian") else 1.0
            )
    params = pd.Series(fit.params, index=names)
    bse = pd.Series(fit.bse, index=names)
    prefix = "diff:" if is_ctrl.any() else ""
    ctrl_prefix = "control:" if is_ctrl.any() else ""
    effects = []
    for label, term in (
        ("level_change", "level_change"),
        ("slope_change", "slope_change"),
        ("pre_trend", "time"),
    ):
        key = (prefix if term != "time" else ctrl_prefix) + term
        if key not in params:
            continue
        if family == "gaussian":
            effects.append(
                Effect.from_normal(label, float(params[key]), float(bse[key]))
            )
        else:
            effects.append(
                Effect.ratio_from_log(label, float(params[key]), float(bse[key]))
            )
    dispersion = float(fit.pearson_chi2 / fit.df_resid)
    fitted = pd.DataFrame(
        {
            "time": t,
            "observed": y,
            "fitted": fit.fittedvalues,
            "series": np.where(is_ctrl, "control", "intervention"),
        }
    )
    cf_x = x.copy()
    for j, nm in enumerate(names):  # switch off the intervention series' own change
        if nm in (f"{prefix}level_change", f"{prefix}slope_change"):
            cf_x[:, j] = np.where(main, 0.0, cf_x[:, j])
    fitted["counterfactual"] = (
        fit.predict(cf_x, offset=offset) if offset is not None else fit.predict(cf_x)
    )
    return EvaluationResult(
        method="its",
        estimand="rate ratio" if family != "gaussian" else "difference",
        effects=effects,
        n_obs=len(y),
        n_units=2 if is_ctrl.any() else 1,
        n_treated=n_post,
        details={
            "family": family,
            "se": se,
            "hac_lags": lags if se == "hac" else None,
            "dispersion": dispersion,
            "intervention_time": t0,
            "n_pre": n_pre,
            "n_post": n_post,
            "harmonics": harmonics if season else 0,
            "population_offset": population,
            "comparative": bool(is_ctrl.any()),
            "coefficients": {k: float(v) for k, v in params.items()},
        },
        tables={"fitted": fitted},
        notes=notes,
    )
