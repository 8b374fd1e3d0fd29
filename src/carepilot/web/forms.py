"""Form definitions (fields rendered by templates/macros.jinja) and form → input parsing.

Validation itself lives in `programmes.inputs`, shared with the JSON API.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from carepilot.programmes.model import (
    ORG_TYPE_LABELS,
    SECTION_LABELS,
    Decision,
    Inequality,
    MilestoneStatus,
    RiskStatus,
    TargetKind,
)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    label: str
    kind: str = "text"
    hint: str = ""
    value: Any = ""
    options: Sequence[tuple[str, str]] = field(default_factory=tuple)
    rows: int = 5
    classes: str = ""


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def codes(text: str) -> list[str]:
    return [c.strip() for c in text.replace(",", " ").split() if c.strip()]


def value_of(form: FormData | None, name: str, default: Any = "") -> Any:
    if form is None:
        return default
    return form.get(name, default)


def programme_fields(form: FormData | None = None) -> list[FieldSpec]:
    g = lambda n, d="": value_of(form, n, d)  # noqa: E731
    return [
        FieldSpec("title", "Programme title", value=g("title")),
        FieldSpec("summary", "Summary", "textarea", value=g("summary")),
        FieldSpec(
            "opens_at",
            "Bids open",
            "datetime-local",
            "Date and time (UTC)",
            g("opens_at"),
        ),
        FieldSpec(
            "closes_at",
            "Bids close (deadline)",
            "datetime-local",
            "Date and time (UTC)",
            g("closes_at"),
        ),
        FieldSpec(
            "selection_at", "Selection starts", "datetime-local", "", g("selection_at")
        ),
        FieldSpec(
            "frontrunners_at",
            "Frontrunners announced",
            "datetime-local",
            "",
            g("frontrunners_at"),
        ),
        FieldSpec(
            "eligibility_text",
            "Eligibility criteria",
            "textarea",
            "One criterion per line",
            g("eligibility_text"),
        ),
        FieldSpec(
            "criteria",
            "Assessment criteria",
            "textarea",
            "One per line as: title | weight, for example: Innovation | 20",
            g("criteria"),
        ),
        FieldSpec(
            "required_sections",
            "Required bid sections",
            "checkboxes",
            value=form.getlist("required_sections") if form else [],
            options=[(s.value, label) for s, label in SECTION_LABELS.items()],
        ),
    ]


def programme_data(form: FormData) -> dict[str, Any]:
    criteria: list[dict[str, Any]] = []
    for line in lines(str(form.get("criteria", ""))):
        title, _, weight = line.rpartition("|")
        criteria.append(
            {"title": title.strip() or line, "weight": weight.strip() or "x"}
        )
    return {
        "title": form.get("title", ""),
        "summary": form.get("summary", ""),
        "opens_at": form.get("opens_at") or None,
        "closes_at": form.get("closes_at") or None,
        "selection_at": form.get("selection_at") or None,
        "frontrunners_at": form.get("frontrunners_at") or None,
        "eligibility_text": lines(str(form.get("eligibility_text", ""))),
        "criteria": criteria,
        "required_sections": form.getlist("required_sections"),
    }


def bid_create_fields(form: FormData | None = None) -> list[FieldSpec]:
    return [
        FieldSpec("title", "Bid title", value=value_of(form, "title")),
        FieldSpec(
            "sha_code",
            "Strategic health authority (SHA) code",
            hint="For example Q30",
            value=value_of(form, "sha_code"),
            classes="nhsuk-input--width-10",
        ),
    ]


def bid_update_data(form: FormData) -> dict[str, Any]:
    population = str(form.get("population", "")).strip().replace(",", "")
    return {
        "title": form.get("title", ""),
        "sha_code": form.get("sha_code", ""),
        "pct_codes": codes(str(form.get("pct_codes", ""))),
        "practice_codes": codes(str(form.get("practice_codes", ""))),
        "population": population or None,
        "sections": {s: str(form.get(f"section_{s}", "")) for s in SECTION_LABELS},
        "evaluation_agreed": form.get("evaluation_agreed") == "yes",
    }


def partner_fields(form: FormData | None = None) -> list[FieldSpec]:
    return [
        FieldSpec(
            "org_code",
            "Organisation code (ODS)",
            value=value_of(form, "org_code"),
            classes="nhsuk-input--width-10",
        ),
        FieldSpec("name", "Organisation name", value=value_of(form, "name")),
        FieldSpec(
            "org_type",
            "Organisation type",
            "select",
            value=value_of(form, "org_type"),
            options=[("", "Choose a type")]
            + [(o.value, t) for o, t in ORG_TYPE_LABELS.items()],
        ),
        FieldSpec(
            "is_lead",
            "Is this the lead organisation?",
            "radios",
            value=value_of(form, "is_lead", "no"),
            options=[("yes", "Yes"), ("no", "No")],
        ),
    ]


def partner_data(form: FormData) -> dict[str, Any]:
    return {
        "org_code": form.get("org_code", ""),
        "name": form.get("name", ""),
        "org_type": form.get("org_type", ""),
        "is_lead": form.get("is_lead") == "yes",
    }


def inequality_fields(form: FormData | None = None) -> list[FieldSpec]:
    return [
        FieldSpec(
            "inequality",
            "Specific inequality",
            "select",
            value=value_of(form, "inequality"),
            options=[("", "Choose one")]
            + [(i.value, i.value.capitalize()) for i in Inequality],
        ),
        FieldSpec(
            "indicator_id",
            "Indicator id from the library",
            hint="For example diab-003",
            value=value_of(form, "indicator_id"),
            classes="nhsuk-input--width-20",
        ),
        FieldSpec(
            "commitment",
            "Commitment",
            "textarea",
            value=value_of(form, "commitment"),
            rows=3,
        ),
        FieldSpec(
            "trajectory",
            "Target trajectory (gap at end of years 1, 2 and 3)",
            hint="Three numbers separated by commas, for example 8, 6, 4",
            value=value_of(form, "trajectory"),
            classes="nhsuk-input--width-20",
        ),
    ]


def inequality_data(form: FormData) -> dict[str, Any]:
    return {
        "inequality": form.get("inequality", ""),
        "indicator_id": form.get("indicator_id", ""),
        "commitment": form.get("commitment", ""),
        "trajectory": codes(str(form.get("trajectory", ""))),
    }


def target_fields(form: FormData | None = None) -> list[FieldSpec]:
    return [
        FieldSpec(
            "kind",
            "Kind of outcome",
            "select",
            value=value_of(form, "kind"),
            options=[("", "Choose one")]
            + [(k.value, k.value.replace("_", "-").capitalize()) for k in TargetKind],
        ),
        FieldSpec(
            "target_indicator_id",
            "Indicator id from the library",
            value=value_of(form, "target_indicator_id"),
            classes="nhsuk-input--width-20",
        ),
        FieldSpec(
            "description",
            "Step change you will achieve",
            "textarea",
            value=value_of(form, "description"),
            rows=3,
        ),
        FieldSpec(
            "target_value",
            "Target value at year 3",
            value=value_of(form, "target_value"),
            classes="nhsuk-input--width-10",
        ),
    ]


def target_data(form: FormData) -> dict[str, Any]:
    return {
        "kind": form.get("kind", ""),
        "indicator_id": form.get("target_indicator_id", ""),
        "description": form.get("description", ""),
        "target_value": form.get("target_value") or None,
    }


def support_fields(form: FormData | None = None) -> list[FieldSpec]:
    return [
        FieldSpec(
            "statement",
            "Statement of support from your PCT",
            "textarea",
            value=value_of(form, "statement"),
            rows=3,
        )
    ]


def override_fields(form: FormData | None = None) -> list[FieldSpec]:
    return [
        FieldSpec(
            "eligible",
            "Override the result: is the bid eligible?",
            "radios",
            value=value_of(form, "eligible"),
            options=[("yes", "Eligible"), ("no", "Not eligible")],
        ),
        FieldSpec(
            "reason",
            "Reason for the override",
            "textarea",
            value=value_of(form, "reason"),
            rows=3,
        ),
    ]


def conflict_fields(form: FormData | None = None) -> list[FieldSpec]:
    return [
        FieldSpec(
            "org_code",
            "Organisation code",
            value=value_of(form, "org_code"),
            classes="nhsuk-input--width-10",
        ),
        FieldSpec(
            "reason",
            "How you are linked to it",
            "textarea",
            value=value_of(form, "reason"),
            rows=3,
        ),
    ]


def decision_fields(form: FormData | None = None) -> list[FieldSpec]:
    return [
        FieldSpec(
            "decision",
            "Panel decision",
            "radios",
            value=value_of(form, "decision"),
            options=[
                (d.value, d.value.replace("_", " ").capitalize()) for d in Decision
            ],
        ),
        FieldSpec(
            "rationale",
            "Panel feedback for the bidder",
            "textarea",
            value=value_of(form, "rationale"),
            rows=4,
        ),
    ]


def risk_fields(form: FormData | None = None) -> list[FieldSpec]:
    scale = [("", "Choose")] + [(str(i), str(i)) for i in range(1, 6)]
    return [
        FieldSpec("title", "Risk", value=value_of(form, "title")),
        FieldSpec(
            "description",
            "Description",
            "textarea",
            value=value_of(form, "description"),
            rows=3,
        ),
        FieldSpec(
            "likelihood",
            "Likelihood (1 rare to 5 almost certain)",
            "select",
            value=value_of(form, "likelihood"),
            options=scale,
        ),
        FieldSpec(
            "impact",
            "Impact (1 negligible to 5 catastrophic)",
            "select",
            value=value_of(form, "impact"),
            options=scale,
        ),
        FieldSpec("owner", "Risk owner", value=value_of(form, "owner")),
        FieldSpec(
            "mitigations",
            "Mitigations",
            "textarea",
            value=value_of(form, "mitigations"),
            rows=3,
        ),
    ]


def risk_status_fields(form: FormData | None = None) -> list[FieldSpec]:
    return [
        FieldSpec(
            "status",
            "New status",
            "select",
            value=value_of(form, "status"),
            options=[(s.value, s.value.capitalize()) for s in RiskStatus],
        ),
        FieldSpec("note", "Note", value=value_of(form, "note")),
    ]


def learning_fields(form: FormData | None = None) -> list[FieldSpec]:
    return [
        FieldSpec(
            "learning_title", "What was learned", value=value_of(form, "learning_title")
        ),
        FieldSpec("body", "Details", "textarea", value=value_of(form, "body"), rows=3),
    ]


def milestone_fields(form: FormData | None = None) -> list[FieldSpec]:
    return [
        FieldSpec(
            "milestone_title", "Milestone", value=value_of(form, "milestone_title")
        ),
        FieldSpec("due", "Due date", "date", value=value_of(form, "due")),
        FieldSpec(
            "milestone_status",
            "Status",
            "select",
            value=value_of(form, "milestone_status"),
            options=[
                (s.value, s.value.replace("_", " ").capitalize())
                for s in MilestoneStatus
            ],
        ),
    ]


def milestone_update_fields(form: FormData | None = None) -> list[FieldSpec]:
    return [f for f in milestone_fields(form) if f.name != "milestone_title"]


def form_dict(form: FormData, names: Sequence[str]) -> dict[str, Any]:
    return {n: form.get(n, "") for n in names}
