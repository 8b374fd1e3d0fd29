"""Queries of the programme workflow and row → view conversion (the only `select()`s)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from carepilot.accounts.tables import UserRow
from carepilot.programmes import views as v
from carepilot.programmes.model import SELECTED_DECISIONS, BidStatus, Decision, NotFound
from carepilot.programmes.permissions import BidAccess
from carepilot.programmes.rules import risk_band, risk_rating
from carepilot.programmes.tables import (
    AllocationRow,
    AttachmentRow,
    BidRow,
    ConflictRow,
    DecisionRow,
    EligibilityRow,
    LearningRow,
    MilestoneRow,
    PctSupportRow,
    ProgrammeRow,
    RiskRow,
    ScoreRow,
)


def programme_row(session: Session, programme_id: int) -> ProgrammeRow:
    row = session.get(ProgrammeRow, programme_id)
    if row is None:
        raise NotFound(f"programme {programme_id} does not exist")
    return row


def bid_row(session: Session, bid_id: int) -> BidRow:
    row = session.get(BidRow, bid_id)
    if row is None:
        raise NotFound(f"bid {bid_id} does not exist")
    return row


def programme_view(row: ProgrammeRow) -> v.ProgrammeView:
    return v.ProgrammeView(
        id=row.id,
        title=row.title,
        summary=row.summary,
        status=row.status,
        opens_at=row.opens_at,
        closes_at=row.closes_at,
        selection_at=row.selection_at,
        frontrunners_at=row.frontrunners_at,
        eligibility_text=list(row.eligibility_text),
        required_sections=list(row.required_sections),
        criteria=[v.CriterionView(c.id, c.title, c.weight) for c in row.criteria],
        published_at=row.published_at,
    )


def programmes(session: Session, published_only: bool) -> list[ProgrammeRow]:
    q = select(ProgrammeRow).order_by(ProgrammeRow.opens_at.desc(), ProgrammeRow.id)
    if published_only:
        q = q.where(ProgrammeRow.status == "published")
    return list(session.scalars(q))


def allocations(session: Session, bid_id: int) -> list[AllocationRow]:
    q = (
        select(AllocationRow)
        .where(AllocationRow.bid_id == bid_id)
        .order_by(AllocationRow.id)
    )
    return list(session.scalars(q))


def allocations_for_assessor(session: Session, assessor_id: int) -> list[AllocationRow]:
    q = select(AllocationRow).where(AllocationRow.assessor_id == assessor_id)
    return list(session.scalars(q.order_by(AllocationRow.id)))


def allocation(session: Session, bid_id: int, assessor_id: int) -> AllocationRow | None:
    return session.scalar(
        select(AllocationRow).where(
            AllocationRow.bid_id == bid_id, AllocationRow.assessor_id == assessor_id
        )
    )


def scores(session: Session, allocation_id: int) -> list[ScoreRow]:
    q = select(ScoreRow).where(ScoreRow.allocation_id == allocation_id)
    return list(session.scalars(q.order_by(ScoreRow.criterion_id)))


def latest_eligibility(session: Session, bid_id: int) -> EligibilityRow | None:
    return session.scalar(
        select(EligibilityRow)
        .where(EligibilityRow.bid_id == bid_id)
        .order_by(EligibilityRow.id.desc())
        .limit(1)
    )


def decision(session: Session, bid_id: int) -> DecisionRow | None:
    return session.scalar(select(DecisionRow).where(DecisionRow.bid_id == bid_id))


def support(session: Session, bid_id: int) -> list[PctSupportRow]:
    q = select(PctSupportRow).where(PctSupportRow.bid_id == bid_id)
    return list(session.scalars(q.order_by(PctSupportRow.id)))


def attachments(session: Session, bid_id: int) -> list[AttachmentRow]:
    q = select(AttachmentRow).where(AttachmentRow.bid_id == bid_id)
    return list(session.scalars(q.order_by(AttachmentRow.id)))


def conflicts(session: Session, assessor_id: int) -> list[ConflictRow]:
    q = select(ConflictRow).where(ConflictRow.assessor_id == assessor_id)
    return list(session.scalars(q.order_by(ConflictRow.id)))


def bids(
    session: Session, programme_id: int | None = None, owner_id: int | None = None
) -> list[BidRow]:
    q = select(BidRow).order_by(BidRow.id)
    if programme_id is not None:
        q = q.where(BidRow.programme_id == programme_id)
    if owner_id is not None:
        q = q.where(BidRow.owner_id == owner_id)
    return list(session.scalars(q))


def user_names(session: Session, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    q = select(UserRow.id, UserRow.name).where(UserRow.id.in_(list(ids)))
    return {int(row[0]): str(row[1]) for row in session.execute(q)}


def access(session: Session, row: BidRow) -> BidAccess:
    dec = decision(session, row.id)
    return BidAccess(
        owner_id=row.owner_id,
        status=BidStatus(row.status),
        pct_codes=tuple(row.pct_codes),
        sha_code=row.sha_code,
        assessor_ids=tuple(a.assessor_id for a in allocations(session, row.id)),
        is_pilot=dec is not None and Decision(dec.decision) in SELECTED_DECISIONS,
    )


def eligibility_view(row: EligibilityRow | None) -> v.EligibilityView | None:
    if row is None:
        return None
    return v.EligibilityView(
        run_at=row.run_at,
        results=[v.RuleResultView(**r) for r in row.results],  # type: ignore[arg-type]
        passed=row.passed,
        override=row.override,
        override_reason=row.override_reason,
    )


def bid_view(session: Session, row: BidRow) -> v.BidView:
    dec = decision(session, row.id)
    return v.BidView(
        id=row.id,
        programme_id=row.programme_id,
        owner_id=row.owner_id,
        title=row.title,
        status=row.status,
        sha_code=row.sha_code,
        pct_codes=list(row.pct_codes),
        practice_codes=list(row.practice_codes),
        population=row.population,
        sections=dict(row.sections),
        evaluation_agreed=row.evaluation_agreed,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        submitted_at=row.submitted_at,
        partners=[
            v.PartnerView(p.id, p.org_code, p.name, p.org_type, p.is_lead)
            for p in row.partners
        ],
        inequalities=[
            v.InequalityView(
                i.id,
                i.inequality,
                i.indicator_id,
                i.commitment,
                i.baseline_value,
                i.baseline_period_end,
                i.baseline_note,
                list(i.trajectory),
            )
            for i in row.inequalities
        ],
        targets=[
            v.TargetView(
                t.id,
                t.kind,
                t.indicator_id,
                t.description,
                t.baseline_value,
                t.target_value,
            )
            for t in row.targets
        ],
        attachments=[
            v.AttachmentView(
                a.id, a.filename, a.content_type, a.size_bytes, a.sha256, a.uploaded_at
            )
            for a in attachments(session, row.id)
        ],
        support=[
            v.SupportView(s.pct_code, s.confirmed_by, s.confirmed_at, s.statement)
            for s in support(session, row.id)
        ],
        eligibility=eligibility_view(latest_eligibility(session, row.id)),
        decision=None
        if dec is None
        else v.DecisionView(
            dec.decision, dec.rationale, dec.weighted_score, dec.letter, dec.decided_at
        ),
        assessor_ids=[a.assessor_id for a in allocations(session, row.id)],
    )


def allocation_view(
    session: Session, row: AllocationRow, names: dict[int, str]
) -> v.AllocationView:
    return v.AllocationView(
        id=row.id,
        bid_id=row.bid_id,
        assessor_id=row.assessor_id,
        assessor_name=names.get(row.assessor_id, str(row.assessor_id)),
        allocated_at=row.allocated_at,
        completed_at=row.completed_at,
        scores=[
            v.ScoreView(s.criterion_id, s.score, s.comment)
            for s in scores(session, row.id)
        ],
    )


def risks(session: Session, bid_id: int) -> list[RiskRow]:
    q = select(RiskRow).where(RiskRow.bid_id == bid_id).order_by(RiskRow.id)
    return list(session.scalars(q))


def risk_view(row: RiskRow) -> v.RiskView:
    rating = risk_rating(row.likelihood, row.impact)
    return v.RiskView(
        id=row.id,
        title=row.title,
        description=row.description,
        likelihood=row.likelihood,
        impact=row.impact,
        rating=rating,
        band=risk_band(rating),
        owner=row.owner,
        mitigations=row.mitigations,
        status=row.status,
        history=[v.RiskStatusView(h.status, h.note, h.changed_at) for h in row.history],
    )


def learning(session: Session, bid_id: int) -> list[LearningRow]:
    q = (
        select(LearningRow)
        .where(LearningRow.bid_id == bid_id)
        .order_by(LearningRow.id.desc())
    )
    return list(session.scalars(q))


def milestones(session: Session, bid_id: int) -> list[MilestoneRow]:
    q = select(MilestoneRow).where(MilestoneRow.bid_id == bid_id)
    return list(session.scalars(q.order_by(MilestoneRow.due, MilestoneRow.id)))
