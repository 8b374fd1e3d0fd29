"""SQLite as a second Ibis backend for the engine.

SQLite is the engine's proof that the compiler is backend-neutral: the same
indicators run on DuckDB and SQLite and must give identical numbers. Ibis emits
one derived table (``FROM (SELECT ...)``) per compiled step, and SQLite builds
before 3.46 parse with a fixed-size stack (100 entries), so a long indicator
(event-level readmissions: windows relative to each discharge, exclusions and a
second feature) fails with "parser stack overflow" although the query is fine.

`connect_sqlite` returns an Ibis SQLite connection that rewrites each query's
derived tables as common table expressions (sqlglot's `eliminate_subqueries`)
before SQLite parses it: the same relational query, flat instead of nested, so
its depth no longer grows with the number of compiled steps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlglot
import sqlglot.expressions as sge
from ibis.backends.sqlite import Backend as _IbisSQLiteBackend
from sqlglot.expressions.core import Expression
from sqlglot.optimizer.eliminate_subqueries import eliminate_subqueries

__all__ = ["FlatSQLiteBackend", "connect_sqlite", "flatten_subqueries"]


def flatten_subqueries(sql: str) -> str:
    """Return ``sql`` with its derived tables hoisted into CTEs (same result set).

    Statements that are not queries (DDL, inserts) are returned unchanged.
    """
    tree = sqlglot.parse_one(sql, read="sqlite")
    if not isinstance(tree, sge.Query):
        return sql
    return eliminate_subqueries(tree).sql(dialect="sqlite")


class FlatSQLiteBackend(_IbisSQLiteBackend):
    """Ibis's SQLite backend with queries flattened before SQLite parses them."""

    def raw_sql(self, query: str | Expression, **kwargs: Any) -> Any:
        if not isinstance(query, str):
            query = query.sql(dialect=self.name)
        return super().raw_sql(flatten_subqueries(query), **kwargs)


def connect_sqlite(path: str | Path | None = None) -> FlatSQLiteBackend:
    """Connect to an in-memory (default) or file SQLite database for the engine."""
    backend = FlatSQLiteBackend()
    if path is None:
        backend.do_connect()
    else:
        backend.do_connect(str(path))
    return backend
