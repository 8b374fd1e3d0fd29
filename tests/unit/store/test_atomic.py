"""AtomicDatabaseFile: commit swaps the file in; anything else leaves it alone."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from carepilot.errors import ConfigError
from carepilot.store.atomic import AtomicDatabaseFile


def _make_db(path: Path, value: int) -> None:
    conn = duckdb.connect(str(path))
    conn.execute(f"CREATE OR REPLACE TABLE t AS SELECT {value} AS x")
    conn.close()


def _value(path: Path) -> int:
    conn = duckdb.connect(str(path), read_only=True)
    row = conn.execute("SELECT x FROM t").fetchone()
    conn.close()
    assert row is not None
    return int(row[0])


def test_commit_replaces_target(tmp_path: Path) -> None:
    target = tmp_path / "a.duckdb"
    _make_db(target, 1)
    with AtomicDatabaseFile(target, copy_existing=True) as work:
        assert _value(work.path) == 1
        _make_db(work.path, 2)
        work.commit()
    assert _value(target) == 2
    assert not work.path.exists()


def test_exception_leaves_target_and_removes_temporary(tmp_path: Path) -> None:
    target = tmp_path / "a.duckdb"
    _make_db(target, 1)
    before = target.read_bytes()
    with (
        pytest.raises(RuntimeError),
        AtomicDatabaseFile(target, copy_existing=True) as work,
    ):
        _make_db(work.path, 2)
        raise RuntimeError("validation failed")
    assert target.read_bytes() == before
    assert not work.path.exists()


def test_no_commit_means_no_change(tmp_path: Path) -> None:
    target = tmp_path / "new.duckdb"
    with AtomicDatabaseFile(target, copy_existing=False) as work:
        _make_db(work.path, 3)
    assert not target.exists()


def test_second_concurrent_load_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "a.duckdb"
    with AtomicDatabaseFile(target, copy_existing=False):
        with pytest.raises(ConfigError, match="another load"):
            AtomicDatabaseFile(target, copy_existing=False).__enter__()


def test_commit_refuses_open_connection(tmp_path: Path) -> None:
    target = tmp_path / "a.duckdb"
    with AtomicDatabaseFile(target, copy_existing=False) as work:
        conn = duckdb.connect(str(work.path))
        conn.execute("CREATE TABLE t AS SELECT 1 AS x")
        with pytest.raises(RuntimeError, match="close the connection"):
            work.commit()
        conn.close()
    assert not target.exists()
