"""Turn one input file into a SQL relation with raw and typed columns.

Every later check and the final insert read the same relation, so a value is
parsed exactly one way. CSV files are staged as all-VARCHAR (so that a bad cell is
reported with its text, not lost) in a DuckDB temporary table whose `rowid`
gives the file order; malformed lines (ragged, unterminated quotes) are captured
by DuckDB's rejects table with their line numbers. Parquet files are read in
place (`read_parquet(..., file_row_number = true)`); columns whose Parquet type
widens safely to the data-model type are cast, string columns are parsed like
CSV, and any other type is reported once for the whole column.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb

from carepilot.ingest.files import DataFile, FileFormat
from carepilot.ingest.problems import Problem, ProblemKind
from carepilot.schema import Column, ColumnType, Table
from carepilot.store.tables import DUCKDB_TYPES, quote

TYPE_EXPECTATIONS: dict[ColumnType, str] = {
    ColumnType.INT: "a whole number such as 42",
    ColumnType.FLOAT: "a finite number such as 3.5",
    ColumnType.STR: "text",
    ColumnType.DATE: "an ISO date YYYY-MM-DD such as 2021-04-01",
    ColumnType.BOOL: "T or F (also true/false or 1/0)",
}

_INTEGER_TYPES = frozenset(
    {
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "UHUGEINT",
    }
)
_FLOAT_TYPES = frozenset({"FLOAT", "DOUBLE"})
_TIMESTAMP_PREFIX = "TIMESTAMP"
_counter = itertools.count()


@dataclass(frozen=True, slots=True)
class ColumnSource:
    """How one data-model column is read from a file.

    Attributes:
        column: the data-model column.
        raw_sql: expression giving the value as supplied (None when absent).
        typed_sql: expression giving the value in its DuckDB type (the default
            when the column is absent; NULL when the value does not parse).
        bad_type_sql: predicate true when a supplied value does not parse, or
            None when the column cannot have type errors.
    """

    column: Column
    raw_sql: str | None
    typed_sql: str
    bad_type_sql: str | None


@dataclass
class Source:
    """One file as a relation, ready for checks and insertion.

    Attributes:
        data_file: the file.
        table: its data-model table.
        relation_sql: a FROM-clause relation with column `_cp_idx` (0-based index
            in file order) and the file's columns.
        columns: one `ColumnSource` per data-model column, in schema order.
        rejected_lines: CSV lines DuckDB rejected (1-based, sorted), which are
            not in the relation.
        warnings: extra columns ignored, optional columns defaulted.
        problems: file-level problems (missing columns, malformed lines, types).
        stage_table: the temporary table holding a staged CSV, or None.
    """

    data_file: DataFile
    table: Table
    relation_sql: str
    columns: list[ColumnSource]
    rejected_lines: list[int] = field(default_factory=list[int])
    warnings: list[str] = field(default_factory=list[str])
    problems: list[tuple[Problem, int]] = field(
        default_factory=list[tuple[Problem, int]]
    )
    stage_table: str | None = None

    def user_row(self, index: int) -> int:
        """Row number the user sees in the file for the 0-based index `index`.

        CSV: the line number (header is line 1), skipping rejected lines, which
        are not in the relation. Parquet: 1-based row number.
        """
        if self.data_file.format is FileFormat.PARQUET:
            return index + 1
        line = index + 2
        start = bisect.bisect_left(self.rejected_lines, 2)
        for rejected in self.rejected_lines[start:]:
            if rejected <= line:
                line += 1
            else:
                break
        return line

    def column_source(self, name: str) -> ColumnSource:
        return next(c for c in self.columns if c.column.name == name)


def sql_literal(value: object) -> str:
    """Render a Python scalar as a SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _default_sql(column: Column) -> str:
    return f"CAST({sql_literal(column.default)} AS {DUCKDB_TYPES[column.type]})"


