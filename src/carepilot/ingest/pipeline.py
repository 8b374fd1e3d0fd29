"""Load an extract (a folder of CSV/Parquet files) into the analytics database.

The whole load happens in a temporary copy of the database (see
`carepilot.store.atomic`): files are read in load order (referenced tables first),
every file is validated against the data model with vectorised DuckDB SQL, rows
are inserted, and only if *no* problem was found anywhere is the load log written
and the temporary file swapped in. Any problem raises one `InputDataError`
listing them all; the database is then exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import duckdb

import carepilot
from carepilot.errors import ConfigError
from carepilot.ingest.checks import (
    Reference,
    build_bitmap,
    build_checks,
    check_primary_key,
    code_checks,
    coded_columns,
    invalid_codes,
    relation_sql,
    run_checks,
)
from carepilot.ingest.files import DataFile, FileFormat, ScanResult, discover, scan
from carepilot.ingest.problems import DEFAULT_MAX_ERRORS, ProblemKind, ProblemLog
from carepilot.ingest.sources import Source, parquet_source, stage_csv
from carepilot.schema import TABLES, ColumnType
from carepilot.store.atomic import AtomicDatabaseFile
from carepilot.store.tables import (
    LOAD_FILES_TABLE,
    LOADS_TABLE,
    contract_mismatches,
    create_all,
    data_row_counts,
    quote,
)

logger = logging.getLogger(__name__)

ALWAYS_CHECKED_REFERENCES = frozenset({"patients"})
"""Referenced tables whose absence is an error (an event needs a known patient).

References to organisation tables (practices, providers, ...) are checked only
when that table holds rows, so that an ehrQL-style extract without organisation
files loads as-is (with a warning).
"""


class LoadMode(StrEnum):
    """What to do with data already in the database."""

    NEW = "new"
    """The database is absent or empty (refuse if it holds data)."""
    REPLACE = "replace"
    """Swap all data-model tables for the extract's (load history is kept)."""
    APPEND = "append"
    """Add the extract's rows; primary keys already loaded are errors."""


@dataclass(frozen=True, slots=True)
class FileLoad:
    """One file that was loaded."""

    file_name: str
    table: str
    format: str
    sha256: str
    size_bytes: int
    rows: int


@dataclass
class LoadResult:
    """Outcome of a successful load."""

    db_path: Path
    source_dir: Path
    mode: LoadMode
    load_id: int
    files: list[FileLoad] = field(default_factory=list[FileLoad])
    warnings: list[str] = field(default_factory=list[str])
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(f.rows for f in self.files)


def load_extract(
    source_dir: Path | str,
    db_path: Path | str,
    mode: LoadMode | str = LoadMode.NEW,
    *,
    max_errors: int = DEFAULT_MAX_ERRORS,
    today: dt.date | None = None,
    origin: Path | str | None = None,
) -> LoadResult:
    """Validate every file of `source_dir` and load them all, or nothing.

    Args:
        source_dir: folder of `<table>.csv` / `<table>.parquet` files.
        db_path: the DuckDB analytics database (created if absent).
        mode: `new` (refuse if the database holds data), `replace` or `append`.
        max_errors: how many example problems the error message lists.
        today: the load date for "not in the future" checks (default: today).
        origin: what the load history records as the source (default:
            `source_dir`); a FHIR export converted to a scratch extract records
            the export's folder.

    Returns:
        What was loaded, with warnings (unknown files, ignored columns, defaults).

    Raises:
        InputDataError: any file violates the data model; lists the problems.
        ConfigError: the database holds data and no mode was chosen, or another
            load is running.
    """
    started = time.perf_counter()
    source_dir, db_path, mode = Path(source_dir), Path(db_path), LoadMode(mode)
    today = today or dt.date.today()
    files, warnings = discover(source_dir)
    existing = _existing_counts(db_path)
    if mode is LoadMode.NEW and any(existing.values()):
        raise ConfigError(
            f"{db_path} already holds data ({sum(existing.values())} rows); choose "
            "--replace to swap it for this extract or --append to add this extract "
            "to it."
        )
    log = ProblemLog(max_shown=max_errors)
    with AtomicDatabaseFile(db_path, copy_existing=db_path.exists()) as work:
        conn = duckdb.connect(str(work.path))
        try:
            conn.execute("SET enable_progress_bar = false")
            if mode is LoadMode.REPLACE:
                for name in TABLES:
                    conn.execute(f"DROP TABLE IF EXISTS {quote(name)}")
            create_all(conn)
            mismatches = contract_mismatches(conn)
            if mismatches:
                raise ConfigError(
                    f"{db_path} was written with a different data model: "
                    + "; ".join(mismatches)
                    + ". Reload everything with --replace."
                )
            loader = _Loader(conn, log, max_errors, today, warnings)
            loads = [loader.load_file(f) for f in files]
            if log:
                raise log.error(str(source_dir), warnings)
            seconds = time.perf_counter() - started
            recorded = Path(origin) if origin is not None else source_dir
            load_id = _record_load(conn, recorded, mode, loads, seconds)
            conn.execute("CHECKPOINT")
        finally:
            conn.close()
        work.commit()
    result = LoadResult(db_path, source_dir, mode, load_id, loads, warnings)
    result.seconds = time.perf_counter() - started
    logger.info(
        "loaded %d rows from %d files in %.1f s",
        result.total_rows,
        len(loads),
        result.seconds,
    )
    return result


