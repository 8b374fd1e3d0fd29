"""Read-only views of workflow records handed to routers, templates and the API.

Separate from the ORM rows so rows never reach a template or a JSON response.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class CriterionView:
    id: int
    title: str
    weight: float


@dataclass(frozen=True, slots=True)
class ProgrammeView:
    id: int
    title: str
    summary: str
    status: str
    opens_at: datetime
    closes_at: datetime
    selection_at: datetime
    frontrunners_at: datetime
    eligibility_text: list[str]
    required_sections: list[str]
    criteria: list[CriterionView]
    published_at: datetime | None


@dataclass(frozen=True, slots=True)
class PartnerView:
    id: int
    org_code: str
    name: str
    org_type: str
    is_lead: bool


@dataclass(frozen=True, slots=True)
class InequalityView:
    id: int
    inequality: str
    indicator_id: str
    commitment: str
    baseline_value: float | None
    baseline_period_end: str | None
    baseline_note: str
    trajectory: list[float]


@dataclass(frozen=True, slots=True)
class TargetView:
    id: int
    kind: str
    indicator_id: str
    description: str
    baseline_value: float | None
    target_value: float


@dataclass(frozen=True, slots=True)
class AttachmentView:
    id: int
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_at: datetime


@dataclass(frozen=True, slots=True)
class SupportView:
    pct_code: str
    confirmed_by: int
    confirmed_at: datetime
    statement: str


@dataclass(frozen=True, slots=True)
class RuleResultView:
    rule: str
    title: str
    passed: bool
    reason: str


@dataclass(frozen=True, slots=True)
class EligibilityView:
    run_at: datetime
    results: list[RuleResultView]
    passed: bool
    override: bool | None
    override_reason: str | None

    @property
    def eligible(self) -> bool:
        return self.passed if self.override is None else self.override


@dataclass(frozen=True, slots=True)
class DecisionView:
    decision: str
    rationale: str
    weighted_score: float | None
    letter: str
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class BidView:
    id: int
    programme_id: int
    owner_id: int
    title: str
    status: str
    sha_code: str
    pct_codes: list[str]
    practice_codes: list[str]
    population: int | None
    sections: dict[str, str]
    evaluation_agreed: bool
    version: int
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    partners: list[PartnerView] = field(default_factory=list)
    inequalities: list[InequalityView] = field(default_factory=list)
    targets: list[TargetView] = field(default_factory=list)
    attachments: list[AttachmentView] = field(default_factory=list)
    support: list[SupportView] = field(default_factory=list)
    eligibility: EligibilityView | None = None
    decision: DecisionView | None = None
    assessor_ids: list[int] = field(default_factory=list)

    @property
    def lead(self) -> PartnerView | None:
        return next((p for p in self.partners if p.is_lead), None)


@dataclass(frozen=True, slots=True)
class ScoreView:
    criterion_id: int
    score: int
    comment: str


@dataclass(frozen=True, slots=True)
class AllocationView:
    id: int
    bid_id: int
    assessor_id: int
    assessor_name: str
    allocated_at: datetime
    completed_at: datetime | None
    scores: list[ScoreView]


@dataclass(frozen=True, slots=True)
class ConflictView:
    id: int
    org_code: str
    reason: str
    declared_at: datetime


@dataclass(frozen=True, slots=True)
class RiskStatusView:
    status: str
    note: str
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class RiskView:
    id: int
    title: str
    description: str
    likelihood: int
    impact: int
    rating: int
    band: str
    owner: str
    mitigations: str
    status: str
    history: list[RiskStatusView]


@dataclass(frozen=True, slots=True)
class LearningView:
    id: int
    title: str
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MilestoneView:
    id: int
    title: str
    due: str
    status: str
