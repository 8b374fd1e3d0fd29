from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from carepilot.config import Settings
from carepilot.web import create_app
from tests.integration.db.servers import (  # noqa: F401 - fixtures
    postgres_server,
    sqlite_template,
    sqlite_workflow_db,
    workflow_db,
)
from tests.web.helpers import Users


def _app(url: str, tmp_path: Path) -> Iterator[FastAPI]:
    settings = Settings(
        environment="test", database_url=url, upload_dir=tmp_path / "uploads"
    )  # type: ignore[arg-type]
    app = create_app(settings)
    yield app
    app.state.engine.dispose()


@pytest.fixture
def app(workflow_db: str, tmp_path: Path) -> Iterator[FastAPI]:  # noqa: F811 - fixture imported in the conftest
    """The web app on a fresh database, once per backend (SQLite, PostgreSQL)."""
    yield from _app(workflow_db, tmp_path)


@pytest.fixture
def sqlite_app(sqlite_workflow_db: str, tmp_path: Path) -> Iterator[FastAPI]:  # noqa: F811 - fixture imported in the conftest
    yield from _app(sqlite_workflow_db, tmp_path)


@pytest.fixture
def users(app: FastAPI) -> Users:
    return Users(app)


@pytest.fixture
def sqlite_users(sqlite_app: FastAPI) -> Users:
    return Users(sqlite_app)
