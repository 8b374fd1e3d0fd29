"""Staggered adoption: Callaway & Sant'Anna (2021) group-time ATTs and aggregations.

For cohort g (units first treated in period g) and period t,
``ATT(g,t) = E[Y_t - Y_b | G=g] - E[Y_t - Y_b | C]`` where the base period
b = g-1 for post periods and, with ``base_period="varying"``, b = t-1 for
pre-periods (pseudo-ATTs used for the pre-trend test). The comparison group C is
the never-treated units, or the not-yet-treated units (G = 0 or G > max(t, b),
excluding g). With covariates each cell uses the outcome-regression, IPW or
doubly-robust two-period estimator (`_drdid`).

Aggregations follow `did::aggte` (Callaway & Sant'Anna 2021, section 3):
simple (cohort-size weighted post cells), group theta(g), calendar theta(t) and
event-time theta(e), each with an influence function that includes the
estimation of the cohort-share weights; inference is analytic (SE =
sqrt(mean(IF²)/n)) or by the seeded multiplier bootstrap with Rademacher
weights and IQR-based SEs plus uniform (sup-t) bands as in `did::mboot`.

Pure module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from carepilot.errors import InputDataError, InsufficientDataError
from carepilot.evaluation._checks import (
    check_full_rank,
    numeric_column,
    require_columns,
    require_min,
    time_column,
)
from carepilot.evaluation._drdid import ESTIMATORS
from carepilot.evaluation.pretrend import pretrend_test
from carepilot.evaluation.results import Z95, Effect, EvaluationResult

_IQR_Z = float(stats.norm.ppf(0.75) - stats.norm.ppf(0.25))


@dataclass(frozen=True)
class _Panel:
    units: np.ndarray
    periods: np.ndarray
    y: np.ndarray  # units x periods
    cohort: np.ndarray  # first treated period, 0 = never
    x: np.ndarray  # units x periods x k (covariates)
    covariates: list[str]


def first_treated_from_flags(
    data: pd.DataFrame, *, unit: str, time: str, treated: str
) -> pd.Series:
    """Derive each unit's first treated period from a 0/1 treatment flag (0 = never)."""
    on = data[pd.to_numeric(data[treated], errors="coerce") == 1]
    first = on.groupby(unit)[time].min()
    return data[unit].map(first).fillna(0)


