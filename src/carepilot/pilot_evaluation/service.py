"""Evaluate one pilot on the analytics database: the `carepilot evaluate` service.

`evaluate_pilot` builds the analysis panels through the indicator engine, picks
matched comparator practices, runs the chosen design, sensitivity analyses and
effects by inequality group, and assembles the report of each outcome with
`carepilot.evaluation.report.build_report`. `write_evaluation` writes the HTML
(+ PDF), the analysis datasets and the JSON of all numbers.

Reports are annual: year 1 and 2 are interim reports, year 3 the final report.
Year *y* covers the data up to the end of the pilot's *y*-th year (from
`pilot_sites.start_date`), or the last month in the data if that is earlier.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from carepilot.disclosure import OPENSAFELY, DisclosurePolicy, release
from carepilot.engine.definitions import SHIPPED_LIBRARY
from carepilot.engine.run import Engine
from carepilot.errors import InsufficientDataError, UserError
from carepilot.evaluation import EvaluationResult, PanelSpec
from carepilot.evaluation.report import EvaluationReport, build_report
from carepilot.evaluation.results import frame_records
from carepilot.indicators.model import IndicatorDefinition
from carepilot.indicators.periods import Frequency, Period, add_months
from carepilot.pilot_evaluation.analysis import (
    DESIGNS,
    Comparators,
    choose_comparators,
    group_effects,
    run_design,
    sensitivity_analyses,
    sensitivity_table,
)
from carepilot.pilot_evaluation.panel import (
    INEQUALITY_BREAKDOWNS,
    SPECIFIC_INEQUALITY_BREAKDOWN,
    OutcomePanel,
    PilotInfo,
    analysis_periods,
    balanced,
    build_outcome_panel,
    data_months,
    evaluation_definition,
    first_treated_index,
    load_outcomes,
    read_pilot,
)
from carepilot.pilot_evaluation.patients import (
    PATIENT_DESIGNS,
    PatientCohort,
    build_patient_cohort,
    cohort_table,
    patient_balance,
    patient_effect,
    patient_group_effects,
    patient_sensitivity,
)

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class EvaluationRequest:
    """What to evaluate.

    Attributes:
        pilot_id: `pilot_sites.pilot_id`.
        outcomes: Library indicator ids.
        design: ``did``, ``staggered``, ``its`` or ``synth`` (practice panels), or
            ``ipw`` / ``aipw`` (patient-level ATT clustered by practice, see
            `carepilot.pilot_evaluation.patients`).
        year: 1 or 2 (interim report) or 3 (final report); None = all data.
        first_month, last_month: Analysis window (default: the extract's months;
            `last_month` is capped at the end of `year`).
        frequency: Period length of the panel (month or quarter).
        washout: Periods after each start excluded in the washout sensitivity
            analysis (default: 3 months' worth).
        placebo_shift: Periods the placebo start is moved back (default: half the
            pre-period, at most 12 months' worth).
        k: Comparators per pilot practice.
        min_comparators: Fewest non-pilot practices accepted.
        groups: Run effects by inequality group.
        sensitivity: Run the sensitivity analyses.
        definitions: Where the indicator definitions are read from.
        seed: Seed for matching.
    """

    pilot_id: str
    outcomes: tuple[str, ...]
    design: str = "staggered"
    year: int | None = None
    first_month: dt.date | None = None
    last_month: dt.date | None = None
    frequency: Frequency = Frequency.MONTH
    washout: int | None = None
    placebo_shift: int | None = None
    k: int = 3
    min_comparators: int = 5
    groups: bool = True
    sensitivity: bool = True
    definitions: tuple[Path, ...] = (SHIPPED_LIBRARY,)
    seed: int = 0


@dataclass
class OutcomeEvaluation:
    """Everything estimated for one outcome."""

    outcome: str
    title: str
    data: OutcomePanel
    analysis: pd.DataFrame
    comparators: Comparators
    main: EvaluationResult
    sensitivity: dict[str, EvaluationResult | str]
    by_group: dict[str, EvaluationResult]
    counts: pd.DataFrame
    notes: list[str] = field(default_factory=list[str])
    patients: PatientCohort | None = None
    """The patient-level cohort (designs ``ipw``/``aipw`` only)."""


@dataclass
class PilotEvaluation:
    """The evaluation of one pilot: per-outcome results and the window used."""

    request: EvaluationRequest
    pilot: PilotInfo
    periods: list[Period]
    kind: str
    outcomes: list[OutcomeEvaluation]
    timings: dict[str, float] = field(default_factory=dict[str, float])


def _check_request(req: EvaluationRequest) -> None:
    if req.design not in (*DESIGNS, *PATIENT_DESIGNS):
        raise UserError(
            f"--design {req.design!r}: choose one of "
            f"{', '.join((*DESIGNS, *PATIENT_DESIGNS))}."
        )
    if req.year is not None and req.year not in (1, 2, 3):
        raise UserError(
            f"--year {req.year}: use 1 or 2 (interim reports) or 3 (final report)."
        )
    if req.frequency not in (Frequency.MONTH, Frequency.QUARTER):
        raise UserError("--frequency: use month or quarter for an evaluation panel.")


def report_kind(year: int | None) -> str:
    """'interim report, year N', 'final report (year 3)' or 'evaluation report'."""
    if year is None:
        return "evaluation report"
    return "final report (year 3)" if year == 3 else f"interim report, year {year}"


def evaluation_window(
    req: EvaluationRequest, pilot: PilotInfo, data: tuple[dt.date, dt.date]
) -> tuple[dt.date, dt.date, list[str]]:
    """First and last month analysed, with notes when the data stop early."""
    notes: list[str] = []
    first = req.first_month or data[0]
    last = req.last_month or data[1]
    if req.year is not None:
        year_end = add_months(pilot.start_date.replace(day=1), 12 * req.year - 1)
        if year_end < last:
            last = year_end
        elif year_end > last:
            notes.append(
                f"the data end in {last:%Y-%m}, before the end of pilot year {req.year} "
                f"({year_end:%Y-%m}); this report covers the months available."
            )
    return first, last, notes


def _check_timing(pilot: PilotInfo, periods: Sequence[Period]) -> list[str]:
    notes: list[str] = []
    first_start = min(pilot.members.values())
    if first_start <= periods[0].start:
        early = sorted(p for p, d in pilot.members.items() if d <= periods[0].start)
        raise InsufficientDataError(
            f"pilot {pilot.pilot_id!r}: practice(s) {', '.join(map(str, early))} start "
            f"on or before the first analysis period ({periods[0].start:%Y-%m}), so there "
            "is no pre-period to compare with; start the analysis earlier (--from) with "
            "data from before the pilot."
        )
    idx = [first_treated_index(periods, d) for d in pilot.members.values()]
    if all(i == 0 for i in idx):
        raise InsufficientDataError(
            f"pilot {pilot.pilot_id!r} starts ({first_start:%Y-%m-%d}) after the last "
            f"analysis period ({periods[-1].end:%Y-%m-%d}): there is no post-period yet."
        )
    if min(i for i in idx if i > 0) < 3:
        raise InsufficientDataError(
            f"pilot {pilot.pilot_id!r}: fewer than 2 pre-periods before the first start "
            f"({first_start:%Y-%m-%d}); start the analysis earlier (--from)."
        )
    late = sum(1 for i in idx if i == 0)
    if late:
        notes.append(
            f"{late} member practice(s) start after the analysis window and are left "
            "out (neither pilot nor comparator)."
        )
    return notes


def evaluate_pilot(
    tables: Mapping[str, ir.Table],
    req: EvaluationRequest,
    progress: Progress | None = None,
) -> PilotEvaluation:
    """Run the evaluation of one pilot.

    Args:
        tables: The analytics tables (`carepilot.engine.tables.tables_from_connection`).
        req: What to evaluate.
        progress: Called with a short message at each step.

    Raises:
        UserError: unknown pilot, outcome or design; no pre-period; too few
            comparators (each with a specific message).
    """
    say = progress or (lambda _m: None)
    _check_request(req)
    clock = time.perf_counter()
    timings: dict[str, float] = {}
    pilot = read_pilot(tables, req.pilot_id)
    definitions = load_outcomes(req.outcomes, req.definitions)
    first, last, window_notes = evaluation_window(req, pilot, data_months(tables))
    periods = analysis_periods(first, last, req.frequency)
    notes = window_notes + _check_timing(pilot, periods)
    members = tables["pilot_site_members"].to_pandas()
    others = members[
        (members["pilot_id"].astype(str) != req.pilot_id)
        & members["practice_pseudo_id"].notna()
    ]["practice_pseudo_id"].astype(int)
    late = [p for p, d in pilot.members.items() if first_treated_index(periods, d) == 0]
    exclude = sorted({*others.tolist(), *late})
    if len(others):
        notes.append(
            f"{others.nunique()} practice(s) of other pilots are excluded from the comparators."
        )
    breakdowns = ["total", *INEQUALITY_BREAKDOWNS, "age_band"]
    specific = SPECIFIC_INEQUALITY_BREAKDOWN.get(pilot.specific_inequality or "")
    if specific and specific not in breakdowns:
        breakdowns.append(specific)
    engine = Engine(tables, periods, breakdowns=tuple(breakdowns))
    practices = tables["practices"].to_pandas()
    timings["setup"] = time.perf_counter() - clock
    per_month = 1 if req.frequency is Frequency.MONTH else 3
    out: list[OutcomeEvaluation] = []
    for definition in definitions:
        t0 = time.perf_counter()
        say(f"{definition.id}: computing the indicator for {len(periods)} periods")
        data = build_outcome_panel(
            engine, evaluation_definition(definition), pilot,
            practices=practices, exclude_practices=exclude,
        )  # fmt: skip
        if req.design in PATIENT_DESIGNS:
            say(f"{definition.id}: building the patient cohort")
            cohort = build_patient_cohort(
                engine, evaluation_definition(definition), pilot,
                exclude_practices=exclude,
                extra_breakdowns=[specific] if specific else [],
            )  # fmt: skip
            timings[f"{definition.id}:engine"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            say(f"{definition.id}: estimating the patient-level ATT ({req.design})")
            out.append(
                _evaluate_patients(definition, data, cohort, req, specific, list(notes))
            )
            timings[f"{definition.id}:analysis"] = time.perf_counter() - t0
            continue
        timings[f"{definition.id}:engine"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        say(f"{definition.id}: matching comparators and estimating ({req.design})")
        out.append(
            _evaluate_outcome(
                definition, data, req, pilot, specific, per_month, list(notes)
            )
        )
        timings[f"{definition.id}:analysis"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - clock
    return PilotEvaluation(req, pilot, periods, report_kind(req.year), out, timings)


def _evaluate_outcome(
    definition: IndicatorDefinition,
    data: OutcomePanel,
    req: EvaluationRequest,
    pilot: PilotInfo,
    specific: str | None,
    per_month: int,
    notes: list[str],
) -> OutcomeEvaluation:
    panel = balanced(data.panel, notes)
    chars = data.practices[data.practices["practice_id"].isin(panel["practice_id"])]
    comps = choose_comparators(
        chars, k=req.k, min_comparators=req.min_comparators, seed=req.seed
    )
    notes += comps.notes
    keep = set(comps.practice_ids) | set(pilot.members)
    matched = panel[panel["practice_id"].isin(keep)].reset_index(drop=True)
    main = run_design(req.design, matched)
    sens: dict[str, EvaluationResult | str] = {}
    if req.sensitivity:
        pre = int(matched.loc[matched["first_treated"] > 0, "first_treated"].min()) - 1
        washout = req.washout if req.washout is not None else 3 // per_month
        shift = req.placebo_shift
        if shift is None:
            shift = max(1, min(pre // 2, 12 // per_month))
        sens = sensitivity_analyses(
            req.design, matched, panel, washout=washout, placebo_shift=shift
        )
    by_group: dict[str, EvaluationResult] = {}
    if req.groups:
        for breakdown, label in _inequality_dims(specific).items():
            try:
                by_group[label] = group_effects(data.groups, sorted(keep), breakdown)
            except UserError as exc:
                notes.append(f"effects by {label}: not estimable ({exc}).")
    counts = count_table(matched, definition)
    return OutcomeEvaluation(
        definition.id,
        definition.title,
        data,
        matched,
        comps,
        main,
        sens,
        by_group,
        counts,
        notes,
    )


def _inequality_dims(specific: str | None) -> dict[str, str]:
    dims = dict(INEQUALITY_BREAKDOWNS)
    if specific:
        dims[specific] = (
            dims.get(specific, specific) + " (the pilot's chosen inequality)"
        )
    return dims


def _evaluate_patients(
    definition: IndicatorDefinition,
    data: OutcomePanel,
    cohort: PatientCohort,
    req: EvaluationRequest,
    specific: str | None,
    notes: list[str],
) -> OutcomeEvaluation:
    """Patient-level ATT, balance, sensitivity and inequality groups for one outcome."""
    notes += cohort.notes
    main, fit = patient_effect(cohort, req.design)
    balance = patient_balance(cohort, fit)
    used = [str(c) for c in main.details.get("covariates_used", [])]
    comparison = sorted(
        int(p)
        for p in cohort.data.loc[cohort.data["treated"] == 0, "practice_id"].unique()
    )
    comps = Comparators(comparison, balance, used)
    sens = patient_sensitivity(cohort, req.design) if req.sensitivity else {}
    by_group: dict[str, EvaluationResult] = {}
    if req.groups:
        for breakdown, label in _inequality_dims(specific).items():
            try:
                by_group[label] = patient_group_effects(
                    cohort, req.design, breakdown, label
                )
            except UserError as exc:
                notes.append(f"effects by {label}: not estimable ({exc}).")
    practices = set(cohort.data["practice_id"].astype(int))
    panel = data.panel[data.panel["practice_id"].isin(practices)]
    analysis = balanced(panel, notes)
    counts = count_table(analysis, definition)
    return OutcomeEvaluation(
        definition.id,
        definition.title,
        data,
        analysis,
        comps,
        main,
        sens,
        by_group,
        counts,
        notes,
        cohort,
    )


def count_table(
    panel: pd.DataFrame,
    definition: IndicatorDefinition,
    policy: DisclosurePolicy = OPENSAFELY,
) -> pd.DataFrame:
    """Numerators and denominators by arm and phase, through `disclosure.release`.

    The counts leave the analysis only after disclosure control (OpenSAFELY
    policy by default: counts <= 7 redacted, others rounded to 5, the value
    recomputed from the rounded counts).
    """
    phase = np.where(
        panel["first_treated"].eq(0),
        np.where(panel["t"] < _first_start(panel), "before", "after"),
        np.where(panel["treated"].eq(1), "after", "before"),
    )
    arm = np.where(panel["pilot"].eq(1), "pilot practices", "comparator practices")
    sums = (
        panel.assign(arm=arm, phase=phase)
        .groupby(["arm", "phase"], as_index=False)[["numerator", "denominator"]]
        .sum()
    )
    mult = float(definition.multiplier)
    table = pd.DataFrame(
        {
            "indicator_id": definition.id,
            "indicator_version": definition.version,
            "period_start": None,
            "period_end": None,
            "area_type": "pilot",
            "area_code": sums["arm"],
            "area_name": sums["arm"],
            "parent_area_code": None,
            "breakdown": "phase",
            "category": sums["phase"],
            "numerator": sums["numerator"].astype(float),
            "denominator": sums["denominator"].astype(float),
            "exceptions": np.nan,
            "value": sums["numerator"] / sums["denominator"] * mult,
            "lower_ci_95": np.nan,
            "upper_ci_95": np.nan,
            "lower_ci_99_8": np.nan,
            "upper_ci_99_8": np.nan,
            "comparison": "not compared",
            "suppressed": False,
            "suppression_reason": None,
        }
    )
    floats = ["numerator", "denominator", "exceptions", "value", "lower_ci_95",
              "upper_ci_95", "lower_ci_99_8", "upper_ci_99_8"]  # fmt: skip
    released = release(table.astype(dict.fromkeys(floats, "Float64")), policy)
    return pd.DataFrame(
        {
            "arm": released["area_name"],
            "phase": released["category"],
            "numerator": released["numerator"].astype("float64"),
            "denominator": released["denominator"].astype("float64"),
            "value": released["value"].astype("float64"),
            "suppressed": released["suppressed"].astype(bool),
        }
    )


def _first_start(panel: pd.DataFrame) -> int:
    starts = panel.loc[panel["first_treated"] > 0, "first_treated"]
    return int(starts.min()) if len(starts) else int(panel["t"].max()) + 1


def build_outcome_report(
    ev: PilotEvaluation, oe: OutcomeEvaluation, image_format: str = "svg"
) -> EvaluationReport:
    """The report of one outcome (HTML + numbers) via `build_report`."""
    pilot = ev.pilot
    first, last = ev.periods[0].start, ev.periods[-1].end
    title = (
        f"{pilot.name} ({pilot.pilot_id}): {oe.title} — {ev.kind}, "
        f"{first:%b %Y} to {last:%b %Y}"
    )
    spec = PanelSpec(
        outcome="value", treated="treated", unit="practice_id", time="t",
        first_treated="first_treated", cluster="practice_id",
        options={"design": ev.request.design, "indicator": oe.outcome},
    )  # fmt: skip
    results: dict[str, EvaluationResult] = {f"main ({ev.request.design})": oe.main}
    sens_table = _sensitivity(oe)
    periods = pd.DataFrame(
        {"t": range(1, len(ev.periods) + 1),
         "period_start": [p.start.isoformat() for p in ev.periods]}
    )  # fmt: skip
    starts = (
        oe.analysis[oe.analysis["pilot"] == 1]
        .groupby("first_treated")["practice_id"].nunique().rename("practices").reset_index()
    )  # fmt: skip
    starts["start_month"] = [
        ev.periods[int(t) - 1].start.strftime("%Y-%m") for t in starts["first_treated"]
    ]
    caveats = [
        f"Outcome: library indicator {oe.outcome!r} (version {oe.data.definition.version}), "
        "computed by the indicator engine; rolling reporting windows are replaced by "
        "the analysis period so that periods do not overlap.",
        "Time t counts analysis periods from 1 (see the period table); the first "
        "treated period of a practice is the first period starting on or after its "
        "start date.",
        "Counts in the count table passed OpenSAFELY-style disclosure control "
        "(counts <= 7 redacted, others rounded to 5); model estimates are not counts.",
        "Effects by inequality group are TWFE DiD estimates on practice-level rates "
        "within each group; the gap test is the triple-difference interaction with "
        "SEs clustered by practice.",
        *oe.notes,
    ]
    if ev.request.design in ("its", "synth"):
        caveats.append(
            f"{ev.request.design}: staggered starts are pooled and the intervention is "
            "dated at the earliest start; later starters dilute the early post-period."
        )
    extra: list[tuple[str, pd.DataFrame, str]] = []
    if oe.patients is not None:
        caveats = _patient_caveats(ev, oe.patients) + caveats[:3] + caveats[4:]
        extra.append(
            (
                "Patient cohort",
                cohort_table(oe.patients),
                f"Patients in the outcome's population in both the pre-period (t "
                f"{oe.patients.pre[0]}-{oe.patients.pre[1]}) and the post-period (t "
                f"{oe.patients.post[0]}-{oe.patients.post[1]}), by the practice they "
                "were registered at when the pilot started; rates on the indicator's "
                "scale, unweighted means over patients.",
            )
        )
    return build_report(
        title=title,
        panel=oe.analysis,
        spec=spec,
        results=results,
        balance=oe.comparators.balance,
        by_group=oe.by_group,
        caveats=caveats,
        image_format=image_format,
        sections=[
            *extra,
            (
                "Sensitivity analyses",
                sens_table,
                "Headline effect of each alternative analysis; the placebo analysis should "
                "show no effect.",
            ),
            (
                "Counts by arm and phase (disclosure-controlled)",
                oe.counts,
                "Numerators and denominators (person-periods) summed over practices and "
                "periods, after OpenSAFELY disclosure control.",
            ),
            (
                "Pilot practices by start",
                starts[["start_month", "first_treated", "practices"]],
                "Staggered adoption: number of pilot practices by first treated period.",
            ),
            ("Analysis periods", periods, ""),
        ],  # fmt: skip
    )


def _sensitivity(oe: OutcomeEvaluation) -> pd.DataFrame:
    main = (
        "main analysis (patients of all comparison practices, weighted)"
        if oe.patients is not None
        else "main analysis (matched comparators)"
    )
    return sensitivity_table(oe.main, oe.sensitivity, main)


def _patient_caveats(ev: PilotEvaluation, cohort: PatientCohort) -> list[str]:
    period = ev.periods
    pre = f"{period[cohort.pre[0] - 1].start:%b %Y} to {period[cohort.pre[1] - 1].end:%b %Y}"
    post = f"{period[cohort.post[0] - 1].start:%b %Y} to {period[cohort.post[1] - 1].end:%b %Y}"
    est = (
        "doubly robust (Sant'Anna-Zhao) ATT: consistent if either the propensity "
        "model or the comparison outcome model is right"
        if ev.request.design == "aipw"
        else "normalised IPW ATT: relies on the propensity model being right"
    )
    return [
        f"Patient-level design ({ev.request.design}): {est}. Treatment = registered "
        f"at a pilot practice when the pilot started; outcome = the patient's rate in "
        f"the post-period ({post}, from the latest practice start, so every pilot "
        f"patient is exposed throughout); covariates = pre-period rate ({pre}), age, "
        "age², sex, IMD decile and months in the population before the start.",
        "Standard errors are clustered by index practice (treatment is assigned by "
        "practice): influence functions summed by practice, G/(G-1) correction, "
        "t intervals with G-1 df. With few pilot practices the intervals are "
        "approximate. Unmeasured practice-level differences (e.g. a practice's own "
        "trend) are not adjusted for; the practice-level designs (did, staggered) "
        "difference them out.",
        "The relative effect is ATT / the counterfactual mean of pilot patients "
        "(delta method on the same clustered influence functions).",
        "Effects by inequality group are the same patient-level ATT within each "
        "category; gaps against the reference category and the equality test use the "
        "joint practice-clustered covariance of the category effects (categories "
        "share practices). Patients move practice or leave: only those in the "
        "outcome's population in both windows are analysed (a cohort, not the "
        "changing list).",
    ]


def write_evaluation(
    ev: PilotEvaluation, out: Path, *, pdf: bool = True, image_format: str = "svg"
) -> dict[str, Any]:
    """Write each outcome's report, data and numbers, plus a summary JSON.

    Layout: ``OUT/<outcome>/report.html``, ``report.pdf``, ``numbers.json``,
    ``analysis_panel.csv`` (practice x period), ``group_panel.csv`` (by inequality
    group), and ``OUT/summary.json`` with the headline effects and timings.
    The analysis datasets hold unsuppressed counts: internal use only.

    Returns:
        The summary document.
    """
    out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {
        "pilot_id": ev.pilot.pilot_id,
        "pilot_name": ev.pilot.name,
        "report": ev.kind,
        "design": ev.request.design,
        "first_period": ev.periods[0].start.isoformat(),
        "last_period": ev.periods[-1].end.isoformat(),
        "outcomes": {},
        "timings_seconds": {k: round(v, 2) for k, v in ev.timings.items()},
    }
    for oe in ev.outcomes:
        folder = out / oe.outcome
        folder.mkdir(parents=True, exist_ok=True)
        report = build_outcome_report(ev, oe, image_format)
        (folder / "report.html").write_text(report.html, encoding="utf-8")
        (folder / "numbers.json").write_text(report.numbers_json(), encoding="utf-8")
        oe.analysis.to_csv(folder / "analysis_panel.csv", index=False)
        oe.data.groups.to_csv(folder / "group_panel.csv", index=False)
        if oe.patients is not None:
            oe.patients.data.to_csv(folder / "analysis_patients.csv", index=False)
        if pdf:
            write_pdf(report.html, folder / "report.pdf")
        summary["outcomes"][oe.outcome] = {
            "title": oe.title,
            "effects": [e.to_dict() for e in oe.main.effects if ":" not in e.name],
            "pretrend_test": oe.main.details.get("pretrend_test"),
            "sensitivity": frame_records(_sensitivity(oe)),
            "se_type": oe.main.details.get("se_type"),
            "files": sorted(p.name for p in folder.iterdir()),
        }
    (out / "summary.json").write_text(
        json.dumps(summary, indent=2, allow_nan=False, default=str), encoding="utf-8"
    )
    return summary


def write_pdf(html: str, path: Path) -> None:
    """Render the HTML report to PDF with WeasyPrint (imported on demand)."""
    from weasyprint import HTML  # heavy import: only when a PDF is asked for

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    HTML(string=html).write_pdf(str(path))
