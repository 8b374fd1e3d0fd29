"""ORM tables of the programme workflow. Only repo.py and service.py use them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carepilot.db.base import Base


class ProgrammeRow(Base):
    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    selection_at: Mapped[datetime]
    frontrunners_at: Mapped[datetime]
    eligibility_text: Mapped[list[str]] = mapped_column(JSON)
    required_sections: Mapped[list[str]] = mapped_column(JSON)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None]

    criteria: Mapped[list[CriterionRow]] = relationship(
        order_by="CriterionRow.position", cascade="all, delete-orphan"
    )


class CriterionRow(Base):
    """A weighted assessment criterion of a programme."""

    __tablename__ = "assessment_criteria"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(
        ForeignKey("programmes.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    weight: Mapped[float]


class BidRow(Base):
    __tablename__ = "bids"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    sha_code: Mapped[str] = mapped_column(String(20))
    pct_codes: Mapped[list[str]] = mapped_column(JSON)
    practice_codes: Mapped[list[str]] = mapped_column(JSON)
    population: Mapped[int | None]
    sections: Mapped[dict[str, str]] = mapped_column(JSON)
    evaluation_agreed: Mapped[bool] = mapped_column(default=False)
    version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]

    partners: Mapped[list[PartnerRow]] = relationship(
        order_by="PartnerRow.id", cascade="all, delete-orphan"
    )
    inequalities: Mapped[list[InequalityRow]] = relationship(
        order_by="InequalityRow.id", cascade="all, delete-orphan"
    )
    targets: Mapped[list[TargetRow]] = relationship(
        order_by="TargetRow.id", cascade="all, delete-orphan"
    )


class PartnerRow(Base):
    __tablename__ = "bid_partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(
        ForeignKey("bids.id", ondelete="CASCADE"), index=True
    )
    org_code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    org_type: Mapped[str] = mapped_column(String(40))
    is_lead: Mapped[bool]


class InequalityRow(Base):
    """A specific inequality commitment tied to a library indicator."""

    __tablename__ = "bid_inequalities"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(
        ForeignKey("bids.id", ondelete="CASCADE"), index=True
    )
    inequality: Mapped[str] = mapped_column(String(20))
    indicator_id: Mapped[str] = mapped_column(String(60))
    commitment: Mapped[str] = mapped_column(Text)
    baseline_value: Mapped[float | None]
    baseline_period_end: Mapped[str | None] = mapped_column(String(10))
    baseline_note: Mapped[str] = mapped_column(Text, default="")
    trajectory: Mapped[list[float]] = mapped_column(JSON)
    """Target value at the end of years 1, 2 and 3."""


class TargetRow(Base):
    """A 'step change' outcome target (clinical, care or patient-reported)."""

    __tablename__ = "bid_targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(
        ForeignKey("bids.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    indicator_id: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(Text)
    baseline_value: Mapped[float | None]
    target_value: Mapped[float]


class AttachmentRow(Base):
    __tablename__ = "bid_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(
        ForeignKey("bids.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime]


class BidVersionRow(Base):
    """An immutable snapshot of a bid as submitted (triggers refuse UPDATE/DELETE)."""

    __tablename__ = "bid_versions"
    __table_args__ = (UniqueConstraint("bid_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"), index=True)
    version: Mapped[int]
    snapshot: Mapped[dict[str, object]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class PctSupportRow(Base):
    __tablename__ = "pct_support"
    __table_args__ = (UniqueConstraint("bid_id", "pct_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(
        ForeignKey("bids.id", ondelete="CASCADE"), index=True
    )
    pct_code: Mapped[str] = mapped_column(String(20))
    confirmed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime]
    statement: Mapped[str] = mapped_column(Text)


class EligibilityRow(Base):
    __tablename__ = "eligibility_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"), index=True)
    run_at: Mapped[datetime]
    run_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    results: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    passed: Mapped[bool]
    override: Mapped[bool | None]
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ConflictRow(Base):
    """An organisation an assessor is linked to (declared conflict of interest)."""

    __tablename__ = "assessor_conflicts"
    __table_args__ = (UniqueConstraint("assessor_id", "org_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    org_code: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    declared_at: Mapped[datetime]


class AllocationRow(Base):
    __tablename__ = "allocations"
    __table_args__ = (UniqueConstraint("bid_id", "assessor_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"), index=True)
    assessor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    allocated_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    allocated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


class ScoreRow(Base):
    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("allocation_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    allocation_id: Mapped[int] = mapped_column(
        ForeignKey("allocations.id", ondelete="CASCADE"), index=True
    )
    criterion_id: Mapped[int] = mapped_column(ForeignKey("assessment_criteria.id"))
    score: Mapped[int]
    comment: Mapped[str] = mapped_column(Text)


class DecisionRow(Base):
    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"), unique=True)
    decision: Mapped[str] = mapped_column(String(20))
    rationale: Mapped[str] = mapped_column(Text)
    weighted_score: Mapped[float | None]
    letter: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime]


class RiskRow(Base):
    __tablename__ = "risks"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    likelihood: Mapped[int]
    impact: Mapped[int]
    owner: Mapped[str] = mapped_column(String(200))
    mitigations: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]

    history: Mapped[list[RiskStatusRow]] = relationship(
        order_by="RiskStatusRow.id", cascade="all, delete-orphan"
    )


class RiskStatusRow(Base):
    __tablename__ = "risk_status_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    risk_id: Mapped[int] = mapped_column(
        ForeignKey("risks.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text)
    changed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime]


class LearningRow(Base):
    __tablename__ = "learning_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class MilestoneRow(Base):
    __tablename__ = "milestones"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    due: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