def callaway_santanna(
    data: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    first_treated: str | None = None,
    treated: str | None = None,
    covariates: Sequence[str] = (),
    control_group: str = "never",
    base_period: str = "varying",
    est_method: str = "dr",
    inference: str = "analytic",
    n_boot: int = 999,
    seed: int = 0,
    cluster: str | None = None,
) -> EvaluationResult:
    """Callaway–Sant'Anna group-time ATTs with simple/group/calendar/event aggregations.

    Args:
        data: Balanced long panel (units not observed every period are dropped).
        unit: Unit id column.
        time: Integer period column (years, months since start...).
        outcome: Outcome column.
        first_treated: Column with the first treated period (0 or missing = never).
        treated: Alternatively a 0/1 treated-now column to derive it from.
        covariates: Pre-treatment covariates, taken in each cell's base period.
        control_group: ``"never"`` (never treated) or ``"notyet"`` (not yet treated).
        base_period: ``"varying"`` (did default) or ``"universal"`` (always g-1).
        est_method: ``"dr"``, ``"ipw"`` or ``"reg"``.
        inference: ``"analytic"`` (influence function) or ``"bootstrap"``.
        n_boot: Multiplier-bootstrap replications.
        seed: Seed of the bootstrap generator.
        cluster: Column of the assigned unit (constant within ``unit``, e.g. the
            practice of a patient). Influence functions are summed within clusters
            (SE² = G/(G-1)·Σ_c ψ_c²/n²) and the bootstrap draws one weight per cluster.

    Returns:
        Headline ``"simple"`` plus ``"group"``, ``"dynamic"``, ``"calendar"``,
        ``"event:e"``, ``"group:g"`` and ``"calendar:t"`` effects; tables
        ``att_gt``, ``event_study``; details include the pre-trend Wald test.

    Raises:
        InputDataError: bad columns, duplicate unit-periods, separation, collinearity.
        InsufficientDataError: no comparison units, units treated from the start.
    """
    what = "staggered DiD (Callaway-Sant'Anna)"
    _check_options(control_group, base_period, est_method, inference, what)
    notes: list[str] = []
    panel = _build_panel(
        data, unit, time, outcome, first_treated, treated, list(covariates), what, notes
    )
    n = len(panel.units)
    clusters = _cluster_codes(data, unit, cluster, panel.units, what)
    cells = _group_time(panel, control_group, base_period, est_method, what, notes)
    att = np.array([c[4] for c in cells])
    inf = np.column_stack([c[5] for c in cells])
    gt = pd.DataFrame(
        [c[:4] for c in cells], columns=["group", "time", "base", "post"]
    ).assign(att=att, n_treated=[c[6] for c in cells], n_control=[c[7] for c in cells])
    pg_all = {g: float(np.mean(panel.cohort == g)) for g in np.unique(gt["group"])}
    pg = gt["group"].map(pg_all).to_numpy(float)
    groups = gt["group"].to_numpy()
    times = gt["time"].to_numpy()
    post = gt["post"].to_numpy(bool)

    names: list[str] = []
    est: list[float] = []
    ifs: list[np.ndarray] = []

    def add(name: str, value: float, inf_vec: np.ndarray) -> None:
        names.append(name)
        est.append(value)
        ifs.append(inf_vec)

    keep = np.flatnonzero(post)
    add("simple", *_agg(att, inf, keep, pg, groups, panel.cohort))
    # group
    glist = np.unique(groups)
    theta_g, inf_g = [], []
    for g in glist:
        k = np.flatnonzero((groups == g) & post)
        v, f = _agg(att, inf, k, pg, groups, panel.cohort, with_wif=False)
        theta_g.append(v)
        inf_g.append(f)
    pgu = np.array([pg_all[g] for g in glist])
    v, f = _agg(
        np.array(theta_g),
        np.column_stack(inf_g),
        np.arange(len(glist)),
        pgu,
        glist,
        panel.cohort,
    )
    add("group", v, f)
    # dynamic
    event = times - groups
    elist = np.unique(event)
    dyn = {}
    for e in elist:
        k = np.flatnonzero(event == e)
        dyn[int(e)] = _agg(att, inf, k, pg, groups, panel.cohort)
    epos = [e for e in dyn if e >= 0]
    add(
        "dynamic",
        float(np.mean([dyn[e][0] for e in epos])),
        np.mean([dyn[e][1] for e in epos], axis=0),
    )
    # calendar
    tlist = [t for t in np.unique(times) if t >= glist.min()]
    cal = {}
    for t in tlist:
        k = np.flatnonzero((times == t) & (groups <= t))
        cal[t] = _agg(att, inf, k, pg, groups, panel.cohort)
    add(
        "calendar",
        float(np.mean([cal[t][0] for t in tlist])),
        np.mean([cal[t][1] for t in tlist], axis=0),
    )
    for g, v, f in zip(glist, theta_g, inf_g, strict=True):
        add(f"group:{_label(g)}", v, f)
    for e, (v, f) in dyn.items():
        add(f"event:{e}", v, f)
    for t, (v, f) in cal.items():
        add(f"calendar:{_label(t)}", v, f)

    agg_inf = np.column_stack(ifs)
    se_gt, crit_gt = _inference(_collapse(inf, clusters), n, inference, n_boot, seed)
    se_agg, _ = _inference(_collapse(agg_inf, clusters), n, inference, n_boot, seed + 1)
    ev_idx = [i for i, nm in enumerate(names) if nm.startswith("event:")]
    _, crit_ev = _inference(
        _collapse(agg_inf[:, ev_idx], clusters), n, inference, n_boot, seed + 2
    )

    gt["se"] = se_gt
    gt["ci_low"] = att - Z95 * se_gt
    gt["ci_high"] = att + Z95 * se_gt
    gt["uniform_ci_low"] = att - crit_gt * se_gt
    gt["uniform_ci_high"] = att + crit_gt * se_gt
    effects = [
        Effect.from_normal(nm, val, se)
        for nm, val, se in zip(names, est, se_agg, strict=True)
    ]
    es = pd.DataFrame(
        {
            "event_time": [int(names[i].split(":")[1]) for i in ev_idx],
            "estimate": [est[i] for i in ev_idx],
            "se": [se_agg[i] for i in ev_idx],
        }
    )
    es["ci_low"] = es["estimate"] - Z95 * es["se"]
    es["ci_high"] = es["estimate"] + Z95 * es["se"]
    es["uniform_ci_low"] = es["estimate"] - crit_ev * es["se"]
    es["uniform_ci_high"] = es["estimate"] + crit_ev * es["se"]
    pre_idx = [i for i in ev_idx if int(names[i].split(":")[1]) < 0]
    pretest = _pretest(
        np.array(est)[pre_idx],
        _collapse(agg_inf[:, pre_idx], clusters),
        [int(names[i].split(":")[1]) for i in pre_idx],
        n,
        _treated_clusters(panel.cohort, clusters),
    )
    return EvaluationResult(
        method="staggered",
        estimand="ATT (Callaway-Sant'Anna aggregations)",
        effects=effects,
        n_obs=int(n * len(panel.periods)),
        n_units=int(n),
        n_treated=int((panel.cohort > 0).sum()),
        details={
            "control_group": control_group,
            "base_period": base_period,
            "est_method": est_method,
            "inference": inference,
            "n_boot": n_boot if inference == "bootstrap" else None,
            "seed": seed if inference == "bootstrap" else None,
            "covariates": panel.covariates,
            "pretrend_test": pretest,
            "cohort_sizes": {_label(g): int((panel.cohort == g).sum()) for g in glist},
            "uniform_critical_value_event": crit_ev,
            "cluster": cluster or unit,
        },
        tables={"att_gt": gt, "event_study": es},
        notes=notes,
    )


