"""Steering group registers for selected pilots: risks, learning log, milestones and
the indicator trajectory against targets."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from carepilot.accounts.model import Actor
from carepilot.audit import service as audit
from carepilot.db.base import utcnow
from carepilot.errors import PermissionDenied
from carepilot.programmes import repo
from carepilot.programmes import views as v
from carepilot.programmes.baselines import BaselineProvider, TrajectoryPoint
from carepilot.programmes.inputs import (
    LearningInput,
    MilestoneInput,
    MilestoneUpdateInput,
    RiskInput,
    RiskStatusInput,
)
from carepilot.programmes.model import NotFound, RiskStatus
from carepilot.programmes.permissions import can_manage_pilot
from carepilot.programmes.rules import check_risk_transition
from carepilot.programmes.tables import (
    BidRow,
    LearningRow,
    MilestoneRow,
    RiskRow,
    RiskStatusRow,
)


@dataclass(frozen=True, slots=True)
class TrajectoryView:
    indicator_id: str
    description: str
    baseline: float | None
    target: float
    points: list[TrajectoryPoint]


@dataclass(frozen=True, slots=True)
class PilotView:
    bid: v.BidView
    risks: list[v.RiskView]
    learning: list[v.LearningView]
    milestones: list[v.MilestoneView]
    trajectories: list[TrajectoryView]


def _pilot(session: Session, actor: Actor, bid_id: int) -> BidRow:
    row = repo.bid_row(session, bid_id)
    if not can_manage_pilot(actor, repo.access(session, row)):
        raise PermissionDenied(
            f"bid {bid_id} is not a selected pilot of your SHA steering group"
        )
    return row


def pilots(session: Session, actor: Actor) -> list[v.BidView]:
    """Selected pilots this steering member (or admin) looks after."""
    return [
        repo.bid_view(session, r)
        for r in repo.bids(session)
        if can_manage_pilot(actor, repo.access(session, r))
    ]


def pilot(
    session: Session, actor: Actor, bid_id: int, baselines: BaselineProvider
) -> PilotView:
    row = _pilot(session, actor, bid_id)
    bid = repo.bid_view(session, row)
    return PilotView(
        bid=bid,
        risks=[repo.risk_view(r) for r in repo.risks(session, bid_id)],
        learning=[
            v.LearningView(r.id, r.title, r.body, r.created_at)
            for r in repo.learning(session, bid_id)
        ],
        milestones=[
            v.MilestoneView(m.id, m.title, m.due, m.status)
            for m in repo.milestones(session, bid_id)
        ],
        trajectories=[
            TrajectoryView(
                t.indicator_id,
                t.description,
                t.baseline_value,
                t.target_value,
                baselines.series(t.indicator_id, bid.practice_codes),
            )
            for t in bid.targets
        ],
    )


def add_risk(
    session: Session, actor: Actor, bid_id: int, data: RiskInput
) -> v.RiskView:
    _pilot(session, actor, bid_id)
    now = utcnow()
    row = RiskRow(
        bid_id=bid_id,
        status=RiskStatus.OPEN.value,
        created_by=actor.id,
        created_at=now,
        **data.model_dump(),
    )
    row.history.append(
        RiskStatusRow(
            status=RiskStatus.OPEN.value,
            note="Risk raised",
            changed_by=actor.id,
            changed_at=now,
        )
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "pilot.risk.add",
        "risk",
        row.id,
        after=data.model_dump() | {"bid_id": bid_id},
    )
    session.commit()
    return repo.risk_view(row)


def change_risk_status(
    session: Session, actor: Actor, bid_id: int, risk_id: int, data: RiskStatusInput
) -> v.RiskView:
    _pilot(session, actor, bid_id)
    row = session.get(RiskRow, risk_id)
    if row is None or row.bid_id != bid_id:
        raise NotFound(f"risk {risk_id} is not in pilot {bid_id}")
    check_risk_transition(RiskStatus(row.status), data.status)
    before = row.status
    row.status = data.status.value
    row.history.append(
        RiskStatusRow(
            status=data.status.value,
            note=data.note,
            changed_by=actor.id,
            changed_at=utcnow(),
        )
    )
    audit.record(
        session,
        actor,
        "pilot.risk.status",
        "risk",
        row.id,
        before={"status": before},
        after={"status": row.status, "note": data.note},
    )
    session.commit()
    return repo.risk_view(row)


def add_learning(
    session: Session, actor: Actor, bid_id: int, data: LearningInput
) -> v.LearningView:
    _pilot(session, actor, bid_id)
    row = LearningRow(
        bid_id=bid_id,
        title=data.title,
        body=data.body,
        created_by=actor.id,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "pilot.learning.add",
        "learning",
        row.id,
        after=data.model_dump() | {"bid_id": bid_id},
    )
    session.commit()
    return v.LearningView(row.id, row.title, row.body, row.created_at)


def add_milestone(
    session: Session, actor: Actor, bid_id: int, data: MilestoneInput
) -> v.MilestoneView:
    _pilot(session, actor, bid_id)
    row = MilestoneRow(
        bid_id=bid_id,
        title=data.title,
        due=data.due.isoformat(),
        status=data.status.value,
        created_by=actor.id,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "pilot.milestone.add",
        "milestone",
        row.id,
        after=data.model_dump(mode="json") | {"bid_id": bid_id},
    )
    session.commit()
    return v.MilestoneView(row.id, row.title, row.due, row.status)


def update_milestone(
    session: Session,
    actor: Actor,
    bid_id: int,
    milestone_id: int,
    data: MilestoneUpdateInput,
) -> v.MilestoneView:
    """Record a milestone's progress (status, re-planned due date); audited."""
    _pilot(session, actor, bid_id)
    row = session.get(MilestoneRow, milestone_id)
    if row is None or row.bid_id != bid_id:
        raise NotFound(f"milestone {milestone_id} is not in pilot {bid_id}")
    before = {"status": row.status, "due": row.due}
    row.status = data.status.value
    row.due = data.due.isoformat()
    audit.record(
        session,
        actor,
        "pilot.milestone.update",
        "milestone",
        row.id,
        before=before,
        after={"status": row.status, "due": row.due},
    )
    session.commit()
    return v.MilestoneView(row.id, row.title, row.due, row.status)
