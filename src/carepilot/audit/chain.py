"""Hash chain over audit events (pure).

Each event's hash is SHA-256 over the previous event's hash and a canonical JSON
encoding (sorted keys, no whitespace) of the event's content:

    hash_n = sha256(hash_{n-1} || "\\n" || canonical_json(event_n)),  hash_0 = "0" * 64

so altering, deleting or reordering any stored event breaks every later link, which
`verify_chain` reports with the first broken event id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces; dates and decimals become strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def event_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    """The chained hash of one event (see module docstring)."""
    payload = prev_hash + "\n" + canonical_json(dict(content))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: int
    content: Mapping[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    events: int
    first_bad_id: int | None = None
    reason: str = ""


def verify_chain(events: Iterable[StoredEvent]) -> ChainReport:
    """Check every link; events must be given in id order."""
    prev = GENESIS_HASH
    count = 0
    for ev in events:
        count += 1
        if ev.prev_hash != prev:
            return ChainReport(
                False, count, ev.id, f"event {ev.id}: previous-hash link broken"
            )
        if event_hash(prev, ev.content) != ev.hash:
            return ChainReport(
                False, count, ev.id, f"event {ev.id}: content does not match its hash"
            )
        prev = ev.hash
    return ChainReport(True, count)
