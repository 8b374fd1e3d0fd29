"""Comparators, designs, sensitivity analyses and effects by inequality group.

Everything here works on the panels of `carepilot.pilot_evaluation.panel` and calls
the estimators of `carepilot.evaluation` (no database access, no files).

Designs (``--design``):

* ``did``: two-way fixed effects ``y_it = a_i + l_t + tau D_it + e_it`` on the
  matched panel, SEs clustered by practice (Liang & Zeger 1986);
* ``staggered``: Callaway & Sant'Anna (2021) ATT(g,t) with never-treated matched
  comparators, the simple aggregation as headline, event study and pre-trend
  Wald test;
* ``its``: comparative interrupted time series: pilot practices and comparators
  summed into two count series, quasi-Poisson segmented regression with the
  population as offset and Fourier seasonality (Lopez Bernal et al. 2017);
* ``synth``: synthetic control of the pilot (practices pooled into one unit) from
  the comparator practices, placebo-in-space p-value (Abadie et al. 2010).

The headline of ``did`` and ``staggered`` is also given as a **relative effect**
(``rate_ratio - 1``) estimated directly from the counts by Poisson imputation
(`carepilot.evaluation.poisson_imputation`): dividing the additive ATT by a
noisy estimated counterfactual level would be biased towards zero-or-positive
values on small practices (issue 8). ``synth`` keeps
``tau / (mean treated post-period outcome - tau)`` on its pooled unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from carepilot.errors import InsufficientDataError, UserError
from carepilot.evaluation import (
    EvaluationResult,
    PanelSpec,
    default_registry,
    effects_by_group,
    match_comparators,
    poisson_imputation,
    twfe,
    twfe_gap_change,
)
from carepilot.evaluation.results import Effect
from carepilot.pilot_evaluation.panel import GROUP_REFERENCE, NOT_STATED

DESIGNS: tuple[str, ...] = ("did", "staggered", "its", "synth")
"""Designs accepted by `carepilot evaluate --design`."""

MATCH_COVARIATES: tuple[str, ...] = (
    "baseline",
    "baseline_trend",
    "log_population",
    "deprived_share",
    "older_share",
)
"""Practice characteristics used to choose comparators (those present are used)."""


@dataclass
class Comparators:
    """Chosen comparator practices and the balance diagnostics.

    Attributes:
        practice_ids: Matched comparator practices.
        balance: SMDs and variance ratios before/after matching.
        covariates: Covariates matched on.
        notes: What was dropped or could not be matched.
    """

    practice_ids: list[int]
    balance: pd.DataFrame
    covariates: list[str]
    notes: list[str] = field(default_factory=list[str])


def choose_comparators(
    practices: pd.DataFrame,
    *,
    k: int = 3,
    min_comparators: int = 5,
    seed: int = 0,
) -> Comparators:
    """Match non-pilot practices to pilot practices on pre-period characteristics.

    Propensity-score (logit) nearest-neighbour matching, k:1 with replacement and
    no caliper, so every pilot practice keeps comparators (the estimand stays the
    ATT of the whole pilot); balance is shown before and after (Austin 2009:
    |SMD| < 0.1 counts as balanced). With few practices the propensity model can
    separate: the match then falls back to Mahalanobis distance.

    Raises:
        InsufficientDataError: fewer than `min_comparators` non-pilot practices.
    """
    frame = practices.copy()
    frame["log_population"] = np.log(frame["population"].clip(lower=1))
    n_pilot = int(frame["pilot"].sum())
    n_other = int((frame["pilot"] == 0).sum())
    if n_pilot == 0:
        raise InsufficientDataError(
            "none of the pilot's member practices has data in the analysis window; "
            "check pilot_site_members and --from/--to."
        )
    if n_other < min_comparators:
        raise InsufficientDataError(
            f"too few comparators: {n_other} non-pilot practice(s) with data, at least "
            f"{min_comparators} are needed for a matched comparison; load more practices "
            "or lower --min-comparators."
        )
    covs = [
        c
        for c in MATCH_COVARIATES
        if c in frame and frame[c].notna().all() and frame[c].std(ddof=0) > 0
    ]
    notes: list[str] = []
    k_eff = max(1, min(k, n_other // max(n_pilot, 1) or 1))
    try:
        res = match_comparators(
            frame, treatment="pilot", covariates=covs, method="psm", k=k_eff,
            replace=True, caliper=None, seed=seed,
        )  # fmt: skip
    except UserError as exc:
        notes.append(
            f"propensity-score matching failed ({exc}); Mahalanobis matching used instead."
        )
        res = match_comparators(
            frame, treatment="pilot", covariates=covs, method="mahalanobis", k=k_eff,
            replace=True, caliper=None, seed=seed,
        )  # fmt: skip
    matched = res.matched
    ids = sorted(int(i) for i in matched.loc[matched["pilot"] == 0, "practice_id"])
    notes += [str(n) for n in res.details.get("notes", [])]  # type: ignore[union-attr]
    notes.append(
        f"{len(ids)} of {n_other} non-pilot practices chosen as comparators "
        f"(propensity score, {k_eff}:1 nearest neighbours with replacement)."
    )
    return Comparators(ids, res.balance, covs, notes)


def relative_effect(
    result: EvaluationResult, data: pd.DataFrame, outcome: str
) -> Effect | None:
    """Headline difference as a change relative to the counterfactual level."""
    head = result.headline
    if head.scale != "difference":
        return None
    post = data.loc[data["treated"] == 1, outcome]
    if post.empty:
        return None
    counterfactual = float(post.mean()) - head.estimate
    if not np.isfinite(counterfactual) or counterfactual <= 0:
        return None
    f = 1.0 / counterfactual
    return Effect(
        "relative",
        head.estimate * f,
        None if head.se is None else head.se * f,
        None if head.ci_low is None else head.ci_low * f,
        None if head.ci_high is None else head.ci_high * f,
        head.p_value,
        "difference",
    )


def run_design(
    design: str, panel: pd.DataFrame, *, control_group: str = "never"
) -> EvaluationResult:
    """Run one design on a practice x period panel (columns of `OutcomePanel.panel`).

    Raises:
        UserError: unknown design, or the estimator's own input errors.
    """
    registry = default_registry()
    if design == "did":
        res = twfe(panel, unit="practice_id", time="t", outcome="value",
                   treated="treated")  # clustered by practice (the unit)  # fmt: skip
    elif design == "staggered":
        spec = PanelSpec(
            outcome="value", treated="treated", unit="practice_id", time="t",
            first_treated="first_treated", cluster="practice_id",
            options={"control_group": control_group, "est_method": "reg"},
        )  # fmt: skip
        res = registry.run("staggered", panel, spec)
    elif design == "its":
        spec = PanelSpec(
            outcome="numerator", treated="treated", unit="practice_id", time="t",
            options={"population": "denominator", "season": "month", "period": 12,
                     "harmonics": 1, "se": "hac"},
        )  # fmt: skip
        data = panel.assign(month=pd.to_datetime(panel["period_start"]).dt.month)
        res = registry.run("its", data, spec)
    elif design == "synth":
        res = registry.run("synth", pooled_pilot(panel), PanelSpec(
            outcome="value", treated="treated", unit="practice_id", time="t"))  # fmt: skip
    else:
        raise UserError(f"--design {design!r}: choose one of {', '.join(DESIGNS)}.")
    if design in ("did", "staggered"):
        res.effects += rate_ratio_effects(panel, res.notes)
        return res
    rel = None
    if design == "synth":
        pooled = pooled_pilot(panel)
        rel = relative_effect(res, pooled[pooled["practice_id"] == 0], "value")
    if rel is not None:
        res.effects.append(rel)
    return res


def rate_ratio_effects(panel: pd.DataFrame, notes: list[str]) -> list[Effect]:
    """The ``relative`` effect (and ``rate_ratio``) by Poisson imputation.

    Dividing the additive ATT by an estimated counterfactual level is biased
    (Jensen) when that level is noisy, as it is with CS's single base period on
    small practices; `poisson_imputation` estimates the rate ratio directly from
    the counts with every untreated cell informing the counterfactual. Outcomes
    that are not counts over a population (negative numerators, e.g. a mean
    change) get no relative effect, with a note.
    """
    try:
        rr = poisson_imputation(
            panel, unit="practice_id", time="t", count="numerator",
            exposure="denominator", first_treated="first_treated",
        )  # fmt: skip
    except UserError as exc:
        notes.append(f"no relative effect: {exc}")
        return []
    notes.extend(rr.notes)
    rel = rr.effect("relative")
    return [rel, rr.effect("rate_ratio")]


def pooled_pilot(panel: pd.DataFrame) -> pd.DataFrame:
    """Pool pilot practices into one unit (id 0) for synthetic control.

    The pooled rate is sum(numerator)/sum(denominator) on the indicator's scale;
    the pooled unit is treated from the earliest member start (block timing).
    """
    pilot = panel[panel["pilot"] == 1]
    mult = _scale(panel)
    sums = pilot.groupby("t", as_index=False).agg(
        numerator=("numerator", "sum"), denominator=("denominator", "sum"),
        period_start=("period_start", "first"),
    )  # fmt: skip
    start = int(pilot.loc[pilot["first_treated"] > 0, "first_treated"].min())
    sums["value"] = sums["numerator"] / sums["denominator"] * mult
    sums["practice_id"] = 0
    sums["pilot"] = 1
    sums["first_treated"] = start
    sums["treated"] = (sums["t"] >= start).astype(int)
    donors = panel[panel["pilot"] == 0][list(sums.columns)]
    return pd.concat([sums, donors], ignore_index=True)


def _scale(panel: pd.DataFrame) -> float:
    ok = panel[(panel["numerator"] > 0) & (panel["denominator"] > 0)]
    if ok.empty:
        return 1.0
    r = ok.iloc[0]
    return float(r["value"] * r["denominator"] / r["numerator"])


def placebo_panel(panel: pd.DataFrame, shift: int) -> pd.DataFrame:
    """Pre-period-only panel with every start moved `shift` periods earlier.

    Keeps periods before the earliest true start; a fake start inside that window
    should show no effect (a falsification test of the design).

    Raises:
        InsufficientDataError: the pre-period is too short for the shift.
    """
    first = int(panel.loc[panel["first_treated"] > 0, "first_treated"].min())
    pre = panel[panel["t"] < first].copy()
    fake = pre["first_treated"].where(
        pre["first_treated"] == 0, pre["first_treated"] - shift
    )
    fake = fake.where(pre["first_treated"] == 0, fake.clip(lower=2))
    if first - shift < 3:
        raise InsufficientDataError(
            f"placebo start {shift} periods earlier leaves fewer than 2 pre-periods."
        )
    # later cohorts beyond the pre-window would be 'never' in the placebo: cap them
    last = int(pre["t"].max())
    fake = fake.where((fake <= last) | (pre["first_treated"] == 0), last)
    pre["first_treated"] = fake.astype(int)
    pre["treated"] = (
        (pre["first_treated"] > 0) & (pre["t"] >= pre["first_treated"])
    ).astype(int)
    return pre


def sensitivity_analyses(
    design: str,
    matched: pd.DataFrame,
    unmatched: pd.DataFrame,
    *,
    washout: int,
    placebo_shift: int,
) -> dict[str, EvaluationResult | str]:
    """Alternative controls, washout and placebo dates; failures are reported, not raised.

    * not-yet-treated controls (staggered) / never-treated (the main analysis);
    * all non-pilot practices as controls (no matching);
    * excluding the first `washout` periods after each practice's start (TWFE on
      the remaining rows: the steady-state effect);
    * placebo start dates `placebo_shift` periods before the true starts, on
      pre-period data only (should be null).
    """
    out: dict[str, EvaluationResult | str] = {}

    def attempt(name: str, fn: Any) -> None:
        try:
            out[name] = fn()
        except UserError as exc:
            out[name] = f"not estimable: {exc}"

    if design == "staggered":
        attempt(
            "not-yet-treated controls",
            lambda: run_design(design, matched, control_group="notyet"),
        )
    attempt(
        "all non-pilot practices (unmatched)", lambda: run_design(design, unmatched)
    )
    if washout > 0:
        event = matched["t"] - matched["first_treated"]
        keep = ~((matched["first_treated"] > 0) & (event >= 0) & (event < washout))
        attempt(
            f"excluding the first {washout} periods after start (TWFE)",
            lambda: run_design("did", matched[keep]),
        )
    if placebo_shift > 0:
        attempt(
            f"placebo start {placebo_shift} periods earlier (pre-period only)",
            lambda: run_design("did" if design in ("its", "synth") else design,
                               placebo_panel(matched, placebo_shift)),
        )  # fmt: skip
    return out


def sensitivity_table(
    main: EvaluationResult,
    sens: dict[str, EvaluationResult | str],
    main_label: str = "main analysis (matched comparators)",
) -> pd.DataFrame:
    """One row per analysis: headline estimate, 95 % CI, p-value and remark."""
    rows: list[dict[str, Any]] = []

    def row(name: str, res: EvaluationResult | str) -> dict[str, Any]:
        if isinstance(res, str):
            return {"analysis": name, "method": "", "estimate": None, "ci_low": None,
                    "ci_high": None, "p_value": None, "remark": res}  # fmt: skip
        h = res.headline
        return {"analysis": name, "method": res.method, "estimate": h.estimate,
                "ci_low": h.ci_low, "ci_high": h.ci_high, "p_value": h.p_value,
                "remark": f"{res.n_units or ''} practices"}  # fmt: skip

    rows.append(row(main_label, main))
    rows += [row(k, v) for k, v in sens.items()]
    return pd.DataFrame(rows)


def group_effects(
    groups: pd.DataFrame,
    practice_ids: Sequence[int],
    breakdown: str,
    *,
    min_denominator: float = 1.0,
) -> EvaluationResult:
    """Effects by inequality group from the engine's breakdown rows, and the gap test.

    Each category's practice-level rates form a panel; the effect in each group is
    a TWFE DiD clustered by practice (`effects_by_group`), and the change in the
    gap against the reference group (IMD: least deprived quintile) is the
    triple-difference interaction of `twfe_gap_change`, clustered by practice
    because the groups share practices. "Not stated"/"Unknown" categories are
    left out.

    Raises:
        InsufficientDataError: fewer than two usable categories.
    """
    g = groups[
        (groups["breakdown"] == breakdown)
        & groups["practice_id"].isin(list(practice_ids))
    ]
    g = g[
        ~g["category"].astype(str).isin(NOT_STATED)
        & (g["denominator"] >= min_denominator)
    ]
    g = g[g["value"].notna()].copy()
    g["cell"] = g["practice_id"].astype(str) + "|" + g["category"].astype(str)
    # a category needs treated cells and comparator cells to be estimable
    arms = g.groupby("category")["pilot"].agg(["min", "max"])
    usable = arms[(arms["min"] == 0) & (arms["max"] == 1)].index
    g = g[g["category"].isin(usable)]
    levels = sorted(g["category"].astype(str).unique().tolist())
    if len(levels) < 2:
        raise InsufficientDataError(
            f"effects by {breakdown}: fewer than two categories with data."
        )
    ref = GROUP_REFERENCE.get(breakdown)
    ref = ref if ref in levels else levels[0]

    def fit(d: pd.DataFrame) -> EvaluationResult:
        return twfe(d, unit="cell", time="t", outcome="value", treated="treated",
                    cluster="practice_id")  # fmt: skip

    by = effects_by_group(g, group="category", estimate=fit, reference=ref)
    try:
        gap = twfe_gap_change(g, unit="cell", time="t", outcome="value", treated="treated",
                              group="category", reference=ref, cluster="practice_id")  # fmt: skip
        by.effects += [
            Effect(
                f"gap (clustered):{e.name}",
                e.estimate,
                e.se,
                e.ci_low,
                e.ci_high,
                e.p_value,
                e.scale,
            )
            for e in gap.effects
            if e.name.startswith("gap")
        ]
        by.details["gap_test_clustered"] = gap.details
    except (UserError, ValueError) as exc:  # ValueError: rank-deficient interactions
        by.notes.append(f"clustered gap test not estimable: {exc}")
    by.details["reference"] = ref
    return by
