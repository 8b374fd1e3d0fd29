"""Prospectus and bid actions: each checks permission, applies the rules, audits and
commits in one transaction. Assessment and steering actions live in sibling modules.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from carepilot.accounts.model import Actor, Role
from carepilot.audit import service as audit
from carepilot.audit.chain import canonical_json
from carepilot.db.base import utcnow
from carepilot.errors import PermissionDenied
from carepilot.programmes import repo
from carepilot.programmes import views as v
from carepilot.programmes.baselines import BaselineProvider
from carepilot.programmes.inputs import (
    BidCreate,
    BidUpdate,
    InequalityInput,
    PartnerInput,
    ProgrammeCreate,
    SupportInput,
    TargetInput,
)
from carepilot.programmes.model import (
    INEQUALITY_BREAKDOWN,
    BidStatus,
    FormInvalid,
    Inequality,
    NotFound,
    OrgType,
    ProgrammeStatus,
    Section,
    StateConflict,
)
from carepilot.programmes.permissions import (
    can_confirm_support,
    can_edit_bid,
    can_manage_pilot,
    can_score,
    can_view_bid,
)
from carepilot.programmes.rules import (
    BidFacts,
    is_open,
    require_status,
    submission_problems,
)
from carepilot.programmes.tables import (
    AttachmentRow,
    BidRow,
    BidVersionRow,
    CriterionRow,
    InequalityRow,
    PartnerRow,
    PctSupportRow,
    ProgrammeRow,
    TargetRow,
)

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
ALLOWED_ATTACHMENTS: dict[str, tuple[str, bytes]] = {
    ".pdf": ("application/pdf", b"%PDF-"),
    ".docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        b"PK\x03\x04",
    ),
    ".xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        b"PK\x03\x04",
    ),
    ".csv": ("text/csv", b""),
    ".txt": ("text/plain", b""),
}
"""Accepted attachment types: extension → (served content type, required magic bytes)."""


def _require_role(actor: Actor, *roles: Role) -> None:
    if actor.role not in roles:
        raise PermissionDenied(
            f"{actor.role.value} users cannot do this; it needs "
            f"{' or '.join(r.value for r in roles)}"
        )


# ---------------------------------------------------------------- programmes


def create_programme(
    session: Session, actor: Actor, data: ProgrammeCreate
) -> v.ProgrammeView:
    """Create a draft prospectus (admin)."""
    _require_role(actor, Role.ADMIN)
    row = ProgrammeRow(
        title=data.title,
        summary=data.summary,
        status=ProgrammeStatus.DRAFT.value,
        opens_at=data.opens_at,
        closes_at=data.closes_at,
        selection_at=data.selection_at,
        frontrunners_at=data.frontrunners_at,
        eligibility_text=list(data.eligibility_text),
        required_sections=[s.value for s in data.required_sections],
        created_by=actor.id,
        created_at=utcnow(),
        published_at=None,
    )
    row.criteria = [
        CriterionRow(position=i, title=c.title, weight=c.weight)
        for i, c in enumerate(data.criteria)
    ]
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "programme.create",
        "programme",
        row.id,
        after=data.model_dump(mode="json"),
    )
    session.commit()
    return repo.programme_view(row)


def publish_programme(
    session: Session, actor: Actor, programme_id: int
) -> v.ProgrammeView:
    """Publish a prospectus so the public can read it and bidders can bid (admin)."""
    _require_role(actor, Role.ADMIN)
    row = repo.programme_row(session, programme_id)
    if row.status == ProgrammeStatus.PUBLISHED.value:
        raise StateConflict(f"programme {programme_id} is already published")
    row.status = ProgrammeStatus.PUBLISHED.value
    row.published_at = utcnow()
    audit.record(
        session,
        actor,
        "programme.publish",
        "programme",
        row.id,
        before={"status": "draft"},
        after={"status": "published"},
    )
    session.commit()
    return repo.programme_view(row)


def list_programmes(session: Session, actor: Actor | None) -> list[v.ProgrammeView]:
    """Published programmes for everyone; drafts too for admins."""
    admin = actor is not None and actor.role == Role.ADMIN
    return [
        repo.programme_view(r)
        for r in repo.programmes(session, published_only=not admin)
    ]


def get_programme(
    session: Session, actor: Actor | None, programme_id: int
) -> v.ProgrammeView:
    row = repo.programme_row(session, programme_id)
    if row.status != ProgrammeStatus.PUBLISHED.value and (
        actor is None or actor.role != Role.ADMIN
    ):
        raise NotFound(f"programme {programme_id} does not exist")
    return repo.programme_view(row)


# ---------------------------------------------------------------- bids


def _visible_bid(session: Session, actor: Actor, bid_id: int) -> BidRow:
    row = repo.bid_row(session, bid_id)
    if not can_view_bid(actor, repo.access(session, row)):
        raise PermissionDenied(f"you cannot see bid {bid_id}")
    return row


def _editable_bid(session: Session, actor: Actor, bid_id: int) -> BidRow:
    row = repo.bid_row(session, bid_id)
    if not can_edit_bid(actor, repo.access(session, row)):
        raise PermissionDenied(f"only the bidder who owns bid {bid_id} can change it")
    require_status(BidStatus(row.status), [BidStatus.DRAFT], "change the bid")
    return row


def _touch(row: BidRow) -> None:
    row.updated_at = utcnow()


def get_bid(session: Session, actor: Actor, bid_id: int) -> v.BidView:
    return repo.bid_view(session, _visible_bid(session, actor, bid_id))


def list_bids(
    session: Session, actor: Actor, programme_id: int | None = None
) -> list[v.BidView]:
    """The bids this user may see (a bidder only their own)."""
    owner = actor.id if actor.role == Role.BIDDER else None
    rows = repo.bids(session, programme_id=programme_id, owner_id=owner)
    return [
        repo.bid_view(session, r)
        for r in rows
        if can_view_bid(actor, repo.access(session, r))
    ]


def create_bid(
    session: Session,
    actor: Actor,
    programme_id: int,
    data: BidCreate,
    now: datetime | None = None,
) -> v.BidView:
    """Start a draft bid while the programme is open (bidder)."""
    _require_role(actor, Role.BIDDER)
    prog = repo.programme_row(session, programme_id)
    now = now or utcnow()
    if prog.status != ProgrammeStatus.PUBLISHED.value:
        raise NotFound(f"programme {programme_id} does not exist")
    if not is_open(prog.opens_at, prog.closes_at, now):
        raise StateConflict(
            f"bids for this programme can only be started between {prog.opens_at:%d %b %Y} "
            f"and {prog.closes_at:%d %b %Y %H:%M} UTC"
        )
    row = BidRow(
        programme_id=prog.id,
        owner_id=actor.id,
        title=data.title,
        status=BidStatus.DRAFT.value,
        sha_code=data.sha_code,
        pct_codes=[],
        practice_codes=[],
        population=None,
        sections={},
        evaluation_agreed=False,
        version=0,
        created_at=now,
        updated_at=now,
        submitted_at=None,
    )
    session.add(row)
    session.flush()
    audit.record(
        session, actor, "bid.create", "bid", row.id, after=data.model_dump(mode="json")
    )
    session.commit()
    return repo.bid_view(session, row)


def _core(row: BidRow) -> dict[str, Any]:
    return {
        "title": row.title,
        "sha_code": row.sha_code,
        "pct_codes": list(row.pct_codes),
        "practice_codes": list(row.practice_codes),
        "population": row.population,
        "sections": dict(row.sections),
        "evaluation_agreed": row.evaluation_agreed,
    }


def update_bid(
    session: Session, actor: Actor, bid_id: int, data: BidUpdate
) -> v.BidView:
    """Save the bid's core answers and narrative sections (owner, draft only)."""
    row = _editable_bid(session, actor, bid_id)
    before = _core(row)
    row.title = data.title
    row.sha_code = data.sha_code
    row.pct_codes = list(data.pct_codes)
    row.practice_codes = list(data.practice_codes)
    row.population = data.population
    row.sections = {k.value: t for k, t in data.sections.items()}
    row.evaluation_agreed = data.evaluation_agreed
    _touch(row)
    audit.record(
        session, actor, "bid.update", "bid", row.id, before=before, after=_core(row)
    )
    session.commit()
    return repo.bid_view(session, row)


