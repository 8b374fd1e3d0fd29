"""The last active admin cannot be removed, even by the system actor (CLI)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from carepilot.accounts import admin, service
from carepilot.accounts.model import SYSTEM_ACTOR, Role
from carepilot.db import migrate
from carepilot.db.session import make_engine, make_session_factory
from carepilot.programmes.model import FormInvalid, NotFound

PASSWORD = "A-longer-passphrase-2026"


@pytest.fixture
def session(tmp_path) -> Iterator[Session]:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'wf.sqlite'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        yield s
    engine.dispose()


def test_only_admin_cannot_be_demoted_or_deactivated(session: Session) -> None:
    only = service.create_user(
        session,
        SYSTEM_ACTOR,
        email="first.admin@x.nhs",
        name="A",
        role=Role.ADMIN,
        password=PASSWORD,
    )
    with pytest.raises(FormInvalid, match="role"):
        admin.update_account(
            session,
            SYSTEM_ACTOR,
            only.id,
            name="A",
            role=Role.ASSESSOR,
            organisation_code=None,
            pct_code=None,
            sha_code=None,
        )
    with pytest.raises(FormInvalid, match="active"):
        admin.set_active(session, SYSTEM_ACTOR, only.id, False)
    second = service.create_user(
        session,
        SYSTEM_ACTOR,
        email="second.admin@x.nhs",
        name="B",
        role=Role.ADMIN,
        password=PASSWORD,
    )
    admin.set_active(session, SYSTEM_ACTOR, only.id, False)
    with pytest.raises(FormInvalid):
        admin.set_active(session, SYSTEM_ACTOR, second.id, False)
    assert [a.is_active for a in admin.list_accounts(session)] == [True, False]


def test_scope_rules() -> None:
    assert admin.scope_errors(Role.COMMISSIONER, None, None, None) == {
        "pct_code": "A commissioner account needs the PCT code it acts for"
    }
    assert admin.scope_errors(Role.STEERING, None, None, "Q30") == {}
    assert "organisation_code" in admin.scope_errors(Role.BIDDER, "y-1", None, None)
    assert admin.scope_errors(Role.ADMIN, None, None, None) == {}


def test_unknown_user(session: Session) -> None:
    with pytest.raises(NotFound):
        admin.get_account(session, 999)
