"""Build pilot-evaluation panels from the analytics database through the engine.

Outcomes are indicator definitions from the library, computed by
`carepilot.engine.Engine` (never re-implemented here). The engine returns the
results table for every area and breakdown; this module keeps the practice rows
and reshapes them into

* the **analysis panel**: practice x period with numerator, denominator and value
  of one outcome, pilot membership, each practice's first treated period (from
  `pilot_site_members.start_date`) and practice covariates (population size,
  deprivation and age profile of the outcome's population, baseline outcome);
* the **group panel**: the same by inequality group (practice x period x
  category) from the engine's breakdown rows, for effects by inequality group.

These panels hold unsuppressed counts: they are internal analysis datasets
(row-level-access view), not publications.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from carepilot.engine.definitions import SHIPPED_LIBRARY, load_definitions
from carepilot.engine.run import Engine
from carepilot.errors import DefinitionError, InputDataError, InsufficientDataError
from carepilot.indicators.model import IndicatorDefinition
from carepilot.indicators.periods import (
    Frequency,
    Period,
    PeriodRule,
    PeriodRuleKind,
    add_months,
    make_periods,
)

INEQUALITY_BREAKDOWNS: dict[str, str] = {
    "imd_quintile": "deprivation (IMD quintile)",
    "ethnicity_5": "ethnicity",
    "sex": "sex",
    "disability": "disability",
}
"""Engine breakdowns that every evaluation reports effects by, with their labels."""

SPECIFIC_INEQUALITY_BREAKDOWN: dict[str, str] = {
    "race": "ethnicity_5",
    "gender": "sex",
    "disability": "disability",
    "religion": "religion",
    "sexuality": "sexual_orientation",
}
"""`pilot_sites.specific_inequality` (schema INEQUALITY_DIMENSIONS) -> engine breakdown."""

GROUP_REFERENCE: dict[str, str] = {"imd_quintile": "5"}
"""Reference category for the gap test (least deprived quintile; else first in order)."""

NOT_STATED = ("Not stated", "Unknown", "Not known", "not stated", "unknown")


@dataclass(frozen=True)
class PilotInfo:
    """A pilot and its member practices.

    Attributes:
        pilot_id: Identifier from `pilot_sites`.
        name: Pilot name.
        start_date: The pilot's start date (`pilot_sites.start_date`).
        specific_inequality: The inequality the pilot committed to reduce, or None.
        members: practice_pseudo_id -> the practice's own start date.
    """

    pilot_id: str
    name: str
    start_date: dt.date
    specific_inequality: str | None
    members: Mapping[int, dt.date]


@dataclass
class OutcomePanel:
    """Analysis datasets of one outcome.

    Attributes:
        definition: The library definition actually run (period rule adapted).
        panel: practice x period rows (see module docstring for columns).
        groups: practice x period x (breakdown, category) rows.
        practices: one row per practice with covariates and pilot flags.
        periods: The analysis periods (period index t = position + 1).
    """

    definition: IndicatorDefinition
    panel: pd.DataFrame
    groups: pd.DataFrame
    practices: pd.DataFrame
    periods: list[Period] = field(default_factory=list[Period])


def _as_date(value: object) -> dt.date | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    ts = pd.Timestamp(value)  # type: ignore[arg-type]
    if pd.isna(ts):
        return None
    return ts.date()


def read_pilot(tables: Mapping[str, ir.Table], pilot_id: str) -> PilotInfo:
    """Read one pilot and its member practices.

    Raises:
        InputDataError: the pilot id is unknown (the message lists known ids), or
            it has no member practice with a start date.
    """
    sites = tables["pilot_sites"].to_pandas()
    known = sorted(str(p) for p in sites["pilot_id"].tolist())
    row = sites[sites["pilot_id"].astype(str) == pilot_id]
    if row.empty:
        raise InputDataError(
            f"--pilot {pilot_id!r}: no such pilot in table pilot_sites; "
            f"known pilots: {', '.join(known) or 'none (load pilot_sites first)'}."
        )
    site = row.iloc[0]
    members = tables["pilot_site_members"].to_pandas()
    members = members[
        (members["pilot_id"].astype(str) == pilot_id)
        & (members["member_type"] == "practice")
        & members["practice_pseudo_id"].notna()
    ]
    starts: dict[int, dt.date] = {}
    site_start = _as_date(site["start_date"])
    for pid, start in zip(
        members["practice_pseudo_id"], members["start_date"], strict=True
    ):
        when = _as_date(start) or site_start
        if when is None:
            continue
        starts[int(pid)] = min(when, starts.get(int(pid), when))
    if not starts:
        raise InputDataError(
            f"pilot {pilot_id!r}: no member practice with a start date in "
            "pilot_site_members (member_type = practice); add the practices and their "
            "start_date."
        )
    inequality = site.get("specific_inequality")
    return PilotInfo(
        pilot_id=pilot_id,
        name=str(site["pilot_name"]),
        start_date=site_start or min(starts.values()),
        specific_inequality=None if pd.isna(inequality) else str(inequality),
        members=starts,
    )


def data_months(tables: Mapping[str, ir.Table]) -> tuple[dt.date, dt.date]:
    """First and last whole month covered by the extract (hospital spells, else events).

    Clinical events go back decades (diagnoses), so the extract window is read
    from the admitted patient care table when it has rows.
    """
    for name, col in (("apcs", "admission_date"), ("clinical_events", "date")):
        t = tables[name]
        got = t.aggregate(lo=t[col].min(), hi=t[col].max()).to_pandas()
        lo, hi = _as_date(got["lo"].iloc[0]), _as_date(got["hi"].iloc[0])
        if lo is not None and hi is not None:
            first = (
                lo.replace(day=1) if lo.day == 1 else add_months(lo.replace(day=1), 1)
            )
            last_next = add_months(hi.replace(day=1), 1)
            last = (
                hi.replace(day=1)
                if (last_next - hi).days == 1
                else add_months(hi.replace(day=1), -1)
            )
            return first, last
    raise InsufficientDataError(
        "the analytics database has no hospital spells or clinical events; load an "
        "extract first (`carepilot load DIR --db PATH`)."
    )


def load_outcomes(
    ids: Sequence[str], definitions: Sequence[Path] = (SHIPPED_LIBRARY,)
) -> list[IndicatorDefinition]:
    """Library definitions for the outcome ids, with a clear error for unknown ids."""
    if not ids:
        raise DefinitionError(
            "--outcomes: give at least one indicator id, e.g. emergency-admissions-rate."
        )
    by_id = {d.id: d for d in load_definitions(list(definitions))}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise DefinitionError(
            f"--outcomes: no indicator with id {', '.join(missing)} in the library; "
            f"available: {', '.join(sorted(by_id))}."
        )
    return [by_id[i] for i in ids]


def evaluation_definition(definition: IndicatorDefinition) -> IndicatorDefinition:
    """Adapt the reporting window to the analysis period.

    Rolling or year-to-date windows (`last_12_months`) overlap between monthly
    periods: they smear the onset of an effect over a year and make successive
    observations share events. For evaluation, `within=period` counts events in
    the analysis period itself (`as_at_end`). Fixed look-backs written into the
    expressions (``within=12 months``) are part of the indicator's meaning and are
    kept.
    """
    if definition.period_rule.kind is PeriodRuleKind.AS_AT_END:
        return definition
    return dataclasses.replace(definition, period_rule=PeriodRule())


def analysis_periods(
    first: dt.date, last: dt.date, frequency: Frequency
) -> list[Period]:
    """Consecutive periods covering the analysis window."""
    return make_periods(first, last, frequency)


def first_treated_index(periods: Sequence[Period], start: dt.date) -> int:
    """1-based index of the first period starting on or after `start` (0 = never).

    The engine counts a pilot practice in periods starting on or after its start
    date; a period already running at the start is therefore a pre-period.
    """
    for i, p in enumerate(periods, start=1):
        if p.start >= start:
            return i
    return 0


def build_outcome_panel(
    engine: Engine,
    definition: IndicatorDefinition,
    pilot: PilotInfo,
    *,
    practices: pd.DataFrame,
    exclude_practices: Sequence[int] = (),
) -> OutcomePanel:
    """Run one outcome through the engine and reshape it into evaluation panels.

    Args:
        engine: Engine over the analytics tables and the analysis periods (its
            breakdowns should include ``total`` and the inequality breakdowns).
        definition: Library definition (already adapted with
            `evaluation_definition`).
        pilot: The pilot and its member practices.
        practices: The `practices` table.
        exclude_practices: Practices left out entirely (members of other pilots).

    Returns:
        The outcome's panels.

    Raises:
        InsufficientDataError: the outcome has no practice rows.
    """
    periods = engine.periods
    res = engine.results(definition)
    res = res[res["area_type"] == "practice"]
    if res.empty:
        raise InsufficientDataError(
            f"outcome {definition.id!r}: the engine returned no practice rows for "
            f"{periods[0].start:%Y-%m} to {periods[-1].end:%Y-%m}; check the data cover "
            "that window."
        )
    code_to_id = dict(
        zip(
            practices["practice_code"].astype(str),
            practices["practice_pseudo_id"].astype(int),
            strict=True,
        )
    )
    index_of = {p.start: i for i, p in enumerate(periods, start=1)}
    res = res.assign(
        practice_id=res["area_code"].map(code_to_id),
        t=pd.to_datetime(res["period_start"]).dt.date.map(index_of),
    )
    res = res[~res["practice_id"].isin(list(exclude_practices))]
    first = {pid: first_treated_index(periods, d) for pid, d in pilot.members.items()}
    res["first_treated"] = res["practice_id"].map(first).fillna(0).astype(int)
    res["pilot"] = res["practice_id"].isin(list(pilot.members)).astype(int)
    res["treated"] = (
        (res["first_treated"] > 0) & (res["t"] >= res["first_treated"])
    ).astype(int)
    keep = [
        "practice_id",
        "area_code",
        "area_name",
        "parent_area_code",
        "t",
        "period_start",
        "period_end",
        "numerator",
        "denominator",
        "value",
        "pilot",
        "first_treated",
        "treated",
    ]
    total = res[res["breakdown"] == "total"][keep].rename(
        columns={
            "area_code": "practice",
            "area_name": "practice_name",
            "parent_area_code": "pcn",
        }
    )
    total = total.sort_values(["practice_id", "t"]).reset_index(drop=True)
    # practices with no population in some period have no value: the estimators
    # need a balanced panel, so such practices are dropped with a note upstream.
    total["value"] = total["value"].astype(float)
    groups = res[res["breakdown"] != "total"][[*keep, "breakdown", "category"]].rename(
        columns={
            "area_code": "practice",
            "area_name": "practice_name",
            "parent_area_code": "pcn",
        }
    )
    groups = groups.reset_index(drop=True)
    chars = practice_characteristics(
        total, groups, pilot_start=_pre_end(periods, pilot)
    )
    total = total.merge(
        chars.drop(columns=["pilot", "first_treated"]), on="practice_id", how="left"
    )
    return OutcomePanel(definition, total, groups, chars, list(periods))


def _pre_end(periods: Sequence[Period], pilot: PilotInfo) -> int:
    """Last pre-period index: before the earliest member start."""
    starts = [first_treated_index(periods, d) for d in pilot.members.values()]
    starts = [s for s in starts if s > 0]
    return (min(starts) - 1) if starts else len(periods)


def practice_characteristics(
    total: pd.DataFrame, groups: pd.DataFrame, *, pilot_start: int
) -> pd.DataFrame:
    """Practice covariates from the pre-period (t <= pilot_start).

    * ``population``: mean denominator (list size for list-based indicators, the
      register size for clinical ones);
    * ``baseline``: pre-period outcome rate (sum numerator / sum denominator, on the
      indicator's scale), and ``baseline_trend``: its change between the first and
      second half of the pre-period;
    * ``deprived_share``: share of the denominator in IMD quintiles 1-2;
    * ``older_share``: share aged 65+ (when the age-band breakdown was run);
    * ``disabled_share``, ``minority_share``: share with a disability / not White.
    """
    pre = total[total["t"] <= max(pilot_start, 1)]
    mult = _multiplier(total)
    agg = pre.groupby("practice_id").agg(
        numerator=("numerator", "sum"),
        denominator=("denominator", "sum"),
        population=("denominator", "mean"),
        pilot=("pilot", "max"),
        first_treated=("first_treated", "max"),
    )
    agg["baseline"] = (
        agg["numerator"] / agg["denominator"].where(agg["denominator"] > 0) * mult
    )
    half = max(pilot_start // 2, 1)
    early = (
        pre[pre["t"] <= half].groupby("practice_id")[["numerator", "denominator"]].sum()
    )
    late = (
        pre[pre["t"] > half].groupby("practice_id")[["numerator", "denominator"]].sum()
    )
    rate_e = early["numerator"] / early["denominator"].where(early["denominator"] > 0)
    rate_l = late["numerator"] / late["denominator"].where(late["denominator"] > 0)
    agg["baseline_trend"] = ((rate_l - rate_e) * mult).reindex(agg.index).fillna(0.0)
    gpre = groups[groups["t"] <= max(pilot_start, 1)]
    shares = {
        "deprived_share": ("imd_quintile", ("1", "2")),
        "older_share": (
            "age_band",
            ("65-69", "70-74", "75-79", "80-84", "85-89", "90+"),
        ),
        "disabled_share": ("disability", ("Yes", "yes", "Disabled", "disabled")),
        "minority_share": (
            "ethnicity_5",
            ("Asian", "Black", "Mixed", "Other"),
        ),  # not White
    }
    for name, (breakdown, cats) in shares.items():
        rows = gpre[gpre["breakdown"] == breakdown]
        if rows.empty:
            continue
        den = rows.groupby("practice_id")["denominator"].sum()
        hit = (
            rows[rows["category"].astype(str).isin(cats)]
            .groupby("practice_id")["denominator"]
            .sum()
        )
        agg[name] = (hit.reindex(den.index).fillna(0) / den.where(den > 0)).reindex(
            agg.index
        )
    return agg.drop(columns=["numerator", "denominator"]).reset_index()


def _multiplier(total: pd.DataFrame) -> float:
    ok = total[(total["denominator"] > 0) & (total["numerator"] > 0)]
    if ok.empty:
        return 1.0
    row = ok.iloc[0]
    return float(row["value"] * row["denominator"] / row["numerator"])


def balanced(panel: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Drop practices with a missing value in any period (estimators need balance)."""
    bad = panel.loc[
        panel["value"].isna() | (panel["denominator"] <= 0), "practice_id"
    ].unique()
    if len(bad):
        notes.append(
            f"{len(bad)} practice(s) without a population in some period were left out "
            "(the panel must be balanced)."
        )
    out = panel[~panel["practice_id"].isin(bad)]
    if out.empty:
        raise InsufficientDataError(
            "no practice has a population in every analysis period; check --from/--to."
        )
    return out.reset_index(drop=True)