def add_partner(
    session: Session, actor: Actor, bid_id: int, data: PartnerInput
) -> v.BidView:
    """Add a partner organisation; a new lead replaces the previous lead."""
    row = _editable_bid(session, actor, bid_id)
    if any(p.org_code == data.org_code for p in row.partners):
        raise FormInvalid(
            {"org_code": f"{data.org_code} is already a partner in this bid"}
        )
    if data.is_lead:
        for p in row.partners:
            p.is_lead = False
    row.partners.append(PartnerRow(**data.model_dump(mode="json")))
    _touch(row)
    audit.record(
        session,
        actor,
        "bid.partner.add",
        "bid",
        row.id,
        after=data.model_dump(mode="json"),
    )
    session.commit()
    return repo.bid_view(session, row)


def remove_partner(
    session: Session, actor: Actor, bid_id: int, partner_id: int
) -> v.BidView:
    row = _editable_bid(session, actor, bid_id)
    match = next((p for p in row.partners if p.id == partner_id), None)
    if match is None:
        raise NotFound(f"partner {partner_id} is not in bid {bid_id}")
    before = {
        "org_code": match.org_code,
        "name": match.name,
        "org_type": match.org_type,
    }
    row.partners.remove(match)
    _touch(row)
    audit.record(session, actor, "bid.partner.remove", "bid", row.id, before=before)
    session.commit()
    return repo.bid_view(session, row)


