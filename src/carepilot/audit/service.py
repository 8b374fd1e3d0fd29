"""Write and verify audit events inside the caller's transaction.

The writer takes a lock before reading the last hash (an advisory transaction lock on
PostgreSQL; SQLite serialises writers itself) so concurrent writers cannot fork the
chain.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from carepilot.accounts.model import Actor
from carepilot.audit.chain import (
    GENESIS_HASH,
    ChainReport,
    StoredEvent,
    canonical_json,
    event_hash,
    verify_chain,
)
from carepilot.audit.tables import AuditEventRow
from carepilot.db.base import utcnow

_PG_LOCK_KEY = 7_411_001


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor_email: str
    action: str
    entity_type: str
    entity_id: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None


def _content(row: AuditEventRow) -> dict[str, Any]:
    return {
        "at": row.at.isoformat(),
        "actor_id": row.actor_id,
        "actor_email": row.actor_email,
        "action": row.action,
        "entity_type": row.entity_type,
        "entity_id": row.entity_id,
        "before": row.before_json,
        "after": row.after_json,
    }


def record(
    session: Session,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: object,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """Append one event (who, when, what, before/after) to the chain; no commit."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    last = session.scalar(
        select(AuditEventRow.hash).order_by(AuditEventRow.id.desc()).limit(1)
    )
    row = AuditEventRow(
        at=utcnow(),
        actor_id=actor.id or None,
        actor_email=actor.email,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before_json=None if before is None else canonical_json(before),
        after_json=None if after is None else canonical_json(after),
        prev_hash=last or GENESIS_HASH,
        hash="",
    )
    row.hash = event_hash(row.prev_hash, _content(row))
    session.add(row)
    session.flush()


def _stored(session: Session) -> Iterator[StoredEvent]:
    rows = session.scalars(
        select(AuditEventRow)
        .order_by(AuditEventRow.id)
        .execution_options(yield_per=500)
    )
    for row in rows:
        yield StoredEvent(row.id, _content(row), row.prev_hash, row.hash)


def verify(session: Session) -> ChainReport:
    """Recompute the whole chain from the database."""
    return verify_chain(_stored(session))


def recent(
    session: Session,
    limit: int = 200,
    entity_type: str | None = None,
    entity_id: str | None = None,
) -> Sequence[AuditEntry]:
    """Newest events first, optionally for one entity."""
    q = select(AuditEventRow).order_by(AuditEventRow.id.desc()).limit(limit)
    if entity_type:
        q = q.where(AuditEventRow.entity_type == entity_type)
    if entity_id:
        q = q.where(AuditEventRow.entity_id == entity_id)
    return [
        AuditEntry(
            r.id,
            r.at,
            r.actor_email,
            r.action,
            r.entity_type,
            r.entity_id,
            None if r.before_json is None else json.loads(r.before_json),
            None if r.after_json is None else json.loads(r.after_json),
        )
        for r in session.scalars(q)
    ]