def _existing_counts(db_path: Path) -> dict[str, int]:
    if not db_path.exists():
        return {}
    try:
        conn = duckdb.connect(str(db_path), read_only=True)
    except duckdb.Error as exc:
        raise ConfigError(
            f"{db_path} exists but cannot be opened as a DuckDB database ({exc}); "
            "check --db points at the analytics database."
        ) from exc
    try:
        return data_row_counts(conn)
    finally:
        conn.close()


class _Loader:
    """Validates and inserts files one by one into the temporary database."""

    def __init__(
        self,
        conn: duckdb.DuckDBPyConnection,
        log: ProblemLog,
        max_errors: int,
        today: dt.date,
        warnings: list[str],
    ) -> None:
        self.conn = conn
        self.log = log
        self.max_errors = max_errors
        self.today = today
        self.warnings = warnings
        self.unusable: set[str] = set()

    def load_file(self, data_file: DataFile) -> FileLoad:
        t0 = time.perf_counter()
        scanned = scan(data_file)
        rows = 0
        if scanned.problem is not None:
            self.log.add(scanned.problem)
            self.unusable.add(data_file.table)
        else:
            rows = self._load_validated(data_file, scanned)
        logger.info(
            "%s: %d rows in %.1f s", data_file.name, rows, time.perf_counter() - t0
        )
        return FileLoad(
            data_file.name,
            data_file.table,
            data_file.format.value,
            scanned.sha256,
            scanned.size,
            rows,
        )

    def _load_validated(self, data_file: DataFile, scanned: ScanResult) -> int:
        table = TABLES[data_file.table]
        if data_file.format is FileFormat.CSV:
            assert scanned.header is not None
            source = stage_csv(self.conn, data_file, table, scanned.header)
        else:
            source = parquet_source(self.conn, data_file, table)
        self.warnings.extend(source.warnings)
        for problem, count in source.problems:
            self.log.add(problem, count)
        if not source.columns:
            self.unusable.add(table.name)
            return 0
        if any(p.kind is ProblemKind.MISSING_COLUMN for p, _ in source.problems):
            # Still check the other columns, but do not check references to a
            # table whose keys may be missing: that would flag every row.
            self.unusable.add(table.name)
        references = self._references(source)
        relation = relation_sql(source, references)
        checks = build_checks(source, references, self.today)
        existing = self._count(table.name)
        coded = coded_columns(source)
        rows, distinct = run_checks(
            self.conn, source, relation, checks, self.log, self.max_errors, coded
        )
        bad_codes = invalid_codes(source, distinct)
        if bad_codes:
            # Rare (bad data only): one more scan to count and locate the rows.
            run_checks(
                self.conn,
                source,
                relation,
                code_checks(source, bad_codes),
                self.log,
                self.max_errors,
            )
        check_primary_key(
            self.conn, source, relation, existing, self.log, self.max_errors
        )
        typed = ", ".join(c.typed_sql for c in source.columns)
        self.conn.execute(
            f"INSERT INTO {quote(table.name)} SELECT {typed} FROM {source.relation_sql}"
        )
        if source.stage_table is not None:
            # The staged copy is no longer needed; free its memory now.
            self.conn.execute(f"DROP TABLE IF EXISTS {source.stage_table}")
        return rows

    def _count(self, table: str) -> int:
        row = self.conn.execute(f"SELECT count(*) FROM {quote(table)}").fetchone()
        return int(row[0]) if row else 0

    def _references(self, source: Source) -> list[Reference]:
        refs: list[Reference] = []
        for cs in source.columns:
            target = cs.column.references
            if target is None or cs.raw_sql is None:
                continue
            ref_table, ref_key = target.split(".")
            if ref_table in self.unusable:
                self.warnings.append(
                    f"{source.data_file.name}: `{cs.column.name}` not checked against "
                    f"`{ref_table}` because that file could not be read."
                )
                continue
            if (
                ref_table not in ALWAYS_CHECKED_REFERENCES
                and self._count(ref_table) == 0
            ):
                self.warnings.append(
                    f"{source.data_file.name}: `{cs.column.name}` not checked against "
                    f"`{ref_table}`, which holds no rows (supply {ref_table}.csv to "
                    "check it)."
                )
                continue
            bitmap = None
            if cs.column.type is ColumnType.INT:
                bitmap = build_bitmap(
                    self.conn, ref_table, ref_key, f"_cp_keys_{ref_table}_{ref_key}"
                )
            refs.append(Reference(cs.column.name, ref_table, ref_key, bitmap))
        return refs


def _record_load(
    conn: duckdb.DuckDBPyConnection,
    source_dir: Path,
    mode: LoadMode,
    loads: list[FileLoad],
    seconds: float,
) -> int:
    row = conn.execute(
        f"SELECT coalesce(max(load_id), 0) + 1 FROM {LOADS_TABLE}"
    ).fetchone()
    load_id = int(row[0]) if row else 1
    files = [
        {
            "file": f.file_name,
            "table": f.table,
            "format": f.format,
            "sha256": f.sha256,
            "size_bytes": f.size_bytes,
            "rows": f.rows,
        }
        for f in loads
    ]
    counts = data_row_counts(conn)
    conn.execute(
        f"INSERT INTO {LOADS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            load_id,
            dt.datetime.now(dt.UTC).replace(tzinfo=None),
            str(source_dir.resolve()),
            mode.value,
            json.dumps(files),
            json.dumps(counts),
            sum(f.rows for f in loads),
            seconds,
            carepilot.__version__,
        ],
    )
    conn.executemany(
        f"INSERT INTO {LOAD_FILES_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            [load_id, f.file_name, f.table, f.format, f.sha256, f.size_bytes, f.rows]
            for f in loads
        ],
    )
    return load_id
