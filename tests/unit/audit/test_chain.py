from __future__ import annotations

from dataclasses import replace

from carepilot.audit.chain import GENESIS_HASH, StoredEvent, event_hash, verify_chain


def chain(n: int) -> list[StoredEvent]:
    out: list[StoredEvent] = []
    prev = GENESIS_HASH
    for i in range(1, n + 1):
        content = {"action": f"a{i}", "after": {"x": i}}
        h = event_hash(prev, content)
        out.append(StoredEvent(i, content, prev, h))
        prev = h
    return out


def test_intact_chain_verifies() -> None:
    report = verify_chain(chain(5))
    assert report.ok and report.events == 5


def test_tampered_content_is_detected_at_that_event() -> None:
    events = chain(5)
    events[2] = replace(events[2], content={"action": "a3", "after": {"x": 999}})
    report = verify_chain(events)
    assert not report.ok and report.first_bad_id == 3 and "content" in report.reason


def test_deleted_event_breaks_the_next_link() -> None:
    events = chain(5)
    del events[1]
    report = verify_chain(events)
    assert not report.ok and report.first_bad_id == 3 and "link" in report.reason


def test_hash_is_order_independent_for_keys_but_not_values() -> None:
    assert event_hash(GENESIS_HASH, {"a": 1, "b": 2}) == event_hash(
        GENESIS_HASH, {"b": 2, "a": 1}
    )
    assert event_hash(GENESIS_HASH, {"a": 1}) != event_hash(GENESIS_HASH, {"a": 2})
