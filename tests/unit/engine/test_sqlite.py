"""The engine's SQLite connection keeps deep Ibis queries within SQLite's parser stack."""

from __future__ import annotations

import sqlite3

import ibis
import pytest

from carepilot.engine.sqlite import connect_sqlite, flatten_subqueries


def _deep(t: ibis.Table, depth: int) -> ibis.Table:
    """One join and one derived column per step, as the compiler builds features."""
    for i in range(depth):
        side = ibis.memtable({"k": [1, 2, 3], f"v{i}": [i, i, i]})
        t = t.left_join(side, "k").select("k", x=t.x + side[f"v{i}"])
        t = t.filter(t.x >= 0)
    return t


def test_deep_query_overflows_plain_sqlite_but_runs_flattened() -> None:
    data = {"k": [1, 2, 3], "x": [1, 1, 1]}
    plain = ibis.sqlite.connect()
    flat = connect_sqlite()
    if sqlite3.sqlite_version_info < (3, 46):
        with pytest.raises(sqlite3.OperationalError, match="parser stack overflow"):
            plain.execute(_deep(ibis.memtable(data), 40))
    got = flat.execute(_deep(ibis.memtable(data), 40)).sort_values("k")
    expected = (
        ibis.duckdb.connect().execute(_deep(ibis.memtable(data), 40)).sort_values("k")
    )
    assert got["x"].tolist() == expected["x"].tolist()


def test_flatten_leaves_statements_that_are_not_queries_alone() -> None:
    sql = "CREATE TABLE t (a INTEGER)"
    assert flatten_subqueries(sql) == sql
    assert "WITH" in flatten_subqueries("SELECT a FROM (SELECT 1 AS a) AS s")
