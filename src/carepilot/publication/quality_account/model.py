"""Quality account model: what the provider writes and what the engine computes.

Provider-written inputs (the chief executive's statement, priorities, statements
of assurance, annex statements) are validated with pydantic at the file boundary
(`inputs.py`); the assembled account (`QualityAccount`) is plain frozen
dataclasses handed to the renderer. The structure follows the NHS quality
accounts requirements: Part 1 statement on quality from the chief executive;
Part 2 priorities for improvement and statements of assurance from the board,
including the core indicators; Part 3 review of quality performance; annex of
statements from commissioners and local patient bodies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriorityInput(_Input):
    """One priority for improvement chosen by the provider."""

    title: str
    domain: str = Field(
        description="patient safety, clinical effectiveness or patient experience"
    )
    why: str = ""
    indicators: list[str] = Field(min_length=1)
    aim: str
    target: float | None = None


class AuditInput(_Input):
    """A national clinical audit or confidential enquiry."""

    name: str
    eligible: bool = True
    participated: bool = True
    cases_submitted_percent: float | None = None
    actions: str = ""


class AssuranceInput(_Input):
    """Statements of assurance from the board (provider-written facts)."""

    services_provided: int | None = None
    services_reviewed: int | None = None
    income_reviewed_percent: float | None = None
    audits: list[AuditInput] = Field(default_factory=list[AuditInput])
    research_participants: int | None = None
    research_statement: str = ""
    cquin_income: float | None = None
    cquin_statement: str = ""
    regulator: str = "Care Quality Commission"
    registration_status: str
    registration_conditions: str = "none"
    enforcement_actions: str = "none"
    regulator_findings: str = ""
    data_quality_statement: str = ""
    nhs_number_valid_percent: float | None = None
    information_governance_statement: str = ""
    clinical_coding_error_rate_percent: float | None = None


class AnnexStatementInput(_Input):
    """A statement from a commissioner, Healthwatch/LINk or scrutiny committee."""

    organisation: str
    kind: str = Field(
        description="commissioner, local patient body or overview "
        "and scrutiny committee"
    )
    text: str


class ProviderInputs(_Input):
    """Everything a provider edits for its quality account."""

    provider_name: str | None = None
    ceo_name: str
    ceo_statement: str
    priorities: list[PriorityInput] = Field(min_length=3)
    assurance: AssuranceInput
    annex: list[AnnexStatementInput] = Field(default_factory=list[AnnexStatementInput])
    core_indicators: list[str] | None = None


@dataclass(frozen=True, slots=True)
class Figure:
    """One indicator figure for the provider, with its period and comparison."""

    indicator_id: str
    title: str
    unit: str
    period: str
    value: float | None
    lower: float | None
    upper: float | None
    numerator: float | None
    denominator: float | None
    england: float | None
    comparison: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class PriorityResult:
    """A priority with last year's result and this year's aim."""

    title: str
    domain: str
    why: str
    aim: str
    target: float | None
    figures: tuple[tuple[Figure | None, Figure | None], ...]
    """(previous year, reporting year) per indicator."""


@dataclass(frozen=True, slots=True)
class CoreIndicator:
    """A core indicator: this year and last year against England."""

    current: Figure | None
    previous: Figure | None
    indicator_id: str
    title: str


@dataclass(frozen=True, slots=True)
class TrendSection:
    """Part 3: one indicator over time, with chart and table."""

    title: str
    svg: str
    table_html: str
    summary: str


@dataclass(frozen=True)
class QualityAccount:
    """A provider's assembled quality account, ready to render."""

    provider_code: str
    provider_name: str
    provider_type: str
    year_label: str
    next_year_label: str
    previous_year_label: str
    ceo_name: str
    ceo_statement_html: str
    priorities: tuple[PriorityResult, ...]
    assurance: AssuranceInput
    core: tuple[CoreIndicator, ...]
    missing_core: tuple[str, ...]
    trends: tuple[TrendSection, ...]
    annex: tuple[AnnexStatementInput, ...]
    disclosure_policy: str
    results_checksum: str
    notes: tuple[str, ...] = field(default_factory=tuple)