def add_inequality(
    session: Session,
    actor: Actor,
    bid_id: int,
    data: InequalityInput,
    baselines: BaselineProvider,
) -> v.BidView:
    """Commit to a specific inequality; its baseline comes from the indicator results."""
    row = _editable_bid(session, actor, bid_id)
    base = baselines.baseline(
        data.indicator_id, row.practice_codes, INEQUALITY_BREAKDOWN[data.inequality]
    )
    item = InequalityRow(
        inequality=data.inequality.value,
        indicator_id=data.indicator_id,
        commitment=data.commitment,
        baseline_value=base.value,
        baseline_period_end=base.period_end.isoformat() if base.period_end else None,
        baseline_note=base.note,
        trajectory=list(data.trajectory),
    )
    row.inequalities.append(item)
    _touch(row)
    after = data.model_dump(mode="json") | {"baseline_value": base.value}
    audit.record(session, actor, "bid.inequality.add", "bid", row.id, after=after)
    session.commit()
    return repo.bid_view(session, row)


def remove_inequality(
    session: Session, actor: Actor, bid_id: int, item_id: int
) -> v.BidView:
    row = _editable_bid(session, actor, bid_id)
    match = next((i for i in row.inequalities if i.id == item_id), None)
    if match is None:
        raise NotFound(f"inequality commitment {item_id} is not in bid {bid_id}")
    row.inequalities.remove(match)
    _touch(row)
    audit.record(
        session,
        actor,
        "bid.inequality.remove",
        "bid",
        row.id,
        before={"inequality": match.inequality, "indicator_id": match.indicator_id},
    )
    session.commit()
    return repo.bid_view(session, row)


def add_target(
    session: Session,
    actor: Actor,
    bid_id: int,
    data: TargetInput,
    baselines: BaselineProvider,
) -> v.BidView:
    """Add a 'step change' outcome target; its baseline comes from the indicator results."""
    row = _editable_bid(session, actor, bid_id)
    base = baselines.baseline(data.indicator_id, row.practice_codes, "total")
    row.targets.append(
        TargetRow(
            kind=data.kind.value,
            indicator_id=data.indicator_id,
            description=data.description,
            baseline_value=base.value,
            target_value=data.target_value,
        )
    )
    _touch(row)
    audit.record(
        session,
        actor,
        "bid.target.add",
        "bid",
        row.id,
        after=data.model_dump(mode="json") | {"baseline_value": base.value},
    )
    session.commit()
    return repo.bid_view(session, row)


def add_attachment(
    session: Session,
    actor: Actor,
    bid_id: int,
    filename: str,
    data: bytes,
    upload_dir: Path,
) -> v.BidView:
    """Store an attachment outside the web root under a random name, after checks.

    Only listed types are accepted, checked by extension *and* leading bytes, and files
    are only ever served back as downloads, never rendered inline.
    """
    row = _editable_bid(session, actor, bid_id)
    name = Path(filename or "").name.strip()
    ext = Path(name).suffix.lower()
    if not name:
        raise FormInvalid({"file": "Select a file to upload"})
    if ext not in ALLOWED_ATTACHMENTS:
        raise FormInvalid(
            {"file": f"The file must be a {', '.join(sorted(ALLOWED_ATTACHMENTS))}"}
        )
    if not data:
        raise FormInvalid({"file": "The selected file is empty"})
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise FormInvalid(
            {
                "file": f"The file must be smaller than {MAX_ATTACHMENT_BYTES // (1024 * 1024)}MB"
            }
        )
    content_type, magic = ALLOWED_ATTACHMENTS[ext]
    if magic and not data.startswith(magic):
        raise FormInvalid({"file": f"The file does not look like a {ext} file"})
    if not magic and b"\x00" in data[:4096]:
        raise FormInvalid({"file": f"The file does not look like a {ext} text file"})
    stored = secrets.token_hex(16) + ext
    upload_dir.mkdir(parents=True, exist_ok=True)
    (upload_dir / stored).write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    session.add(
        AttachmentRow(
            bid_id=row.id,
            filename=name[:200],
            stored_name=stored,
            content_type=content_type,
            size_bytes=len(data),
            sha256=digest,
            uploaded_by=actor.id,
            uploaded_at=utcnow(),
        )
    )
    _touch(row)
    audit.record(
        session,
        actor,
        "bid.attachment.add",
        "bid",
        row.id,
        after={"filename": name, "size_bytes": len(data), "sha256": digest},
    )
    session.commit()
    return repo.bid_view(session, row)