def _label(v: object) -> str:
    f = float(v)  # type: ignore[arg-type]
    return str(int(f)) if f.is_integer() else str(f)


def _check_options(
    control_group: str, base_period: str, est_method: str, inference: str, what: str
) -> None:
    for value, allowed, name in (
        (control_group, ("never", "notyet"), "control_group"),
        (base_period, ("varying", "universal"), "base_period"),
        (est_method, tuple(ESTIMATORS), "est_method"),
        (inference, ("analytic", "bootstrap"), "inference"),
    ):
        if value not in allowed:
            raise InputDataError(
                f"{what}: {name} must be one of {allowed}, got {value!r}."
            )


def _build_panel(
    data: pd.DataFrame,
    unit: str,
    time: str,
    outcome: str,
    first_treated: str | None,
    treated: str | None,
    covariates: list[str],
    what: str,
    notes: list[str],
) -> _Panel:
    if first_treated is None and treated is None:
        raise InputDataError(
            f"{what}: give the first-treated period column (--first-treated) or a 0/1 treated column (--treated)."
        )
    require_columns(
        data, [unit, time, outcome, first_treated, treated, *covariates], what
    )
    frame = data.copy()
    frame[time] = time_column(frame, time, what)
    if first_treated is None:
        assert treated is not None
        frame["_g"] = first_treated_from_flags(
            frame, unit=unit, time=time, treated=treated
        )
    else:
        g = numeric_column(frame, first_treated, what).replace(
            [np.inf, -np.inf], np.nan
        )
        if (g.groupby(frame[unit]).nunique() > 1).any():
            raise InputDataError(
                f"{what}: the first-treated period varies within a unit; it must be constant per {unit!r}."
            )
        # a unit's value may be recorded on some rows only; missing everywhere = never treated
        frame["_g"] = g.groupby(frame[unit]).transform("first").fillna(0)
    if frame.duplicated([unit, time]).any():
        raise InputDataError(
            f"{what}: duplicate ({unit}, {time}) rows; the panel needs one row per unit and period."
        )
    if (frame.groupby(unit)["_g"].nunique() > 1).any():
        raise InputDataError(
            f"{what}: the first-treated period varies within a unit; it must be constant per {unit!r}."
        )
    frame[outcome] = numeric_column(frame, outcome, what)
    for c in covariates:
        frame[c] = numeric_column(frame, c, what)
    complete = frame.dropna(subset=[outcome, *covariates])
    periods = np.sort(frame[time].unique())
    counts = complete.groupby(unit)[time].nunique()
    full = counts[counts == len(periods)].index
    dropped = frame[unit].nunique() - len(full)
    if dropped:
        notes.append(
            f"dropped {dropped} unit(s) not observed (with complete data) in every period to balance the panel."
        )
    complete = complete[complete[unit].isin(full)]
    wide = complete.pivot(index=unit, columns=time, values=outcome).reindex(
        columns=periods
    )
    cohort = complete.groupby(unit)["_g"].first().reindex(wide.index).to_numpy(float)
    early = (cohort > 0) & (cohort <= periods[0])
    if early.any():
        raise InsufficientDataError(
            f"{what}: {int(early.sum())} unit(s) are treated from the first period ({_label(periods[0])}), "
            "so they have no pre-period; remove them (they cannot be evaluated) or add earlier data."
        )
    late = cohort > periods[-1]
    if late.any():
        notes.append(
            f"{int(late.sum())} unit(s) first treated after the last period are treated as never treated."
        )
        cohort[late] = 0
    require_min(
        int((cohort > 0).sum()),
        1,
        what,
        "treated units",
        "Check the first-treated column.",
    )
    require_min(
        int((cohort == 0).sum()),
        2 if True else 0,
        what,
        "never-treated comparison units",
        "Add never-treated comparators (control_group='notyet' still needs some for the last cohort).",
    )
    k = len(covariates)
    x = np.empty((len(wide), len(periods), k))
    for j, c in enumerate(covariates):
        x[:, :, j] = (
            complete.pivot(index=unit, columns=time, values=c)
            .reindex(index=wide.index, columns=periods)
            .to_numpy()
        )
    if k:
        flat = np.column_stack([np.ones(len(wide)), x[:, 0, :]])
        check_full_rank(flat, ["const", *covariates], what)
    return _Panel(
        wide.index.to_numpy(), periods, wide.to_numpy(float), cohort, x, covariates
    )


