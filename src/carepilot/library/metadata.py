"""Render indicator definitions as Markdown metadata pages a clinician can read.

One page per indicator (title, definition, rationale, numerator, denominator,
exceptions, codelists with their terms, polarity, data source, caveats) plus an
index, written to `docs/library/`. Expressions are shown twice: in plain English
(rendered from the parsed expression tree, so the page cannot drift from what the
engine runs) and verbatim as written in the YAML file.

`render_page` and `render_index` are pure (text in, text out); `build_pages`
reads the YAML and codelist files; ``python -m carepilot.library.metadata`` (or
`write_pages`) regenerates `docs/library/`, and a test checks the committed
pages are up to date.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from carepilot.indicators.expected import MAX_AGE, ExpectedRates
from carepilot.indicators.expr import (
    Age,
    Agg,
    And,
    Arith,
    Coalesce,
    Compare,
    DateShift,
    DaysBetween,
    EventAgg,
    EventColumn,
    InList,
    IsNull,
    Literal,
    Node,
    Not,
    Or,
    PatientColumn,
    PeriodDate,
    Registered,
    RelativeWindow,
    Window,
    WindowKind,
    event_aggs,
)
from carepilot.indicators.model import IndicatorDefinition, Polarity, Unit, ValueType
from carepilot.indicators.periods import PeriodRuleKind

Terms = Mapping[str, Mapping[str, str]]
"""Codelist name -> {code: term}."""

VALUE_TYPE_TEXT: dict[ValueType, str] = {
    ValueType.PROPORTION: "Proportion (%), Wilson score 95 % and 99.8 % intervals; "
    "achievement = numerator / (denominator - exceptions)",
    ValueType.CRUDE_RATE: "Crude rate (events per population), Byar's / exact Poisson "
    "intervals",
    ValueType.DSR: "Directly age-standardised rate (European Standard Population "
    "2013, 19 age bands), Dobson intervals",
    ValueType.ISR: "Indirectly age-standardised ratio (observed / expected x 100; "
    "expected from national age-specific rates)",
    ValueType.MEAN: "Mean of a per-patient value, Student-t intervals",
    ValueType.COUNT: "Count, Byar's / exact Poisson intervals",
}

POLARITY_TEXT: dict[Polarity, str] = {
    Polarity.HIGHER_IS_BETTER: "Higher is better",
    Polarity.LOWER_IS_BETTER: "Lower is better",
    Polarity.NO_JUDGEMENT: "No judgement (higher/lower than the benchmark is "
    "reported, not better/worse)",
}

TABLE_SHORT: dict[str, str] = {
    "clinical_events": "the GP record",
    "medications": "GP prescribing",
    "apcs": "hospital admissions",
    "opa": "outpatient appointments",
    "ec": "A&E attendances",
    "community_contacts": "community contacts",
    "ons_deaths": "death registrations",
    "referrals": "RTT pathways",
    "social_care_packages": "social care packages",
    "proms": "PROMs episodes",
    "patient_experience": "survey answers",
    "record_access_requests": "record access requests",
}

TABLE_TEXT: dict[str, str] = {
    "clinical_events": "GP record: coded clinical events (SNOMED CT)",
    "medications": "GP record: medicines issued (dm+d)",
    "apcs": "Hospital admitted patient care spells (SUS/HES APC)",
    "opa": "Hospital outpatient appointments (SUS/HES OP)",
    "ec": "Emergency care attendances (ECDS)",
    "community_contacts": "Community services contacts (CSDS)",
    "ons_deaths": "ONS death registrations",
    "referrals": "Referral-to-treatment pathways (RTT waiting list)",
    "social_care_packages": "Adult social care packages (local authority)",
    "proms": "Patient-reported outcome measures (EQ-5D)",
    "patient_experience": "Patient experience survey answers (e.g. GP Patient Survey)",
    "record_access_requests": "Subject access requests log",
}

GENERAL_CAVEATS: tuple[str, ...] = (
    "The shipped codelists are short illustrative lists (the most used codes); "
    "replace them with the published QOF / OpenCodelists clusters before real "
    "analyses.",
    "Figures leave the engine only through disclosure control "
    "(`carepilot.disclosure.release`): small counts are redacted or suppressed "
    "and counts rounded.",
)

_FRAILTY_CAVEAT = (
    "Frailty is the latest electronic frailty index category coded at any time: "
    "moderate or severe frailty ends with a later mild-frailty code (same-day "
    "codes count as frail); 'fit' results carry no code. Check the current QOF "
    "business rules for any time limit on the frailty code."
)

CAVEATS: dict[str, tuple[str, ...]] = {
    "emergency-bed-days-rate": (
        "Spells are attributed to the period of their discharge date; stays not "
        "yet discharged are not counted until they end.",
    ),
    "diabetes-hba1c-58": (_FRAILTY_CAVEAT,),
    "diabetes-hba1c-75-frail": (_FRAILTY_CAVEAT,),
    "diabetes-bp-140-90": (
        "Clinic readings only; home/ambulatory readings (135/85) are not separated.",
    ),
    "af-anticoagulation": (
        "The CHA2DS2-VASc score is the latest one recorded (as a value on the "
        "score code); a patient whose latest score predates their first AF code "
        "is left out, as the score is assessed for AF. QOF AF008 prefers a DOAC "
        "and accepts a vitamin K antagonist only where a DOAC was declined or "
        "unsuitable; here any oral anticoagulant counts.",
    ),
    "emergency-readmissions-30-days": (
        "Spells are not linked into continuous inpatient stays: a transfer to "
        "another hospital recorded as a new emergency spell counts as a "
        "readmission.",
    ),
    "delayed-discharge-days": (
        "Uses the delayed-discharge days recorded on each spell; total emergency "
        "bed days (length of stay) are `emergency-bed-days-rate`.",
    ),
    "social-care-after-discharge": (
        "Packages count through the spell link social care records "
        "(`after_discharge_spell_id`); packages with no link are not counted. A "
        "package that starts after the period end is not counted yet, so the "
        "last weeks of a period fill in later.",
    ),
    "record-access-one-month": (
        "The request date is taken as the day of receipt. Extensions of up to two "
        "further months for complex or numerous requests (Art. 12(3)) are not "
        "recorded in the data model, so extended requests answered after one "
        "month count as late.",
    ),
    "cvd-mortality-under-75-dsr": (
        "Registered-population based (not ONS resident population); run with "
        "yearly periods for the annual rate. Age is taken at the period start.",
    ),
    "cancer-mortality-under-75-dsr": (
        "Registered-population based (not ONS resident population); run with "
        "yearly periods for the annual rate. Age is taken at the period start.",
    ),
    "deaths-usual-residence": (
        "Usual residence = home or care home; religious establishments are not "
        "coded in the data model.",
    ),
}
for _proc in ("hip", "knee", "ltc"):
    CAVEATS[f"proms-{_proc}-eq5d-improved"] = (
        "Reported as the share of patients (latest episode) who improved; the "
        f"average health gain per episode is `proms-{_proc}-eq5d-gain`.",
    )
    CAVEATS[f"proms-{_proc}-eq5d-gain"] = (
        "Unadjusted mean gain: the published NHS figures are case-mix adjusted "
        "(age, sex, pre-operative score and more), which is not modelled here.",
    )
for _id in (
    "prevalence-ratio-hypertension",
    "prevalence-ratio-diabetes",
    "prevalence-ratio-copd",
    "prevalence-ratio-dementia",
    "prevalence-ratio-af",
):
    CAVEATS[_id] = (
        "Expected counts use national age-specific RECORDED prevalence (age only), "
        "not modelled true prevalence (e.g. the PHE/APHO models with sex, "
        "ethnicity, smoking and deprivation): a ratio of 100 means average case "
        "finding, not complete case finding. `prevalence-expected-dementia` and "
        "`prevalence-expected-diabetes` compare with an external expected-rate "
        "table instead.",
    )
CAVEATS["prevalence-expected-dementia"] = (
    "The shipped expected rates are illustrative (of the order of the CFAS II "
    "age/sex rates, not the published values); NHS England's published rate also "
    "uses the CFAS II rates for care-home residents and reports 65+ only.",
)
CAVEATS["prevalence-expected-diabetes"] = (
    "The shipped expected rates are illustrative (age, sex and deprivation "
    "shape only, not the published model values); the PHE/OHID model also uses "
    "ethnicity, which a table by sex, age and quintile cannot carry.",
)


# -- English rendering of expressions -------------------------------------------------


def _window(window: Window | RelativeWindow, period_text: str) -> str:
    if isinstance(window, RelativeWindow):
        anchor = describe(window.anchor, period_text)
        return f"{window.describe(anchor)} (up to the period end)"
    if window.kind is WindowKind.EVER:
        return "at any time up to the period end"
    if window.kind is WindowKind.PERIOD:
        return f"in {period_text}"
    unit = "days" if window.kind is WindowKind.DAYS else "months"
    return f"in the last {window.length} {unit}"


_AGG_TEXT: dict[Agg, str] = {
    Agg.EXISTS: "has",
    Agg.COUNT: "the number of",
    Agg.LATEST_DATE: "the date of the latest",
    Agg.EARLIEST_DATE: "the date of the earliest",
    Agg.LATEST_VALUE: "the value of the latest",
    Agg.EARLIEST_VALUE: "the value of the earliest",
    Agg.MEAN_VALUE: "the mean value of",
    Agg.MIN_VALUE: "the lowest value of",
    Agg.MAX_VALUE: "the highest value of",
    Agg.SUM_VALUE: "the total",
}

_OPS = {"==": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}


def _event_text(node: EventAgg, period_text: str) -> str:
    src = node.source
    what = f"a `{src.codelist}` code" if src.codelist else "a record"
    where = TABLE_SHORT.get(src.table, src.table)
    filters = "".join(
        f", {col} {'in ' + str(list(vals)) if len(vals) > 1 else '= ' + repr(next(iter(vals), None))}"
        for col, vals in src.filters
    )
    dated = f" (dated by {src.date_column})" if src.date_column not in ("date",) else ""
    if src.where is not None:
        filters += f", where {describe(src.where, period_text)}"
    if src.link is not None:
        filters += f", linked to this event by {src.link.replace('_', ' ')}"
    when = _window(node.window, period_text)
    value = f" `{src.value_column}`" if src.value_column else ""
    if src.value_expr is not None:
        value = f" ({describe(src.value_expr, period_text)})"
    head = _AGG_TEXT[node.agg]
    if node.agg is Agg.EXISTS:
        return f"has {what} in {where}{filters}{dated} {when}"
    if node.agg is Agg.COUNT:
        return f"the number of {what.replace('a ', '', 1)}s in {where}{filters}{dated} {when}"
    return f"{head}{value} of {what} in {where}{filters}{dated} {when}"


def describe(node: Node, period_text: str = "the reporting period") -> str:  # noqa: C901
    """Plain-English text of an expression (for metadata pages)."""
    if isinstance(node, Literal):
        return repr(node.value) if isinstance(node.value, str) else str(node.value)
    if isinstance(node, PatientColumn):
        return node.column.replace("_", " ")
    if isinstance(node, EventColumn):
        return f"the event's {node.column.replace('_', ' ')}"
    if isinstance(node, Arith):
        return (
            f"({describe(node.left, period_text)} {node.op} "
            f"{describe(node.right, period_text)})"
        )
    if isinstance(node, DateShift):
        n, unit = (node.months, "calendar month") if node.months else (node.days, "day")
        sign = "+" if n >= 0 else "-"
        plural = "" if abs(n) == 1 else "s"
        return f"{describe(node.operand, period_text)} {sign} {abs(n)} {unit}{plural}"
    if isinstance(node, DaysBetween):
        return (
            f"the days from {describe(node.right, period_text)} to "
            f"{describe(node.left, period_text)}"
        )
    if isinstance(node, PeriodDate):
        return node.which.replace("_", " ")
    if isinstance(node, Age):
        return (
            "age at the period end"
            if node.at == "period_end"
            else ("age at the period start")
        )
    if isinstance(node, Registered):
        at = "the period end" if node.at == "period_end" else "the period start"
        if node.months:
            return (
                f"registered at {at} and continuously for at least {node.months} "
                "months before"
            )
        return f"registered with the practice at {at}"
    if isinstance(node, EventAgg):
        return _event_text(node, period_text)
    if isinstance(node, Compare):
        return (
            f"{describe(node.left, period_text)} {_OPS[node.op]} "
            f"{describe(node.right, period_text)}"
        )
    if isinstance(node, InList):
        neg = "not " if node.negate else ""
        return (
            f"{describe(node.operand, period_text)} is {neg}one of {list(node.values)}"
        )
    if isinstance(node, IsNull):
        neg = "recorded" if node.negate else "not recorded"
        return f"{describe(node.operand, period_text)} is {neg}"
    if isinstance(node, And):
        return " **and** ".join(_paren(i, period_text) for i in node.items)
    if isinstance(node, Or):
        return " **or** ".join(_paren(i, period_text) for i in node.items)
    if isinstance(node, Not):
        return f"**not** ({describe(node.item, period_text)})"
    if isinstance(node, Coalesce):
        items = ", else ".join(describe(i, period_text) for i in node.items)
        return f"the first available of: {items}"
    return type(node).__name__  # pragma: no cover - exhaustive above


def _paren(node: Node, period_text: str) -> str:
    text = describe(node, period_text)
    return f"({text})" if isinstance(node, (And, Or)) else text


def period_text(defn: IndicatorDefinition) -> str:
    """How the reporting window is chosen, in words."""
    rule = defn.period_rule
    if rule.kind is PeriodRuleKind.LAST_N_MONTHS:
        return f"the {rule.months} months up to the period end"
    if rule.kind is PeriodRuleKind.FINANCIAL_YEAR_TO_DATE:
        return "the financial year to date (from 1 April)"
    return "the reporting period"


def tables_used(defn: IndicatorDefinition) -> list[str]:
    """Data-model tables an indicator reads, patients and registrations first."""
    names = ["patients", "practice_registrations"]
    counted = [defn.events] if defn.events is not None else []
    for agg in [*counted, *event_aggs(defn.expressions())]:
        if agg.source.table not in names:
            names.append(agg.source.table)
    return names


# -- pages ---------------------------------------------------------------------------


def _target_text(defn: IndicatorDefinition) -> str:
    if defn.target is None:
        return "-"
    if defn.target_minimum is None:
        return f"{defn.target:g}"
    return f"{defn.target:g} (minimum standard {defn.target_minimum:g})"


def render_page(
    defn: IndicatorDefinition,
    terms: Terms,
    raw: Mapping[str, str] | None = None,
    area: str = "",
) -> str:
    """The Markdown metadata page of one indicator.

    Args:
        defn: the loaded definition.
        terms: the codelists' terms, by codelist name then code.
        raw: the expressions as written in the YAML (population, numerator,
            exclusions, exceptions), shown verbatim.
        area: library area (folder), shown in the summary table.
    """
    raw = raw or {}
    ptext = period_text(defn)
    lines: list[str] = [f"# {defn.title.strip()}", ""]
    summary = [
        ("Id", f"`{defn.id}` (version {defn.version})"),
        ("Area", area or defn.domain),
        ("Domain", defn.domain),
        ("Reference", defn.reference or "-"),
        ("Value", _value_text(defn)),
        ("Multiplier", f"{defn.multiplier:g}"),
        ("Polarity", POLARITY_TEXT[defn.polarity]),
        ("Reporting window", f"`{defn.period_rule}`: {ptext}"),
        ("Target", _target_text(defn)),
    ]
    lines += ["| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in summary]
    lines += ["", "## Definition", "", defn.description or "-", ""]
    lines += ["## Rationale", "", defn.rationale or "-", ""]
    sections: list[tuple[str, Node | None, str, str]] = [
        (
            "Denominator (population)",
            defn.population,
            "population",
            "Patients counted in the denominator, per practice and period.",
        ),
        ("Exclusions", defn.exclusions, "exclusions", "Removed from the population."),
        (
            "Numerator",
            defn.numerator,
            "numerator",
            _numerator_intro(defn),
        ),
        (
            "Exceptions (personalised care adjustments)",
            defn.exceptions,
            "exceptions",
            "Patients who did NOT meet the numerator and meet this condition are "
            "removed from the denominator and reported as exceptions "
            "(achievement = A / (B - C)); patients who met the numerator stay in.",
        ),
    ]
    if defn.unit is Unit.EVENT and defn.events is not None:
        sections[0] = (
            "Denominator (events)",
            defn.population,
            "population",
            "The denominator counts EVENTS, not patients: every "
            f"{_event_text(EventAgg(defn.events.source, defn.events.window, Agg.EXISTS), ptext).replace('has a ', '', 1)} of patients "
            "meeting this condition in the period; each event is attributed to the "
            "patient's practice and attributes in that period.",
        )
        sections[1] = (
            "Exclusions",
            defn.exclusions,
            "exclusions",
            "Events removed from the denominator.",
        )
    for title, node, key, intro in sections:
        if node is None:
            if key == "exceptions":
                lines += [f"## {title}", "", "None.", ""]
            continue
        lines += [f"## {title}", "", intro, "", describe(node, ptext), ""]
        if key in raw:
            lines += ["```text", raw[key].strip(), "```", ""]
    lines += ["## Codelists", ""]
    if not defn.codelists:
        lines += ["None: the indicator uses only structured fields.", ""]
    for name, codelist in defn.codelists.items():
        lines += [
            f"### `{name}` ({codelist.system.value}, {len(codelist.codes)} codes, "
            f"`{codelist.path}`)",
            "",
            "| Code | Term |",
            "|---|---|",
        ]
        known = terms.get(name, {})
        for c in codelist.codes:
            lines.append(f"| `{c}` | {known.get(c, '')} |")
        lines.append("")
    if defn.expected is not None:
        lines += _expected_section(defn.expected)
    lines += ["## Data source", ""]
    lines += [
        f"- `{t}`: {TABLE_TEXT.get(t, _CORE_TEXT.get(t, t))}" for t in tables_used(defn)
    ]
    lines += ["", "## Caveats", ""]
    lines += [f"- {c}" for c in (*CAVEATS.get(defn.id, ()), *GENERAL_CAVEATS)]
    lines.append("")
    return "\n".join(lines)


def _value_text(defn: IndicatorDefinition) -> str:
    if defn.expected is None:
        return VALUE_TYPE_TEXT[defn.value_type]
    return (
        "Recorded as a percentage of expected (observed / expected x 100; "
        "expected from the external table below), Byar's / exact Poisson "
        "intervals on the observed count"
    )


def _expected_section(expected: ExpectedRates) -> list[str]:
    """The expected-rate table, as the clinician reads it."""
    dims = ["age"]
    dims += ["sex"] if expected.by_sex else []
    dims += ["IMD quintile (1 = most deprived)"] if expected.by_quintile else []
    lines = [
        "## Expected rates",
        "",
        f"From `{expected.path}`, by {', '.join(dims)}. Each person in the "
        "population contributes the expected prevalence of their cell; the "
        "expected count is their sum. People without a cell (a sex or "
        "deprivation the table does not list) are left out of both counts. The "
        "shipped table is illustrative: see `library/expected/README.md` for the "
        "published sources.",
        "",
    ]
    head = ["Sex"] if expected.by_sex else []
    head += ["IMD quintile"] if expected.by_quintile else []
    head += ["Ages", "Expected %"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for band in expected.bands:
        ages = (
            f"{band.age_from}+"
            if band.age_to >= MAX_AGE
            else f"{band.age_from}-{band.age_to}"
        )
        cells = [band.sex or ""] if expected.by_sex else []
        cells += [str(band.quintile)] if expected.by_quintile else []
        cells += [ages, f"{band.rate * 100:g}"]
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


_CORE_TEXT = {
    "patients": "Patient demographics (age, sex, ethnicity, deprivation ...)",
    "practice_registrations": "GP practice registrations (who is registered when)",
}


def _numerator_intro(defn: IndicatorDefinition) -> str:
    vt = defn.value_type
    if defn.unit is Unit.EVENT:
        if vt is ValueType.MEAN:
            return "The per-event value averaged over the events (events without a value are left out)."
        return "Events in the denominator that meet this condition (the event's own columns are read per event)."
    if vt is ValueType.PROPORTION:
        return "Patients in the denominator who meet this condition."
    if vt is ValueType.MEAN:
        return "The per-patient value averaged over the denominator (patients without a value are left out)."
    return "Events (or patients meeting the condition) counted per patient in the denominator."


def render_index(entries: Sequence[tuple[str, IndicatorDefinition]]) -> str:
    """The index page: one table per library area."""
    from carepilot.library import AREA_TITLES

    lines = [
        "# Standard indicator library",
        "",
        f"{len(entries)} indicators. Generated by `python -m carepilot.library.metadata` "
        "from `src/carepilot/library/`; do not edit by hand.",
        "",
    ]
    areas: dict[str, list[IndicatorDefinition]] = {}
    for area, defn in entries:
        areas.setdefault(area, []).append(defn)
    for area, defs in areas.items():
        lines += [f"## {AREA_TITLES.get(area, area)}", ""]
        lines += [
            "| Indicator | Id | Value | Polarity | Reference |",
            "|---|---|---|---|---|",
        ]
        for d in defs:
            lines.append(
                f"| [{d.title.strip()}]({d.id}.md) | `{d.id}` | {d.value_type.value} | "
                f"{d.polarity.value} | {d.reference or '-'} |"
            )
        lines.append("")
    return "\n".join(lines)


def read_terms(defn: IndicatorDefinition, base: Path) -> dict[str, dict[str, str]]:
    """Terms of each codelist, read from the CSV files next to `base` or shipped."""
    from carepilot.engine.definitions import SHIPPED_CODELISTS

    out: dict[str, dict[str, str]] = {}
    for name, codelist in defn.codelists.items():
        for root in (base, SHIPPED_CODELISTS, SHIPPED_CODELISTS.parent):
            path = root / codelist.path
            if path.is_file():
                reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))
                out[name] = {
                    (row.get("code") or "").strip(): (row.get("term") or "").strip()
                    for row in reader
                }
                break
    return out


def build_pages() -> dict[str, str]:
    """Every library page and the index, by file name (`<id>.md`, `index.md`)."""
    from carepilot.library import area_of, load_library

    pages: dict[str, str] = {}
    entries: list[tuple[str, IndicatorDefinition]] = []
    for defn in load_library():
        source = Path(defn.source)
        doc = yaml.safe_load(source.read_text(encoding="utf-8"))
        raw = {
            k: str(doc[k])
            for k in ("population", "numerator", "exclusions", "exceptions")
            if k in doc
        }
        area = area_of(defn)
        pages[f"{defn.id}.md"] = render_page(
            defn, read_terms(defn, source.parent), raw, area
        )
        entries.append((area, defn))
    pages["index.md"] = render_index(entries)
    return pages


def write_pages(out_dir: Path) -> list[Path]:
    """Write every page to `out_dir` (removing stale `.md` pages)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pages = build_pages()
    for old in out_dir.glob("*.md"):
        if old.name not in pages:
            old.unlink()
    written = []
    for name, text in pages.items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover
    import sys

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/library")
    sys.stdout.write(f"wrote {len(write_pages(target))} pages to {target}\n")
