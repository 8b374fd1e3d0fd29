"""Validated inputs of every workflow action (pydantic, shared by forms and the JSON API).

`parse` turns a pydantic ValidationError into `FormInvalid` with one plain-English
message per field, which the pages show in the NHS.UK error summary and the API returns
as a 400 with the same messages.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from carepilot.programmes.model import (
    Decision,
    FormInvalid,
    Inequality,
    MilestoneStatus,
    OrgType,
    RiskStatus,
    Section,
    TargetKind,
)
from carepilot.programmes.rules import SCORE_MAX, SCORE_MIN

_CODE = re.compile(r"^[A-Z0-9]{3,10}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{1,59}$")

Text = Annotated[str, Field(min_length=1, max_length=20000)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]


class _Input(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")


def _code(value: str) -> str:
    value = value.strip().upper()
    if not _CODE.match(value):
        raise ValueError(
            "must be an organisation code of 3 to 10 letters or digits, like Q30 or 5QJ"
        )
    return value


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class CriterionInput(_Input):
    title: ShortText
    weight: float = Field(gt=0, le=100)


class ProgrammeCreate(_Input):
    title: ShortText
    summary: Text
    opens_at: datetime
    closes_at: datetime
    selection_at: datetime
    frontrunners_at: datetime
    eligibility_text: list[ShortText] = Field(default_factory=list)
    criteria: list[CriterionInput] = Field(min_length=1)
    required_sections: list[Section] = Field(default_factory=list)

    @field_validator("opens_at", "closes_at", "selection_at", "frontrunners_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _aware(value)

    @model_validator(mode="after")
    def _ordered(self) -> ProgrammeCreate:
        if not self.opens_at < self.closes_at:
            raise ValueError(
                "closes_at: The closing date must be after the opening date"
            )
        if not self.closes_at <= self.selection_at:
            raise ValueError("selection_at: Selection must start after bids close")
        if not self.selection_at <= self.frontrunners_at:
            raise ValueError(
                "frontrunners_at: Frontrunners are announced on or after the selection date"
            )
        return self


class BidCreate(_Input):
    title: ShortText
    sha_code: str

    @field_validator("sha_code")
    @classmethod
    def _sha(cls, value: str) -> str:
        return _code(value)


class BidUpdate(_Input):
    title: ShortText
    sha_code: str
    pct_codes: list[str] = Field(default_factory=list, max_length=20)
    practice_codes: list[str] = Field(default_factory=list, max_length=500)
    population: int | None = Field(default=None, ge=0, le=100_000_000)
    sections: dict[Section, Annotated[str, Field(max_length=20000)]] = Field(
        default_factory=dict
    )
    evaluation_agreed: bool = False

    @field_validator("sha_code")
    @classmethod
    def _sha(cls, value: str) -> str:
        return _code(value)

    @field_validator("pct_codes", "practice_codes")
    @classmethod
    def _codes(cls, values: list[str]) -> list[str]:
        return sorted({_code(v) for v in values if v.strip()})


class PartnerInput(_Input):
    org_code: str
    name: ShortText
    org_type: OrgType
    is_lead: bool = False

    @field_validator("org_code")
    @classmethod
    def _org(cls, value: str) -> str:
        return _code(value)


def _slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError("must be an indicator id from the library, like diab-003")
    return value


class InequalityInput(_Input):
    inequality: Inequality
    indicator_id: str
    commitment: Text
    trajectory: list[float] = Field(min_length=3, max_length=3)
    """Target values at the end of years 1, 2 and 3."""

    @field_validator("indicator_id")
    @classmethod
    def _ind(cls, value: str) -> str:
        return _slug(value)


class TargetInput(_Input):
    kind: TargetKind
    indicator_id: str
    description: Text
    target_value: float

    @field_validator("indicator_id")
    @classmethod
    def _ind(cls, value: str) -> str:
        return _slug(value)


class SupportInput(_Input):
    statement: Text


class OverrideInput(_Input):
    eligible: bool
    reason: Annotated[str, Field(min_length=10, max_length=5000)]


class ConflictInput(_Input):
    org_code: str
    reason: Text

    @field_validator("org_code")
    @classmethod
    def _org(cls, value: str) -> str:
        return _code(value)


class AllocationInput(_Input):
    assessor_id: int


class CriterionScore(_Input):
    criterion_id: int
    score: int = Field(ge=SCORE_MIN, le=SCORE_MAX)
    comment: Text


class ScoreInput(_Input):
    scores: list[CriterionScore] = Field(min_length=1)


class DecisionInput(_Input):
    decision: Decision
    rationale: Text


class RiskInput(_Input):
    title: ShortText
    description: Text
    likelihood: int = Field(ge=1, le=5)
    impact: int = Field(ge=1, le=5)
    owner: ShortText
    mitigations: Text


class RiskStatusInput(_Input):
    status: RiskStatus
    note: Text


class LearningInput(_Input):
    title: ShortText
    body: Text


class MilestoneInput(_Input):
    title: ShortText
    due: date
    status: MilestoneStatus = MilestoneStatus.PLANNED


class MilestoneUpdateInput(_Input):
    """A milestone's progress: new status and, when it slips, a new due date."""

    status: MilestoneStatus
    due: date


def _message(err: Any) -> tuple[str, str]:
    loc = [str(p) for p in err.get("loc", ()) if not str(p).isdigit()]
    field = loc[0] if loc else "form"
    msg = str(err.get("msg", "is invalid"))
    if err.get("type") == "value_error" and ": " in msg:
        # model validators name their field as "field: message"
        text = msg.split("Value error, ", 1)[-1]
        if ": " in text:
            field, text = text.split(": ", 1)
            return field, text
        return field, text
    label = field.replace("_", " ")
    kind = err.get("type", "")
    if kind in ("missing", "string_too_short") or err.get("input") in (None, ""):
        return field, f"Enter {label}"
    if kind == "too_short":
        return (
            field,
            f"Enter at least {err.get('ctx', {}).get('min_length', 1)} {label}",
        )
    msg = msg.removeprefix("Value error, ")
    return field, f"{label.capitalize()}: {msg}"


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any) -> M:
    """Validate `data` into `model`, raising FormInvalid with field messages."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for err in exc.errors():
            field, text = _message(err)
            errors.setdefault(field, text)
        raise FormInvalid(errors) from None