def _group_time(
    panel: _Panel,
    control_group: str,
    base_period: str,
    est_method: str,
    what: str,
    notes: list[str],
) -> list[tuple[float, float, float, bool, float, np.ndarray, int, int]]:
    estimator = ESTIMATORS[est_method]
    n = len(panel.units)
    per = panel.periods
    out = []
    for g in np.unique(panel.cohort[panel.cohort > 0]):
        g_idx = int(np.searchsorted(per, g))
        for t_i in range(1, len(per)):
            t = per[t_i]
            is_post = t >= g
            pre_i = g_idx - 1 if (is_post or base_period == "universal") else t_i - 1
            if pre_i == t_i:
                continue
            if control_group == "never":
                ctrl = panel.cohort == 0
            else:
                horizon = per[max(t_i, pre_i)]
                ctrl = (panel.cohort == 0) | (
                    (panel.cohort > horizon) & (panel.cohort != g)
                )
            treat = panel.cohort == g
            n_t, n_c = int(treat.sum()), int(ctrl.sum())
            if n_c == 0:
                notes.append(
                    f"ATT({_label(g)},{_label(t)}) skipped: no comparison units."
                )
                continue
            sub = treat | ctrl
            n1 = int(sub.sum())
            dy = panel.y[sub, t_i] - panel.y[sub, pre_i]
            d = treat[sub].astype(float)
            x = np.column_stack([np.ones(n1), panel.x[sub, pre_i, :]])
            cell = estimator(dy, d, x, f"{what}, ATT({_label(g)},{_label(t)})")
            full = np.zeros(n)
            full[sub] = (n / n1) * cell.influence
            out.append(
                (
                    float(g),
                    float(t),
                    float(per[pre_i]),
                    bool(is_post),
                    cell.att,
                    full,
                    n_t,
                    n_c,
                )
            )
    if not out:
        raise InsufficientDataError(
            f"{what}: no group-time cell could be estimated; check cohorts and comparators."
        )
    return out


def _wif(
    keep: np.ndarray, pg: np.ndarray, groups: np.ndarray, cohort: np.ndarray
) -> np.ndarray:
    """Influence of estimating the cohort-share weights (did:::wif)."""
    s = pg[keep].sum()
    ind = np.column_stack([(cohort == groups[k]).astype(float) - pg[k] for k in keep])
    if1 = ind / s
    if2 = ind.sum(axis=1)[:, None] * (pg[keep] / s**2)[None, :]
    return if1 - if2


