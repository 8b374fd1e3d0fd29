"""Fixtures for loading tests: the hand-written good extract and a database holding it."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import pytest

from carepilot.ingest import load_extract

DATA = Path(__file__).resolve().parents[2] / "data"
GOOD = DATA / "good"
BAD = DATA / "bad"
TODAY = dt.date(2024, 6, 1)
"""Fixed load date, so 'not in the future' checks do not depend on the clock."""


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def good_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "good.duckdb"
    load_extract(GOOD, path, today=TODAY)
    return path


@pytest.fixture
def good_db(good_db_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of a database loaded with tests/data/good."""
    path = tmp_path / "analytics.duckdb"
    shutil.copyfile(good_db_template, path)
    return path
