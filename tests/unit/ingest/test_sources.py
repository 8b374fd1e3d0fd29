"""Parsing rules for text values (CSV, string Parquet columns), run in DuckDB."""

from __future__ import annotations

import duckdb
import pytest

from carepilot.ingest.sources import _parse_varchar, sql_literal
from carepilot.schema import Column, ColumnType


def _parse(type_: ColumnType, text: str | None) -> tuple[object, bool]:
    column = Column("c", type_, "test")
    typed, bad = _parse_varchar(column, "raw")
    sql = f"SELECT {typed}, {bad or 'FALSE'} FROM (SELECT CAST({sql_literal(text)} AS VARCHAR) AS raw)"
    row = duckdb.connect().execute(sql).fetchone()
    assert row is not None
    return row[0], bool(row[1])


@pytest.mark.parametrize(
    ("type_", "text", "value", "bad"),
    [
        (ColumnType.INT, "42", 42, False),
        (ColumnType.INT, " -7 ", -7, False),
        (ColumnType.INT, "1.5", None, True),  # DuckDB alone would round to 2
        (ColumnType.INT, "1e3", None, True),
        (ColumnType.INT, None, None, False),
        (ColumnType.FLOAT, "3.5", 3.5, False),
        (ColumnType.FLOAT, "nan", None, True),
        (ColumnType.FLOAT, "abc", None, True),
        (ColumnType.BOOL, "T", True, False),
        (ColumnType.BOOL, "F", False, False),
        (ColumnType.BOOL, "true", True, False),
        (ColumnType.BOOL, "yes", None, True),
        (ColumnType.STR, "x", "x", False),
    ],
)
def test_parse(type_: ColumnType, text: str | None, value: object, bad: bool) -> None:
    assert _parse(type_, text) == (value, bad)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("2021-04-01", True),
        ("2021-4-1", False),
        ("2021-02-30", False),
        ("01/04/2021", False),
    ],
)
def test_dates_must_be_strict_iso(text: str, ok: bool) -> None:
    value, bad = _parse(ColumnType.DATE, text)
    assert (value is not None) is ok and bad is not ok


def test_sql_literal_escapes_quotes() -> None:
    assert sql_literal("O'Neil") == "'O''Neil'"
    assert sql_literal(None) == "NULL" and sql_literal(True) == "TRUE"
