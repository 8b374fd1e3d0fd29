"""Alembic migrations on SQLite and PostgreSQL: up, down, pinned head, ORM parity,
append-only tables, and the `carepilot db` commands."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

import carepilot.accounts.tables
import carepilot.audit.tables
import carepilot.contracts.tables
import carepilot.programmes.tables  # noqa: F401 - register ORM tables
from carepilot.db import migrate
from carepilot.db.base import Base
from carepilot.db.session import make_engine, normalise_url


def test_pinned_head_matches_the_migration_scripts() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    heads = script.get_heads()
    assert heads == [migrate.pinned_head()], (
        f"migrations/.head says {migrate.pinned_head()} but the scripts' head is {heads}; "
        "update src/carepilot/db/migrations/.head"
    )
    for rev in script.walk_revisions():
        assert rev.module.__file__ is not None and "/versions/" in rev.module.__file__
        source = open(rev.module.__file__, encoding="utf-8").read()
        assert "carepilot." not in source.replace("carepilot.db", ""), (
            "migrations must not import ORM models"
        )


def test_upgrade_downgrade_upgrade(workflow_db: str) -> None:
    migrate.downgrade(workflow_db, "base")
    engine = make_engine(workflow_db)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    migrate.upgrade(workflow_db)
    engine = make_engine(workflow_db)
    assert {"bids", "audit_events", "risks"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_orm_models_match_the_migrated_schema(workflow_db: str) -> None:
    engine = create_engine(normalise_url(workflow_db))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], f"ORM and migrations differ; add a migration: {diff}"


@pytest.mark.parametrize("table", ["audit_events", "bid_versions"])
def test_append_only_tables_refuse_update_and_delete(
    workflow_db: str, table: str
) -> None:
    engine = make_engine(workflow_db)
    with engine.begin() as conn:
        count = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
    if table == "audit_events":
        assert count and count > 0  # the seeded users were audited
        for sql in (f"UPDATE {table} SET action = 'x'", f"DELETE FROM {table}"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(sql))
    engine.dispose()


def test_db_commands(sqlite_workflow_db: str) -> None:
    from carepilot.cli.db import db_app

    runner = CliRunner()
    ok = runner.invoke(db_app, ["verify-audit", "--database-url", sqlite_workflow_db])
    assert ok.exit_code == 0 and "audit chain OK" in ok.output
    seeded = runner.invoke(db_app, ["seed-demo", "--database-url", sqlite_workflow_db])
    assert seeded.exit_code == 0, seeded.output
    assert (
        "admin@demo.carepilot.test" in seeded.output
        and "Integrated-care-2026" in seeded.output
    )
    again = runner.invoke(db_app, ["seed-demo", "--database-url", sqlite_workflow_db])
    assert again.exit_code == 0  # idempotent

    # tamper with the log behind the trigger's back: verify-audit must notice
    engine = make_engine(sqlite_workflow_db)
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER trg_audit_events_no_update"))
        conn.execute(
            text("UPDATE audit_events SET actor_email = 'mallory' WHERE id = 2")
        )
    engine.dispose()
    broken = runner.invoke(
        db_app, ["verify-audit", "--database-url", sqlite_workflow_db]
    )
    assert broken.exit_code == 1 and "event 2" in broken.output