def _parse_varchar(column: Column, raw: str) -> tuple[str, str | None]:
    """Typed expression and bad-type predicate for a VARCHAR value `raw`."""
    match column.type:
        case ColumnType.STR:
            return raw, None
        case ColumnType.INT:
            typed = (
                f"CASE WHEN regexp_full_match({raw}, '\\s*[+-]?[0-9]+\\s*') "
                f"THEN TRY_CAST({raw} AS BIGINT) END"
            )
        case ColumnType.FLOAT:
            typed = (
                f"CASE WHEN isfinite(TRY_CAST({raw} AS DOUBLE)) "
                f"THEN TRY_CAST({raw} AS DOUBLE) END"
            )
        case ColumnType.DATE:
            typed = (
                f"CASE WHEN regexp_full_match({raw}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') "
                f"THEN TRY_CAST({raw} AS DATE) END"
            )
        case ColumnType.BOOL:
            typed = (
                f"CASE upper(trim({raw})) WHEN 'T' THEN TRUE WHEN 'TRUE' THEN TRUE "
                "WHEN '1' THEN TRUE WHEN 'F' THEN FALSE WHEN 'FALSE' THEN FALSE "
                "WHEN '0' THEN FALSE END"
            )
    return typed, f"({raw} IS NOT NULL AND ({typed}) IS NULL)"


def _from_native(
    column: Column, raw: str, source_type: str
) -> tuple[str, str | None] | None:
    """Typed expression for a Parquet column of `source_type`, or None if incompatible."""
    target = DUCKDB_TYPES[column.type]
    base = source_type.split("(")[0]
    if source_type == "VARCHAR":
        # Parquet writers keep empty strings that CSV readers turn into NULL.
        return _parse_varchar(column, f"NULLIF({raw}, '')")
    if source_type == '"NULL"':  # an all-null column (e.g. inferred from empty CSV)
        return f"CAST(NULL AS {target})", None
    if source_type == target:
        return raw, None
    numeric = base in _INTEGER_TYPES or base in _FLOAT_TYPES or base == "DECIMAL"
    if column.type is ColumnType.INT and base in _INTEGER_TYPES:
        typed = f"TRY_CAST({raw} AS BIGINT)"
    elif column.type is ColumnType.FLOAT and numeric:
        typed = f"CAST({raw} AS DOUBLE)"
    elif column.type is ColumnType.STR and base in _INTEGER_TYPES:
        typed = f"CAST({raw} AS VARCHAR)"
    elif column.type is ColumnType.DATE and base.startswith(_TIMESTAMP_PREFIX):
        typed = f"CASE WHEN CAST({raw} AS TIME) = TIME '00:00:00' THEN CAST({raw} AS DATE) END"
    else:
        return None
    return typed, f"({raw} IS NOT NULL AND ({typed}) IS NULL)"


def _column_warnings(
    data_file: DataFile, table: Table, present: Sequence[str]
) -> tuple[list[str], list[Problem]]:
    warnings: list[str] = []
    problems: list[Problem] = []
    extra = [name for name in present if not table.has_column(name)]
    if extra:
        warnings.append(
            f"{data_file.name}: column(s) not in the data model ignored: "
            + ", ".join(f"`{n}`" for n in extra)
        )
    missing = [c for c in table.columns if c.name not in present]
    for column in missing:
        if column.required:
            problems.append(
                Problem(
                    ProblemKind.MISSING_COLUMN,
                    data_file.name,
                    None,
                    column.name,
                    None,
                    f"a `{column.name}` column ({column.description.rstrip('.')}); "
                    f"columns present: {', '.join(present) or 'none'}",
                )
            )
    optional = [c for c in missing if not c.required]
    if optional:
        warnings.append(
            f"{data_file.name}: optional column(s) absent, filled with their default: "
            + ", ".join(
                f"`{c.name}` = {'empty' if c.default is None else repr(c.default)}"
                for c in optional
            )
        )
    return warnings, problems


