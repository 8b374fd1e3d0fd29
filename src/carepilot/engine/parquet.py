"""Data-model tables read straight from Parquet (for Spark, or DuckDB without a load).

Layout: one entry per data-model table under a data directory, either a folder
`<data>/<table>/` of Parquet files (any depth, so Hive-style partitions such as
`year=2024/` work; files starting with `_` or `.` are ignored, as Spark does) or
a single file `<data>/<table>.parquet` (what `carepilot synth --format parquet`
writes). `carepilot synth --format parquet-partitioned` writes the folder layout.

Before any query runs, the Parquet footers of every file of a local table are
read (metadata only, no rows) and checked: every file must have the same columns
and types (Spark would otherwise take one file's schema and fail half-way through a
job with a JVM stack trace), required columns must be present and every column's
type must convert to the data model's. Then each table is conformed to the
canonical schema (cast, optional columns defaulted) as an Ibis expression, so the
engine sees exactly what it sees on a loaded DuckDB database.
"""

# Ibis's static types are coarser than its runtime API (see compile.py).
# pyright: reportArgumentType=false, reportCallIssue=false

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.parquet as pq

from carepilot.engine.tables import REQUIRED_TABLES, arrow_schema
from carepilot.errors import InputDataError
from carepilot.schema import TABLES, ColumnType, Table

_IBIS = {
    ColumnType.INT: "int64",
    ColumnType.FLOAT: "float64",
    ColumnType.STR: "string",
    ColumnType.DATE: "date",
    ColumnType.BOOL: "boolean",
}


class MissingTableData(InputDataError):
    """A table's Parquet data does not exist (fatal only for required tables)."""


@dataclass(frozen=True)
class TableSource:
    """Where one table's Parquet data is: the path given to the reader and, for
    local data, the files it consists of."""

    name: str
    path: str
    files: tuple[Path, ...]


def is_remote(data: str) -> bool:
    """True for URIs such as `s3a://...`, `hdfs://...` (not checked locally)."""
    return "://" in data and not data.startswith("file://")


def _local(data: str) -> Path:
    return Path(data.removeprefix("file://"))


