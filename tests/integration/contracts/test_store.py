"""Migration 002 (contract tables): ORM parity, working downgrade, and the workflow
service's versions, party codes and audit events."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

import carepilot.contracts.tables  # noqa: F401 - register ORM tables
from carepilot.accounts.model import Actor, Role
from carepilot.audit import service as audit
from carepilot.contracts import workflow
from carepilot.db import migrate
from carepilot.db.base import Base
from carepilot.db.session import make_engine, make_session_factory
from carepilot.programmes.model import FormInvalid, NotFound
from tests.integration.contracts.conftest import TEST_CONTRACT

CONTRACT_TABLES = {
    "contracts",
    "contract_versions",
    "contract_parties",
    "contract_runs",
}


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'workflow.sqlite'}"
    migrate.upgrade(url)
    return url


def test_orm_matches_migration_002(db_url: str) -> None:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    mine = [d for d in diff if any(t in repr(d) for t in CONTRACT_TABLES)]
    assert mine == [], f"contract ORM tables and migration 002 differ: {mine}"


def test_downgrade_to_001_removes_only_the_contract_tables(db_url: str) -> None:
    migrate.downgrade(db_url, "001")
    engine = make_engine(db_url)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    assert not names & CONTRACT_TABLES and "bids" in names
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    assert CONTRACT_TABLES <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_versions_parties_and_audit(db_url: str) -> None:
    from carepilot.accounts import service as accounts
    from carepilot.accounts.model import SYSTEM_ACTOR

    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    with factory() as s:
        commissioner = accounts.create_user(
            s,
            SYSTEM_ACTOR,
            email="c@test.nhs",
            name="C",
            role=Role.COMMISSIONER,
            password="a long and unusual passphrase 7",
            pct_code="Q01",
        )
    with factory() as s:
        v1 = workflow.create_contract(s, commissioner, TEST_CONTRACT)
        assert v1.version == 1 and v1.provider_codes == {"RP001"}
        text2 = TEST_CONTRACT.replace("code: RP001", "code: RP002")
        v2 = workflow.update_contract(s, commissioner, v1.id, text2)
        assert v2.version == 2 and v2.provider_codes == {"RP002"}
        # saving the same text again makes no new version
        assert workflow.update_contract(s, commissioner, v1.id, text2).version == 2
        with pytest.raises(FormInvalid, match="already exists"):
            workflow.create_contract(s, commissioner, TEST_CONTRACT)
        old_provider = Actor(99, "p@x", "P", Role.BIDDER, organisation_code="RP001")
        with pytest.raises(NotFound):
            workflow.visible(s, old_provider, v1.id)
        events = [
            (e.action, e.before, e.after)
            for e in audit.recent(s, entity_type="contract")
        ]
        assert audit.verify(s).ok
    engine.dispose()
    actions = [a for a, _, _ in events]
    assert sorted(actions) == ["contract.create", "contract.update"]
    update = next(e for e in events if e[0] == "contract.update")
    assert update[1] is not None and update[1]["lead_provider"] == "RP001"
    assert update[2] is not None and update[2]["lead_provider"] == "RP002"