def stage_csv(
    conn: duckdb.DuckDBPyConnection,
    data_file: DataFile,
    table: Table,
    header: list[str],
) -> Source:
    """Stage a CSV file as an all-VARCHAR temporary table and describe its columns."""
    n = next(_counter)
    stage = f"_cp_stage_{n}"
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        problem = Problem(
            ProblemKind.DUPLICATE_COLUMN,
            data_file.name,
            1,
            duplicates[0],
            None,
            "each column name once in the header; found "
            + ", ".join(f"`{d}`" for d in duplicates)
            + " more than once",
        )
        return Source(data_file, table, "", [], problems=[(problem, 1)])
    warnings, missing = _column_warnings(data_file, table, header)
    names = [
        h if table.has_column(h) else f"_cp_extra_{i}" for i, h in enumerate(header)
    ]
    columns_arg = "{" + ", ".join(f"{sql_literal(x)}: 'VARCHAR'" for x in names) + "}"
    keep = ", ".join(quote(h) for h in names if table.has_column(h))
    conn.execute(
        f"""CREATE TEMP TABLE {stage} AS SELECT {keep} FROM read_csv(
            {sql_literal(str(data_file.path))}, header = true, auto_detect = false,
            columns = {columns_arg}, delim = ',', quote = '"', escape = '"',
            null_padding = false, store_rejects = true,
            rejects_table = '_cp_rejects_{n}', rejects_scan = '_cp_scans_{n}')"""
    )
    source = Source(
        data_file,
        table,
        f"(SELECT rowid AS _cp_idx, * FROM {stage})",
        [],
        warnings=warnings,
        problems=[(p, 1) for p in missing],
        stage_table=stage,
    )
    _collect_rejects(conn, source, f"_cp_rejects_{n}", len(header))
    for column in table.columns:
        if column.name in header:
            raw = quote(column.name)
            typed, bad = _parse_varchar(column, raw)
            source.columns.append(ColumnSource(column, raw, typed, bad))
        else:
            source.columns.append(
                ColumnSource(column, None, _default_sql(column), None)
            )
    return source


def _collect_rejects(
    conn: duckdb.DuckDBPyConnection, source: Source, rejects: str, n_fields: int
) -> None:
    rows = conn.execute(
        f"SELECT line, error_type::VARCHAR, any_value(csv_line), "
        f"any_value(error_message) FROM {rejects} GROUP BY ALL ORDER BY line"
    ).fetchall()
    source.rejected_lines = sorted({int(r[0]) for r in rows})
    for line, error_type, csv_line, message in rows:
        expected = {
            "MISSING COLUMNS": f"{n_fields} comma-separated fields as in the header "
            "(line too short: truncated file or missing commas?)",
            "TOO MANY COLUMNS": f"{n_fields} comma-separated fields as in the header "
            "(too many: quote values that contain commas)",
            "UNQUOTED VALUE": 'a closing double quote (") for a quoted value '
            "(truncated file or stray quote?)",
            "INVALID ENCODING": "UTF-8 text",
        }.get(str(error_type), f"a well-formed CSV line ({message})")
        problem = Problem(
            ProblemKind.STRUCTURE,
            source.data_file.name,
            int(line),
            None,
            str(csv_line).rstrip("\r\n"),
            expected,
        )
        source.problems.append((problem, 1))


def parquet_source(
    conn: duckdb.DuckDBPyConnection, data_file: DataFile, table: Table
) -> Source:
    """Describe a Parquet file read in place, checking column types against the model."""
    path = sql_literal(str(data_file.path))
    try:
        described = conn.execute(
            f"DESCRIBE SELECT * FROM read_parquet({path})"
        ).fetchall()
    except duckdb.Error as exc:
        problem = Problem(
            ProblemKind.UNREADABLE,
            data_file.name,
            None,
            None,
            None,
            f"a readable Parquet file; DuckDB says: {str(exc).splitlines()[0]}",
        )
        return Source(data_file, table, "", [], problems=[(problem, 1)])
    types = {str(r[0]): str(r[1]) for r in described}
    warnings, missing = _column_warnings(data_file, table, list(types))
    source = Source(
        data_file,
        table,
        f"(SELECT file_row_number AS _cp_idx, * FROM read_parquet({path}, file_row_number = true))",
        [],
        warnings=warnings,
        problems=[(p, 1) for p in missing],
    )
    for column in table.columns:
        if column.name not in types:
            source.columns.append(
                ColumnSource(column, None, _default_sql(column), None)
            )
            continue
        raw = quote(column.name)
        parsed = _from_native(column, raw, types[column.name])
        if parsed is None:
            problem = Problem(
                ProblemKind.FILE_TYPE,
                data_file.name,
                None,
                column.name,
                None,
                f"Parquet type {DUCKDB_TYPES[column.type]} "
                f"({TYPE_EXPECTATIONS[column.type]}) or strings that parse as such, "
                f"but the file has type {types[column.name]}",
            )
            source.problems.append((problem, 1))
            source.columns.append(
                ColumnSource(
                    column, None, f"CAST(NULL AS {DUCKDB_TYPES[column.type]})", None
                )
            )
            continue
        typed, bad = parsed
        if types[column.name] == "VARCHAR":
            raw = f"NULLIF({raw}, '')"
        source.columns.append(ColumnSource(column, raw, typed, bad))
    return source
