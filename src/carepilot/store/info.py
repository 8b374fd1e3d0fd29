"""Describe what an analytics database holds: row counts, date ranges, load history.

Counts here describe the *database* (an operator's view for checking a load),
not released statistics: `carepilot info` is classified as no-aggregate-output
for disclosure control, like `ls -l` on the file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from carepilot.schema import TABLES, ColumnType
from carepilot.store.connection import open_database
from carepilot.store.tables import LOADS_TABLE, existing_tables, quote


@dataclass(frozen=True, slots=True)
class TableInfo:
    """One data-model table: rows and the range of its main date column."""

    name: str
    rows: int
    date_column: str | None
    first_date: dt.date | None
    last_date: dt.date | None


@dataclass(frozen=True, slots=True)
class LoadRecord:
    """One row of the load log."""

    load_id: int
    loaded_at_utc: dt.datetime
    source_dir: str
    mode: str
    total_rows: int
    n_files: int
    seconds: float


@dataclass
class DatabaseInfo:
    """Summary of an analytics database."""

    path: Path
    size_bytes: int
    tables: list[TableInfo] = field(default_factory=list[TableInfo])
    loads: list[LoadRecord] = field(default_factory=list[LoadRecord])
    n_patients: int = 0
    n_practices: int = 0
    missing_tables: list[str] = field(default_factory=list[str])


def database_info(path: Path | str) -> DatabaseInfo:
    """Read row counts, date ranges, patient/practice numbers and load history.

    Raises:
        ConfigError: the database does not exist or cannot be opened.
    """
    path = Path(path)
    conn = open_database(path, read_only=True)
    try:
        info = DatabaseInfo(path, path.stat().st_size)
        present = existing_tables(conn)
        for table in TABLES.values():
            if table.name not in present:
                info.missing_tables.append(table.name)
                continue
            dates = table.columns_of_type(ColumnType.DATE)
            date_col = dates[0] if dates else None
            if date_col:
                sql = (
                    f"SELECT count(*), min({quote(date_col)}), max({quote(date_col)}) "
                    f"FROM {quote(table.name)}"
                )
            else:
                sql = f"SELECT count(*), NULL, NULL FROM {quote(table.name)}"
            row = conn.execute(sql).fetchone()
            assert row is not None
            info.tables.append(
                TableInfo(table.name, int(row[0]), date_col, row[1], row[2])
            )
        counts = {t.name: t.rows for t in info.tables}
        info.n_patients = counts.get("patients", 0)
        info.n_practices = counts.get("practices", 0)
        if info.n_practices == 0 and "practice_registrations" in present:
            row = conn.execute(
                "SELECT count(DISTINCT practice_pseudo_id) FROM practice_registrations"
            ).fetchone()
            info.n_practices = int(row[0]) if row else 0
        if LOADS_TABLE in present:
            rows = conn.execute(
                f"SELECT load_id, loaded_at_utc, source_dir, mode, total_rows, "
                f"json_array_length(files), duration_seconds FROM {LOADS_TABLE} "
                "ORDER BY load_id"
            ).fetchall()
            info.loads = [
                LoadRecord(
                    int(r[0]),
                    r[1],
                    str(r[2]),
                    str(r[3]),
                    int(r[4]),
                    int(r[5]),
                    float(r[6]),
                )
                for r in rows
            ]
        return info
    finally:
        conn.close()