def _parquet_files(folder: Path) -> list[Path]:
    """Data files under a table folder, skipping Spark/Hadoop marker files."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and not any(part.startswith(("_", ".")) for part in p.relative_to(folder).parts)
    )


def locate_tables(data: str) -> dict[str, TableSource]:
    """Find each data-model table's Parquet data under `data`.

    Remote URIs cannot be listed here; every table is then assumed to be a folder
    `<data>/<table>` and the reader reports the ones that do not exist.

    Raises:
        InputDataError: `data` is not a directory, or a required table is missing.
    """
    if is_remote(data):
        root = data.rstrip("/")
        return {n: TableSource(n, f"{root}/{n}", ()) for n in TABLES}
    folder = _local(data)
    if not folder.is_dir():
        raise InputDataError(
            f"--data {data}: not a directory; give the folder that holds one Parquet "
            "file or folder per data-model table (e.g. from `carepilot synth --format "
            "parquet-partitioned`)"
        )
    found: dict[str, TableSource] = {}
    for name in TABLES:
        as_dir, as_file = folder / name, folder / f"{name}.parquet"
        if as_dir.is_dir():
            files = _parquet_files(as_dir)
            if not files:
                raise InputDataError(
                    f"table `{name}`: folder {as_dir} holds no Parquet files"
                )
            found[name] = TableSource(name, str(as_dir), tuple(files))
        elif as_file.is_dir():
            found[name] = TableSource(
                name, str(as_file), tuple(_parquet_files(as_file))
            )
        elif as_file.is_file():
            found[name] = TableSource(name, str(as_file), (as_file,))
    missing = [t for t in REQUIRED_TABLES if t not in found]
    if missing:
        raise InputDataError(
            "no Parquet data for required table(s) "
            + ", ".join(
                f"`{t}` (expected {folder / t}/ or {folder / t}.parquet)"
                for t in missing
            )
        )
    return found


def _convertible(found: pa.DataType, expected: ColumnType) -> bool:
    if pa.types.is_dictionary(found):
        found = found.value_type
    if pa.types.is_null(found):
        return True
    if expected is ColumnType.INT:
        return pa.types.is_integer(found)
    if expected is ColumnType.FLOAT:
        return (
            pa.types.is_integer(found)
            or pa.types.is_floating(found)
            or pa.types.is_decimal(found)
        )
    if expected is ColumnType.STR:
        return pa.types.is_string(found) or pa.types.is_large_string(found)
    if expected is ColumnType.DATE:
        return pa.types.is_date(found) or pa.types.is_timestamp(found)
    return pa.types.is_boolean(found)


def check_schema(source: TableSource) -> pa.Schema:
    """Check the Parquet footers of every file of a local table.

    Returns:
        The (common) file schema.

    Raises:
        InputDataError: naming the file and column when files disagree with each
            other, a required column is missing, or a type cannot be converted.
    """
    table = TABLES[source.name]
    first: pa.Schema | None = None
    first_file: Path | None = None
    for path in source.files:
        try:
            schema = pq.read_schema(path)
        except (OSError, pa.ArrowInvalid) as exc:
            raise InputDataError(
                f"table `{source.name}`: {path} is not a readable Parquet file ({exc})"
            ) from None
        if first is None:
            first, first_file = schema, path
            _check_against_model(table, schema, path)
            continue
        _check_same(source.name, first, first_file, schema, path)
    assert first is not None
    return first


def _check_against_model(table: Table, schema: pa.Schema, path: Path) -> None:
    names = set(schema.names)
    for col in table.columns:
        if col.name not in names:
            if col.required:
                raise InputDataError(
                    f"table `{table.name}`: {path} has no column `{col.name}` "
                    "(required by the data model)"
                )
            continue
        found = schema.field(col.name).type
        if not _convertible(found, col.type):
            raise InputDataError(
                f"table `{table.name}`: {path} column `{col.name}` is {found}; "
                f"expected {col.type.value}"
            )


def _check_same(
    name: str, first: pa.Schema, first_file: Path | None, schema: pa.Schema, path: Path
) -> None:
    model = {c.name for c in TABLES[name].columns}
    a = {f.name: f.type for f in first if f.name in model}
    b = {f.name: f.type for f in schema if f.name in model}
    for col in sorted(set(a) | set(b)):
        if col not in b or col not in a:
            has, lacks = (first_file, path) if col in a else (path, first_file)
            raise InputDataError(
                f"table `{name}`: schema mismatch between partitions: {has} has column "
                f"`{col}` but {lacks} does not; every file of a table must have the "
                "same columns"
            )
        if a[col] != b[col]:
            raise InputDataError(
                f"table `{name}`: schema mismatch between partitions: column `{col}` "
                f"is {a[col]} in {first_file} but {b[col]} in {path}"
            )


def conform(name: str, raw: ir.Table) -> ir.Table:
    """The table in the data model's column order and types (extra columns, such
    as Hive partition keys, dropped; absent optional columns defaulted).

    Raises:
        InputDataError: a required column is missing (for data not checked locally).
    """
    table = TABLES[name]
    cols: dict[str, ir.Value] = {}
    for col in table.columns:
        typ = _IBIS[col.type]
        if col.name in raw.columns:
            cols[col.name] = raw[col.name].cast(typ)
        elif col.required:
            raise InputDataError(
                f"table `{name}`: the Parquet data has no column `{col.name}` "
                "(required by the data model)"
            )
        else:
            default = col.default if col.type is ColumnType.STR else None
            cols[col.name] = (
                ibis.literal(default, typ) if default is not None else ibis.null(typ)
            )
    return raw.select(**cols)


Reader = Callable[[TableSource], ir.Table]
"""Registers one table's Parquet data on a backend and returns it unconformed."""


def parquet_tables(
    data: str, read: Reader, empty: Callable[[pa.Table], ir.Table] | None = None
) -> dict[str, ir.Table]:
    """Every data-model table read from Parquet with `read`, checked and conformed.

    Tables without data are empty stand-ins (as on a database that lacks them).

    Args:
        data: the data directory (local path or URI).
        read: backend-specific reader.
        empty: makes an empty table on the backend (default `ibis.memtable`).
    """
    sources = locate_tables(data)
    make_empty = empty or ibis.memtable
    out: dict[str, ir.Table] = {}
    for name, table in TABLES.items():
        source = sources.get(name)
        if source is None:
            out[name] = make_empty(arrow_schema(table).empty_table())
            continue
        if source.files:
            check_schema(source)
        try:
            raw = read(source)
        except MissingTableData:
            if name in REQUIRED_TABLES:
                raise
            out[name] = make_empty(arrow_schema(table).empty_table())
            continue
        out[name] = conform(name, raw)
    return out


def duckdb_parquet_tables(con: object, data: str) -> dict[str, ir.Table]:
    """The tables read from Parquet by a DuckDB Ibis connection (no load step)."""

    def read(source: TableSource) -> ir.Table:
        paths = [str(p) for p in source.files] or [source.path]
        return con.read_parquet(paths, table_name=f"_parquet_{source.name}")  # type: ignore[attr-defined]

    return parquet_tables(data, read)


__all__ = [
    "MissingTableData",
    "TableSource",
    "check_schema",
    "conform",
    "duckdb_parquet_tables",
    "locate_tables",
    "parquet_tables",
]
