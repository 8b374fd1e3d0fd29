"""Eligibility, conflicts of interest, allocation, scoring, moderation and panel
decisions. Each action checks permission, applies the pure rules, audits and commits.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carepilot.accounts import service as accounts
from carepilot.accounts.model import Actor, Role
from carepilot.audit import service as audit
from carepilot.db.base import utcnow
from carepilot.errors import PermissionDenied
from carepilot.programmes import repo
from carepilot.programmes import views as v
from carepilot.programmes.inputs import (
    AllocationInput,
    ConflictInput,
    DecisionInput,
    OverrideInput,
    ScoreInput,
)
from carepilot.programmes.model import (
    BidStatus,
    Decision,
    FormInvalid,
    NotFound,
    Section,
    StateConflict,
)
from carepilot.programmes.permissions import can_read_letter, can_score
from carepilot.programmes.rules import (
    MIN_ASSESSORS,
    CriterionModeration,
    LetterFacts,
    check_eligibility,
    feedback_letter,
    has_conflict,
    moderate,
    require_status,
    weighted_total,
)
from carepilot.programmes.service import _require_role, facts
from carepilot.programmes.tables import (
    AllocationRow,
    ConflictRow,
    DecisionRow,
    EligibilityRow,
    ScoreRow,
)


def run_eligibility(session: Session, actor: Actor, bid_id: int) -> v.BidView:
    """Run the automatic rules on a submitted bid and set it eligible or ineligible (admin)."""
    _require_role(actor, Role.ADMIN)
    row = repo.bid_row(session, bid_id)
    require_status(
        BidStatus(row.status),
        [BidStatus.SUBMITTED, BidStatus.ELIGIBLE, BidStatus.INELIGIBLE],
        "run eligibility",
    )
    prog = repo.programme_row(session, row.programme_id)
    results = check_eligibility(
        facts(session, row),
        [Section(s) for s in prog.required_sections],
        prog.closes_at,
    )
    passed = all(r.passed for r in results)
    session.add(
        EligibilityRow(
            bid_id=bid_id,
            run_at=utcnow(),
            run_by=actor.id,
            results=[dataclasses.asdict(r) for r in results],
            passed=passed,
            override=None,
            override_reason=None,
            override_by=None,
        )
    )
    before = row.status
    row.status = (BidStatus.ELIGIBLE if passed else BidStatus.INELIGIBLE).value
    audit.record(
        session,
        actor,
        "bid.eligibility.run",
        "bid",
        bid_id,
        before={"status": before},
        after={"status": row.status, "results": {r.rule: r.passed for r in results}},
    )
    session.commit()
    return repo.bid_view(session, row)


def override_eligibility(
    session: Session, actor: Actor, bid_id: int, data: OverrideInput
) -> v.BidView:
    """Admin overrides the automatic result; the reason is recorded and audited."""
    _require_role(actor, Role.ADMIN)
    row = repo.bid_row(session, bid_id)
    require_status(
        BidStatus(row.status),
        [BidStatus.ELIGIBLE, BidStatus.INELIGIBLE],
        "override eligibility",
    )
    check = repo.latest_eligibility(session, bid_id)
    if check is None:
        raise StateConflict("run the eligibility rules before overriding them")
    if repo.allocations(session, bid_id) and not data.eligible:
        raise StateConflict(
            "assessors are already allocated; a bid under assessment cannot be made ineligible"
        )
    before = {"status": row.status, "override": check.override}
    check.override = data.eligible
    check.override_reason = data.reason
    check.override_by = actor.id
    row.status = (BidStatus.ELIGIBLE if data.eligible else BidStatus.INELIGIBLE).value
    audit.record(
        session,
        actor,
        "bid.eligibility.override",
        "bid",
        bid_id,
        before=before,
        after={"status": row.status, "override": data.eligible, "reason": data.reason},
    )
    session.commit()
    return repo.bid_view(session, row)


def declare_conflict(
    session: Session, actor: Actor, data: ConflictInput
) -> list[v.ConflictView]:
    """An assessor declares an organisation they are linked to."""
    _require_role(actor, Role.ASSESSOR)
    if any(c.org_code == data.org_code for c in repo.conflicts(session, actor.id)):
        raise FormInvalid({"org_code": f"You have already declared {data.org_code}"})
    session.add(
        ConflictRow(
            assessor_id=actor.id,
            org_code=data.org_code,
            reason=data.reason,
            declared_at=utcnow(),
        )
    )
    audit.record(
        session,
        actor,
        "assessor.conflict.declare",
        "user",
        actor.id,
        after=data.model_dump(mode="json"),
    )
    session.commit()
    return list_conflicts(session, actor)


def list_conflicts(session: Session, actor: Actor) -> list[v.ConflictView]:
    _require_role(actor, Role.ASSESSOR)
    return [
        v.ConflictView(c.id, c.org_code, c.reason, c.declared_at)
        for c in repo.conflicts(session, actor.id)
    ]


def _bid_orgs(row_partners: list[str], pct_codes: list[str]) -> list[str]:
    return [*row_partners, *pct_codes]


def allocate(
    session: Session, actor: Actor, bid_id: int, data: AllocationInput
) -> v.BidView:
    """Allocate an assessor to an eligible bid, refusing conflicts of interest (admin)."""
    _require_role(actor, Role.ADMIN)
    row = repo.bid_row(session, bid_id)
    require_status(BidStatus(row.status), [BidStatus.ELIGIBLE], "allocate assessors")
    assessor = accounts.get_user(session, data.assessor_id)
    if assessor is None or assessor.role != Role.ASSESSOR:
        raise FormInvalid({"assessor_id": "Choose a national assessor"})
    declared = [c.org_code for c in repo.conflicts(session, assessor.id)]
    if assessor.organisation_code:
        declared.append(assessor.organisation_code)
    orgs = _bid_orgs([p.org_code for p in row.partners], list(row.pct_codes))
    if has_conflict(declared, orgs):
        raise FormInvalid(
            {
                "assessor_id": f"{assessor.name} has a conflict of interest with an organisation in this bid"
            }
        )
    session.add(
        AllocationRow(
            bid_id=bid_id,
            assessor_id=assessor.id,
            allocated_by=actor.id,
            allocated_at=utcnow(),
            completed_at=None,
        )
    )
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise FormInvalid(
            {"assessor_id": f"{assessor.name} is already allocated to this bid"}
        ) from None
    audit.record(
        session,
        actor,
        "bid.allocate",
        "bid",
        bid_id,
        after={"assessor_id": assessor.id},
    )
    session.commit()
    return repo.bid_view(session, row)


def submit_scores(
    session: Session, actor: Actor, bid_id: int, data: ScoreInput
) -> v.AllocationView:
    """An allocated assessor scores every criterion with a comment (may rescore until decided)."""
    row = repo.bid_row(session, bid_id)
    if not can_score(actor, repo.access(session, row)):
        raise PermissionDenied(f"you are not allocated to bid {bid_id}")
    require_status(BidStatus(row.status), [BidStatus.ELIGIBLE], "score the bid")
    prog = repo.programme_row(session, row.programme_id)
    wanted = {c.id for c in prog.criteria}
    given = {s.criterion_id for s in data.scores}
    if given != wanted:
        missing = [c.title for c in prog.criteria if c.id not in given]
        raise FormInvalid(
            {
                "scores": f"Score every criterion; missing: {', '.join(missing) or 'unknown criteria given'}"
            }
        )
    alloc = repo.allocation(session, bid_id, actor.id)
    assert alloc is not None
    before = {str(s.criterion_id): s.score for s in repo.scores(session, alloc.id)}
    for s in repo.scores(session, alloc.id):
        session.delete(s)
    session.flush()
    for s in data.scores:
        session.add(
            ScoreRow(
                allocation_id=alloc.id,
                criterion_id=s.criterion_id,
                score=s.score,
                comment=s.comment,
            )
        )
    alloc.completed_at = utcnow()
    audit.record(
        session,
        actor,
        "bid.score",
        "bid",
        bid_id,
        before=before or None,
        after={str(s.criterion_id): s.score for s in data.scores},
    )
    session.commit()
    names = repo.user_names(session, [actor.id])
    return repo.allocation_view(session, alloc, names)


@dataclass(frozen=True, slots=True)
class BidModeration:
    bid: v.BidView
    allocations: list[v.AllocationView]
    completed: int
    weighted_score: float | None
    criteria: list[CriterionModeration]

    @property
    def divergent(self) -> bool:
        return any(c.divergent for c in self.criteria)

    @property
    def ready(self) -> bool:
        return self.completed >= MIN_ASSESSORS


def _moderation_for(session: Session, bid_row_id: int) -> BidModeration:
    row = repo.bid_row(session, bid_row_id)
    prog = repo.programme_row(session, row.programme_id)
    allocs = repo.allocations(session, row.id)
    names = repo.user_names(session, [a.assessor_id for a in allocs])
    views = [repo.allocation_view(session, a, names) for a in allocs]
    done = [a for a in views if a.completed_at is not None]
    by_crit: dict[int, list[int]] = {}
    for a in done:
        for s in a.scores:
            by_crit.setdefault(s.criterion_id, []).append(s.score)
    weights = {c.id: c.weight for c in prog.criteria}
    totals = [
        weighted_total({s.criterion_id: s.score for s in a.scores}, weights)
        for a in done
    ]
    return BidModeration(
        bid=repo.bid_view(session, row),
        allocations=views,
        completed=len(done),
        weighted_score=sum(totals) / len(totals) if totals else None,
        criteria=moderate(by_crit),
    )


def moderation(
    session: Session, actor: Actor, programme_id: int
) -> list[BidModeration]:
    """Every assessable bid with its scores, weighted total and divergent criteria (admin)."""
    _require_role(actor, Role.ADMIN)
    repo.programme_row(session, programme_id)
    return [
        _moderation_for(session, r.id)
        for r in repo.bids(session, programme_id=programme_id)
        if r.status != BidStatus.DRAFT.value
    ]


def record_decision(
    session: Session, actor: Actor, bid_id: int, data: DecisionInput
) -> v.BidView:
    """The panel's decision and the generated feedback letter (admin).

    Selected, frontrunner and reserve need an eligible bid scored by at least two
    assessors; an ineligible bid can only be not selected.
    """
    _require_role(actor, Role.ADMIN)
    row = repo.bid_row(session, bid_id)
    status = BidStatus(row.status)
    require_status(
        status, [BidStatus.ELIGIBLE, BidStatus.INELIGIBLE], "record a panel decision"
    )
    mod = _moderation_for(session, bid_id)
    if status == BidStatus.INELIGIBLE and data.decision != Decision.NOT_SELECTED:
        raise FormInvalid({"decision": "An ineligible bid can only be not selected"})
    if status == BidStatus.ELIGIBLE and not mod.ready:
        raise FormInvalid(
            {
                "decision": f"At least {MIN_ASSESSORS} assessors must score the bid first ({mod.completed} have)"
            }
        )
    prog = repo.programme_row(session, row.programme_id)
    lead = next((p.name for p in row.partners if p.is_lead), row.title)
    comments = [s.comment for a in mod.allocations for s in a.scores][:6]
    letter = feedback_letter(
        LetterFacts(
            row.title,
            lead,
            prog.title,
            data.decision,
            mod.weighted_score,
            data.rationale,
            tuple(comments),
        )
    )
    session.add(
        DecisionRow(
            bid_id=bid_id,
            decision=data.decision.value,
            rationale=data.rationale,
            weighted_score=mod.weighted_score,
            letter=letter,
            decided_by=actor.id,
            decided_at=utcnow(),
        )
    )
    row.status = BidStatus.DECIDED.value
    audit.record(
        session,
        actor,
        "bid.decide",
        "bid",
        bid_id,
        before={"status": status.value},
        after={
            "status": "decided",
            "decision": data.decision.value,
            "weighted_score": mod.weighted_score,
        },
    )
    session.commit()
    return repo.bid_view(session, row)


def feedback(session: Session, actor: Actor, bid_id: int) -> str:
    """The feedback letter, for the bidder who owns the bid and admins."""
    row = repo.bid_row(session, bid_id)
    if not can_read_letter(actor, repo.access(session, row)):
        raise PermissionDenied(f"you cannot read the letter for bid {bid_id}")
    dec = repo.decision(session, bid_id)
    if dec is None:
        raise NotFound(f"no panel decision has been recorded for bid {bid_id} yet")
    return dec.letter


def my_allocations(session: Session, actor: Actor) -> list[v.AllocationView]:
    _require_role(actor, Role.ASSESSOR)
    names = repo.user_names(session, [actor.id])
    return [
        repo.allocation_view(session, a, names)
        for a in repo.allocations_for_assessor(session, actor.id)
    ]


def assessors(session: Session, actor: Actor) -> list[Actor]:
    _require_role(actor, Role.ADMIN)
    return accounts.list_users(session, Role.ASSESSOR)
