"""Account administration: list, edit, deactivate, reset and change passwords.

Every change is audited (never with a password or its hash). Two guards keep a
programme administrable: an admin cannot deactivate or demote themselves, and the
last active admin cannot be removed. Deactivating an account or changing its
password ends its sessions and API tokens at once, so a leaver or a compromised
password stops working immediately rather than when the session expires.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from carepilot.accounts.model import Actor, Role
from carepilot.accounts.passwords import hash_password, verify_password
from carepilot.accounts.rules import password_problems
from carepilot.accounts.service import to_actor
from carepilot.accounts.tables import ApiTokenRow, SessionRow, UserRow
from carepilot.audit import service as audit
from carepilot.programmes.model import FormInvalid, NotFound

_ODS = re.compile(r"^[A-Z0-9]{3,6}$")

SCOPE_FIELDS: dict[Role, str] = {
    Role.COMMISSIONER: "pct_code",
    Role.STEERING: "sha_code",
    Role.BIDDER: "organisation_code",
}
"""The organisation code each scoped role acts for (required for that role)."""


@dataclass(frozen=True, slots=True)
class Account:
    """An account as the admin pages show it."""

    actor: Actor
    is_active: bool
    created_at: datetime


def _row(session: Session, user_id: int) -> UserRow:
    row = session.get(UserRow, user_id)
    if row is None:
        raise NotFound(f"there is no user {user_id}")
    return row


def _state(row: UserRow) -> dict[str, object]:
    return {
        "email": row.email,
        "name": row.name,
        "role": row.role,
        "organisation_code": row.organisation_code,
        "pct_code": row.pct_code,
        "sha_code": row.sha_code,
        "is_active": row.is_active,
    }


def list_accounts(session: Session, role: Role | None = None) -> list[Account]:
    """Every account (active first, then by name), optionally of one role."""
    q = select(UserRow).order_by(UserRow.is_active.desc(), UserRow.name)
    if role is not None:
        q = q.where(UserRow.role == role.value)
    return [Account(to_actor(r), r.is_active, r.created_at) for r in session.scalars(q)]


def get_account(session: Session, user_id: int) -> Account:
    row = _row(session, user_id)
    return Account(to_actor(row), row.is_active, row.created_at)


def scope_errors(
    role: Role,
    organisation_code: str | None,
    pct_code: str | None,
    sha_code: str | None,
) -> dict[str, str]:
    """Form errors for a role's organisation codes (empty when valid)."""
    errors: dict[str, str] = {}
    given = {
        "organisation_code": organisation_code,
        "pct_code": pct_code,
        "sha_code": sha_code,
    }
    for name, value in given.items():
        if value and not _ODS.match(value):
            errors[name] = "Enter an ODS code of 3 to 6 capital letters or digits"
    needed = SCOPE_FIELDS.get(role)
    if needed and not given[needed] and needed not in errors:
        label = {
            "pct_code": "PCT",
            "sha_code": "SHA",
            "organisation_code": "organisation",
        }
        errors[needed] = (
            f"A {role.value} account needs the {label[needed]} code it acts for"
        )
    if role == Role.PUBLIC:
        errors["role"] = "Public users do not have accounts"
    return errors


def _active_admins(session: Session) -> int:
    q = select(func.count()).where(
        UserRow.role == Role.ADMIN.value, UserRow.is_active.is_(True)
    )
    return int(session.scalar(q) or 0)


def _end_sessions(session: Session, user_id: int, keep: str | None = None) -> None:
    q = delete(SessionRow).where(SessionRow.user_id == user_id)
    if keep is not None:
        q = q.where(SessionRow.id_hash != keep)
    session.execute(q)
    session.execute(delete(ApiTokenRow).where(ApiTokenRow.user_id == user_id))


def update_account(
    session: Session,
    by: Actor,
    user_id: int,
    *,
    name: str,
    role: Role,
    organisation_code: str | None,
    pct_code: str | None,
    sha_code: str | None,
) -> Account:
    """Change an account's name, role and organisation codes (audited)."""
    row = _row(session, user_id)
    errors = scope_errors(role, organisation_code, pct_code, sha_code)
    if not name.strip():
        errors["name"] = "Enter the person's name"
    if row.id == by.id and role.value != row.role:
        errors["role"] = "You cannot change your own role; ask another admin"
    elif row.role == Role.ADMIN.value and role != Role.ADMIN and row.is_active:
        if _active_admins(session) <= 1:
            errors["role"] = (
                "This is the only active admin; make someone else admin first"
            )
    if errors:
        raise FormInvalid(errors)
    before = _state(row)
    row.name = name.strip()
    row.role = role.value
    row.organisation_code = organisation_code or None
    row.pct_code = pct_code or None
    row.sha_code = sha_code or None
    if before["role"] != row.role:
        _end_sessions(session, row.id)  # new role, new sign-in
    audit.record(session, by, "user.update", "user", row.id, before, _state(row))
    session.commit()
    return get_account(session, row.id)


def set_active(session: Session, by: Actor, user_id: int, active: bool) -> Account:
    """Deactivate (ending sessions and tokens) or reactivate an account."""
    row = _row(session, user_id)
    if not active:
        if row.id == by.id:
            raise FormInvalid({"active": "You cannot deactivate your own account"})
        if (
            row.role == Role.ADMIN.value
            and row.is_active
            and _active_admins(session) <= 1
        ):
            raise FormInvalid({"active": "This is the only active admin"})
    if row.is_active == active:
        return get_account(session, row.id)
    before = _state(row)
    row.is_active = active
    if not active:
        _end_sessions(session, row.id)
    action = "user.reactivate" if active else "user.deactivate"
    audit.record(session, by, action, "user", row.id, before, _state(row))
    session.commit()
    return get_account(session, row.id)


def reset_password(session: Session, by: Actor, user_id: int, password: str) -> None:
    """Set a new password for someone else; their sessions and tokens end."""
    row = _row(session, user_id)
    problems = password_problems(password, row.email)
    if problems:
        raise FormInvalid({"password": problems[0]})
    row.password_hash = hash_password(password)
    _end_sessions(session, row.id)
    audit.record(session, by, "user.password_reset", "user", row.id)
    session.commit()


def change_own_password(
    session: Session,
    actor: Actor,
    current: str,
    new: str,
    keep_session_id: str | None = None,
) -> None:
    """Change one's own password; other sessions and API tokens end.

    Args:
        keep_session_id: the session making the change, which stays signed in.
    """
    row = _row(session, actor.id)
    if not verify_password(row.password_hash, current):
        raise FormInvalid({"current": "Your current password is not right"})
    problems = password_problems(new, row.email)
    if new == current:
        problems.insert(0, "Choose a password different from your current one")
    if problems:
        raise FormInvalid({"new": problems[0]})
    row.password_hash = hash_password(new)
    keep = None
    if keep_session_id:
        keep = hashlib.sha256(keep_session_id.encode("utf-8")).hexdigest()
    _end_sessions(session, row.id, keep=keep)
    audit.record(session, actor, "user.password_change", "user", row.id)
    session.commit()
