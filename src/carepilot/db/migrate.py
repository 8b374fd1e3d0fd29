"""Run Alembic migrations programmatically (used by `carepilot db` and the tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from carepilot.db.session import normalise_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
HEAD_FILE = MIGRATIONS_DIR / ".head"


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at the packaged migrations and the given database."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option(
        "sqlalchemy.url", normalise_url(database_url).replace("%", "%%")
    )
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database up to `revision` (default: the latest)."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Step the database down to `revision` (`base` removes every workflow table)."""
    command.downgrade(alembic_config(database_url), revision)


def pinned_head() -> str:
    """The revision id recorded in `migrations/.head` (checked against the scripts by a test)."""
    return HEAD_FILE.read_text(encoding="utf-8").strip()
