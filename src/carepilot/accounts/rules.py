"""Login throttling and password policy (pure).

Throttling: after `max_failures` failed logins for the same account (or `ip_max_failures`
from the same IP address) within `window`, further attempts are refused until `window` has passed
since the most recent failure. Counting both keys stops one IP trying many accounts and
many IPs trying one account.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_FAILURES = 5
MAX_FAILURES_PER_IP = 20
"""Higher than per account: many users may share one address (an NHS trust's proxy)."""
LOCKOUT_WINDOW = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    max_failures: int = MAX_FAILURES
    window: timedelta = LOCKOUT_WINDOW
    ip_max_failures: int = MAX_FAILURES_PER_IP

    def for_ip(self) -> ThrottlePolicy:
        return ThrottlePolicy(self.ip_max_failures, self.window, self.ip_max_failures)


def locked_until(
    failures: Sequence[datetime],
    now: datetime,
    policy: ThrottlePolicy = ThrottlePolicy(),
) -> datetime | None:
    """When the lockout ends, or None when another attempt is allowed.

    Args:
        failures: times of failed attempts for one key (account or IP), any order.
        now: the current time.
        policy: how many failures within which window trigger a lockout.

    Returns:
        The end of the lockout (last failure + window) when at least `max_failures`
        failures fall inside the window ending now; otherwise None.
    """
    recent = sorted(t for t in failures if now - t < policy.window)
    if len(recent) < policy.max_failures:
        return None
    return recent[-1] + policy.window


def password_problems(password: str, email: str) -> list[str]:
    """Reasons a new password is refused (empty list when it is acceptable)."""
    problems: list[str] = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"Password must be at least {MIN_PASSWORD_LENGTH} characters")
    if email and email.split("@")[0].lower() in password.lower():
        problems.append("Password must not contain your email name")
    return problems
