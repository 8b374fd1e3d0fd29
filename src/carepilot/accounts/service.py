"""Account operations: create users, log in with throttling, sessions and API tokens.

Session ids and API tokens are 256-bit random values; only their SHA-256 is stored, so
a copy of the database does not let anyone sign in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carepilot.accounts.model import Actor, Role
from carepilot.accounts.passwords import hash_password, needs_rehash, verify_password
from carepilot.accounts.rules import ThrottlePolicy, locked_until, password_problems
from carepilot.accounts.tables import ApiTokenRow, LoginAttemptRow, SessionRow, UserRow
from carepilot.audit import service as audit
from carepilot.db.base import utcnow
from carepilot.programmes.model import FormInvalid

SESSION_LIFETIME = timedelta(hours=8)
TOKEN_LIFETIME = timedelta(days=30)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def to_actor(row: UserRow) -> Actor:
    return Actor(
        id=row.id,
        email=row.email,
        name=row.name,
        role=Role(row.role),
        organisation_code=row.organisation_code,
        pct_code=row.pct_code,
        sha_code=row.sha_code,
    )


def create_user(
    session: Session,
    by: Actor,
    *,
    email: str,
    name: str,
    role: Role,
    password: str,
    organisation_code: str | None = None,
    pct_code: str | None = None,
    sha_code: str | None = None,
) -> Actor:
    """Create an account (audited); refuses weak passwords and duplicate emails."""
    email = email.strip().lower()
    problems = password_problems(password, email)
    if problems:
        raise FormInvalid({"password": problems[0]})
    if role == Role.PUBLIC:
        raise FormInvalid({"role": "Public users do not have accounts"})
    row = UserRow(
        email=email,
        name=name.strip(),
        role=role.value,
        password_hash=hash_password(password),
        organisation_code=organisation_code,
        pct_code=pct_code,
        sha_code=sha_code,
        is_active=True,
        created_at=utcnow(),
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise FormInvalid({"email": f"An account for {email} already exists"}) from exc
    audit.record(
        session,
        by,
        "user.create",
        "user",
        row.id,
        after={
            "email": email,
            "role": role.value,
            "pct_code": pct_code,
            "sha_code": sha_code,
        },
    )
    session.commit()
    return to_actor(row)


@dataclass(frozen=True, slots=True)
class LoginResult:
    actor: Actor | None
    session_id: str | None = None
    csrf_token: str | None = None
    locked_until: datetime | None = None


def _failures(
    session: Session, column: object, value: str, since: datetime
) -> list[datetime]:
    q = select(LoginAttemptRow.at).where(
        column == value,  # type: ignore[operator]
        LoginAttemptRow.succeeded.is_(False),
        LoginAttemptRow.at > since,
    )
    return list(session.scalars(q))


def login(
    session: Session,
    email: str,
    password: str,
    ip: str,
    policy: ThrottlePolicy = ThrottlePolicy(),
) -> LoginResult:
    """Check a password, applying per-account and per-IP lockout, and open a session."""
    email = email.strip().lower()
    now = utcnow()
    since = now - policy.window
    lock = max(
        (
            t
            for t in (
                locked_until(
                    _failures(session, LoginAttemptRow.email, email, since), now, policy
                ),
                locked_until(
                    _failures(session, LoginAttemptRow.ip, ip, since),
                    now,
                    policy.for_ip(),
                ),
            )
            if t is not None
        ),
        default=None,
    )
    if lock is not None:
        return LoginResult(None, locked_until=lock)
    user = session.scalar(select(UserRow).where(UserRow.email == email))
    ok = verify_password(user.password_hash if user else None, password)
    ok = ok and user is not None and user.is_active
    session.add(LoginAttemptRow(email=email, ip=ip, at=now, succeeded=ok))
    if not ok or user is None:
        session.commit()
        return LoginResult(None)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    sid = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(
        SessionRow(
            id_hash=_digest(sid),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
            ip=ip,
        )
    )
    session.commit()
    return LoginResult(to_actor(user), sid, csrf)


@dataclass(frozen=True, slots=True)
class SessionInfo:
    actor: Actor
    csrf_token: str


def resolve_session(session: Session, session_id: str) -> SessionInfo | None:
    """The user behind a session cookie, or None if unknown, expired or inactive."""
    row = session.get(SessionRow, _digest(session_id))
    if row is None or row.expires_at <= utcnow():
        return None
    user = session.get(UserRow, row.user_id)
    if user is None or not user.is_active:
        return None
    return SessionInfo(to_actor(user), row.csrf_token)


def logout(session: Session, session_id: str) -> None:
    """Delete the server-side session, so the cookie is worthless even if kept."""
    session.execute(delete(SessionRow).where(SessionRow.id_hash == _digest(session_id)))
    session.execute(delete(SessionRow).where(SessionRow.expires_at <= utcnow()))
    session.commit()


def create_api_token(session: Session, actor: Actor, name: str) -> str:
    """Issue a bearer token for the API; the plain value is shown once."""
    token = "cp_" + secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        ApiTokenRow(
            token_hash=_digest(token),
            user_id=actor.id,
            name=name[:100] or "api",
            created_at=now,
            expires_at=now + TOKEN_LIFETIME,
        )
    )
    audit.record(session, actor, "token.create", "user", actor.id, after={"name": name})
    session.commit()
    return token


def resolve_token(session: Session, token: str) -> Actor | None:
    row = session.scalar(
        select(ApiTokenRow).where(ApiTokenRow.token_hash == _digest(token))
    )
    if row is None or row.expires_at <= utcnow():
        return None
    user = session.get(UserRow, row.user_id)
    if user is None or not user.is_active:
        return None
    return to_actor(user)


def list_users(session: Session, role: Role | None = None) -> list[Actor]:
    q = select(UserRow).order_by(UserRow.name)
    if role is not None:
        q = q.where(UserRow.role == role.value)
    return [to_actor(r) for r in session.scalars(q)]


def get_user(session: Session, user_id: int) -> Actor | None:
    row = session.get(UserRow, user_id)
    return to_actor(row) if row else None