def attachment_file(
    session: Session, actor: Actor, bid_id: int, attachment_id: int, upload_dir: Path
) -> tuple[v.AttachmentView, Path]:
    """The stored file of an attachment, for users who may see the bid."""
    bid = get_bid(session, actor, bid_id)
    match = next((a for a in bid.attachments if a.id == attachment_id), None)
    stored = next(
        (
            a.stored_name
            for a in repo.attachments(session, bid_id)
            if a.id == attachment_id
        ),
        None,
    )
    if match is None or stored is None:
        raise NotFound(f"attachment {attachment_id} is not in bid {bid_id}")
    return match, upload_dir / stored


def facts(session: Session, row: BidRow) -> BidFacts:
    lead = next((p for p in row.partners if p.is_lead), None)
    return BidFacts(
        lead_org_type=OrgType(lead.org_type) if lead else None,
        pct_codes=tuple(row.pct_codes),
        confirmed_pct_codes=tuple(s.pct_code for s in repo.support(session, row.id)),
        inequalities=tuple(Inequality(i.inequality) for i in row.inequalities),
        evaluation_agreed=row.evaluation_agreed,
        sections=dict(row.sections),
        submitted_at=row.submitted_at,
    )


def submit_bid(
    session: Session, actor: Actor, bid_id: int, now: datetime | None = None
) -> v.BidView:
    """Submit before the deadline; freezes an immutable, hashed version of the bid."""
    row = _editable_bid(session, actor, bid_id)
    prog = repo.programme_row(session, row.programme_id)
    now = now or utcnow()
    if now >= prog.closes_at:
        raise StateConflict(
            f"the deadline ({prog.closes_at:%d %b %Y %H:%M} UTC) has passed"
        )
    problems = submission_problems(
        facts(session, row), [Section(s) for s in prog.required_sections]
    )
    if problems:
        raise FormInvalid(problems)
    row.status = BidStatus.SUBMITTED.value
    row.submitted_at = now
    row.version += 1
    _touch(row)
    snapshot = dataclasses.asdict(repo.bid_view(session, row))
    snapshot_json = canonical_json(snapshot)
    digest = hashlib.sha256(snapshot_json.encode()).hexdigest()
    session.add(
        BidVersionRow(
            bid_id=row.id,
            version=row.version,
            snapshot=_jsonable(snapshot),
            sha256=digest,
            created_at=now,
        )
    )
    audit.record(
        session,
        actor,
        "bid.submit",
        "bid",
        row.id,
        before={"status": "draft"},
        after={"status": "submitted", "version": row.version, "sha256": digest},
    )
    session.commit()
    return repo.bid_view(session, row)


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(canonical_json(value))


def confirm_support(
    session: Session, actor: Actor, bid_id: int, data: SupportInput
) -> v.BidView:
    """A commissioner of a PCT named in the bid confirms that PCT's support."""
    row = repo.bid_row(session, bid_id)
    access = repo.access(session, row)
    if not can_confirm_support(actor, access):
        raise PermissionDenied(
            f"only a commissioner of a PCT named in bid {bid_id} can confirm support"
        )
    require_status(BidStatus(row.status), [BidStatus.SUBMITTED], "confirm support")
    assert actor.pct_code is not None
    if any(s.pct_code == actor.pct_code for s in repo.support(session, bid_id)):
        raise StateConflict(
            f"{actor.pct_code} has already confirmed support for this bid"
        )
    session.add(
        PctSupportRow(
            bid_id=bid_id,
            pct_code=actor.pct_code,
            confirmed_by=actor.id,
            confirmed_at=utcnow(),
            statement=data.statement,
        )
    )
    audit.record(
        session,
        actor,
        "bid.support.confirm",
        "bid",
        bid_id,
        after={"pct_code": actor.pct_code, "statement": data.statement},
    )
    session.commit()
    return repo.bid_view(session, row)


_BID_ACTIONS = {
    "edit": (can_edit_bid, "only the bidder who owns bid {id} can change it"),
    "support": (
        can_confirm_support,
        "only a commissioner of a PCT named in bid {id} can confirm support",
    ),
    "score": (can_score, "you are not allocated to bid {id}"),
    "manage_pilot": (
        can_manage_pilot,
        "bid {id} is not a selected pilot of your SHA steering group",
    ),
}


def authorise_bid(session: Session, actor: Actor, bid_id: int, action: str) -> None:
    """Object-level check run before any input is read (so bad input never reveals
    more than a permission error would): raises PermissionDenied or NotFound."""
    predicate, message = _BID_ACTIONS[action]
    row = repo.bid_row(session, bid_id)
    if not predicate(actor, repo.access(session, row)):
        raise PermissionDenied(message.format(id=bid_id))
