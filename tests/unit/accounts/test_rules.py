from __future__ import annotations

from datetime import UTC, datetime, timedelta

from carepilot.accounts.passwords import hash_password, verify_password
from carepilot.accounts.rules import ThrottlePolicy, locked_until, password_problems

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_lockout_after_max_failures_within_window() -> None:
    policy = ThrottlePolicy(max_failures=3, window=timedelta(minutes=10))
    fails = [NOW - timedelta(minutes=m) for m in (1, 2, 3)]
    assert locked_until(fails, NOW, policy) == NOW - timedelta(minutes=1) + timedelta(
        minutes=10
    )
    assert locked_until(fails[:2], NOW, policy) is None
    old = [NOW - timedelta(minutes=m) for m in (11, 12, 13)]
    assert locked_until(old, NOW, policy) is None


def test_ip_limit_is_higher_than_account_limit() -> None:
    policy = ThrottlePolicy()
    assert policy.for_ip().max_failures > policy.max_failures


def test_password_policy() -> None:
    assert password_problems("short", "a@b") != []
    assert password_problems("alice-long-password", "alice@nhs.net") != []
    assert password_problems("Integrated-care-2026", "alice@nhs.net") == []


def test_argon2_round_trip() -> None:
    h = hash_password("Integrated-care-2026")
    assert h.startswith("$argon2id$")
    assert verify_password(h, "Integrated-care-2026")
    assert not verify_password(h, "wrong")
    assert not verify_password(None, "anything")
    assert not verify_password("not-a-hash", "x")
