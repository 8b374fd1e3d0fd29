"""DuckDB storage of the data model: one table per data-model table, exact names.

This is the storage contract the indicator engine relies on: every table of
`carepilot.schema.TABLES` exists (empty if never supplied), with its columns in
schema order and DuckDB types BIGINT / DOUBLE / VARCHAR / DATE / BOOLEAN. No
constraints are declared: loading validates keys and references itself (vectorised,
with row-level messages) and DuckDB index maintenance would slow bulk loads.
"""

from __future__ import annotations

import duckdb

from carepilot.schema import TABLES, ColumnType, Table

DUCKDB_TYPES: dict[ColumnType, str] = {
    ColumnType.INT: "BIGINT",
    ColumnType.FLOAT: "DOUBLE",
    ColumnType.STR: "VARCHAR",
    ColumnType.DATE: "DATE",
    ColumnType.BOOL: "BOOLEAN",
}

LOADS_TABLE = "_carepilot_loads"
"""One row per successful load: when, from where, mode, checksums and row counts."""

LOAD_FILES_TABLE = "_carepilot_load_files"
"""One row per file of each load (the same facts as `_carepilot_loads.files`, as rows)."""


def quote(identifier: str) -> str:
    """Quote a SQL identifier for DuckDB."""
    return '"' + identifier.replace('"', '""') + '"'


def create_table_sql(table: Table) -> str:
    """Return the CREATE TABLE statement of one data-model table."""
    columns = ", ".join(
        f"{quote(c.name)} {DUCKDB_TYPES[c.type]}" for c in table.columns
    )
    return f"CREATE TABLE IF NOT EXISTS {quote(table.name)} ({columns})"


def create_all(conn: duckdb.DuckDBPyConnection) -> None:
    """Create every data-model table and the load-log tables if they are missing."""
    for table in TABLES.values():
        conn.execute(create_table_sql(table))
    conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {LOADS_TABLE} (
            load_id BIGINT,
            loaded_at_utc TIMESTAMP,
            source_dir VARCHAR,
            mode VARCHAR,
            files VARCHAR,
            row_counts VARCHAR,
            total_rows BIGINT,
            duration_seconds DOUBLE,
            carepilot_version VARCHAR
        )"""
    )
    conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {LOAD_FILES_TABLE} (
            load_id BIGINT,
            file_name VARCHAR,
            table_name VARCHAR,
            format VARCHAR,
            sha256 VARCHAR,
            size_bytes BIGINT,
            row_count BIGINT
        )"""
    )


def existing_tables(conn: duckdb.DuckDBPyConnection) -> set[str]:
    """Names of the base tables in the main schema."""
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_type = 'BASE TABLE'"
    ).fetchall()
    return {str(r[0]) for r in rows}


def data_row_counts(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row count of every data-model table present in the database."""
    present = existing_tables(conn)
    counts: dict[str, int] = {}
    for name in TABLES:
        if name in present:
            row = conn.execute(f"SELECT count(*) FROM {quote(name)}").fetchone()
            counts[name] = int(row[0]) if row else 0
    return counts


def contract_mismatches(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Data-model tables whose stored columns differ from the schema (name, order, type).

    A database written by an older carepilot may lack columns added since; appending
    to it would fail half-way, so loading checks this first.
    """
    problems: list[str] = []
    present = existing_tables(conn)
    for table in TABLES.values():
        if table.name not in present:
            continue
        stored = [
            (str(r[0]), str(r[1]))
            for r in conn.execute(f"DESCRIBE {quote(table.name)}").fetchall()
        ]
        expected = [(c.name, DUCKDB_TYPES[c.type]) for c in table.columns]
        if stored != expected:
            problems.append(
                f"`{table.name}` has columns "
                + ", ".join(f"{n} {t}" for n, t in stored)
                + "; expected "
                + ", ".join(f"{n} {t}" for n, t in expected)
            )
    return problems