def _agg(
    att: np.ndarray,
    inf: np.ndarray,
    keep: np.ndarray,
    pg: np.ndarray,
    groups: np.ndarray,
    cohort: np.ndarray,
    with_wif: bool = True,
) -> tuple[float, np.ndarray]:
    w = pg[keep] / pg[keep].sum()
    value = float(att[keep] @ w)
    f = inf[:, keep] @ w
    if with_wif:
        f = f + _wif(keep, pg, groups, cohort) @ att[keep]
    return value, f


def _cluster_codes(
    data: pd.DataFrame, unit: str, cluster: str | None, units: np.ndarray, what: str
) -> np.ndarray | None:
    """Cluster code per unit (in panel order), or None for unit-level inference."""
    if cluster is None or cluster == unit:
        return None
    require_columns(data, [cluster], what)
    if (data.groupby(unit)[cluster].nunique() > 1).any():
        raise InputDataError(
            f"{what}: cluster column {cluster!r} varies within a {unit!r}; clusters "
            "must contain whole units (e.g. patients within practices)."
        )
    per_unit = data.groupby(unit)[cluster].first().reindex(units)
    codes = pd.factorize(per_unit)[0]
    require_min(
        int(codes.max()) + 1, 2, what, "clusters", "Cluster at a coarser level."
    )
    return codes


def _collapse(inf: np.ndarray, clusters: np.ndarray | None) -> np.ndarray:
    """Rows whose squares sum to n²·Var: units, or cluster sums times sqrt(G/(G-1))."""
    if clusters is None:
        return inf
    g = int(clusters.max()) + 1
    psi = np.zeros((g, inf.shape[1]))
    np.add.at(psi, clusters, inf)
    return psi * np.sqrt(g / (g - 1))


def _inference(
    rows: np.ndarray, n: int, how: str, n_boot: int, seed: int
) -> tuple[np.ndarray, float]:
    """SEs (and the uniform-band critical value) from influence-function rows.

    Analytic: SE = sqrt(sum(rows²))/n (= sqrt(mean(IF²)/n) for unit rows).
    Bootstrap: one Rademacher weight per row, draws = v'rows/n, SE = IQR/1.349.
    """
    if how == "analytic":
        se = np.sqrt(np.sum(rows**2, axis=0)) / n
        return se, Z95
    rng = np.random.default_rng(seed)
    v = rng.choice(np.array([-1.0, 1.0]), size=(n_boot, rows.shape[0]))
    boot = v @ rows / n
    q75, q25 = np.quantile(boot, [0.75, 0.25], axis=0)
    se = (q75 - q25) / _IQR_Z
    ok = se > np.sqrt(np.finfo(float).eps) * 10
    se = np.where(ok, se, np.nan)
    if not ok.any():
        return se, Z95
    t_max = np.max(np.abs(boot[:, ok] / se[ok]), axis=1)
    crit = float(np.quantile(t_max, 0.95))
    return se, max(crit, Z95)


def _treated_clusters(cohort: np.ndarray, clusters: np.ndarray | None) -> int:
    """Clusters holding at least one eventually-treated unit."""
    if clusters is None:
        return int((cohort > 0).sum())
    return len(np.unique(clusters[cohort > 0]))


def _pretest(
    lead_est: np.ndarray,
    rows: np.ndarray,
    lead_times: list[int],
    n: int,
    n_treated_clusters: int,
) -> dict[str, Any]:
    """Joint test that the pre-period event-study coefficients are zero.

    Uses the event-time aggregation of the pre-period ATT(g,t) (one coefficient
    per lead instead of one per cell) with its cluster-robust covariance, binned
    and referred to a Hotelling F when clusters are few (`pretrend_test`).
    """
    cov = rows.T @ rows / n / n  # rows: units or collapsed clusters
    return pretrend_test(
        lead_est, cov, lead_times, n_clusters=rows.shape[0],
        n_treated_clusters=n_treated_clusters,
    )  # fmt: skip
