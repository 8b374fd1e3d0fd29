"""Data-model tables on an Ibis backend.

The engine reads the canonical tables (`carepilot.schema.TABLES`) by their exact
names. Optional tables a database lacks (e.g. no `ec` data yet) are replaced by
empty tables of the right schema so that definitions which use them still run
(and count zero events) instead of failing half-way through a run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
from ibis.backends import BaseBackend

from carepilot.errors import InputDataError
from carepilot.schema import TABLES, ColumnType, Table

_ARROW: dict[ColumnType, pa.DataType] = {
    ColumnType.INT: pa.int64(),
    ColumnType.FLOAT: pa.float64(),
    ColumnType.STR: pa.string(),
    ColumnType.DATE: pa.date32(),
    ColumnType.BOOL: pa.bool_(),
}

REQUIRED_TABLES = ("patients", "practice_registrations", "practices")
"""Tables without which no indicator can run."""


def arrow_schema(table: Table) -> pa.Schema:
    """The Arrow schema of a data-model table."""
    return pa.schema([pa.field(c.name, _ARROW[c.type]) for c in table.columns])


def to_arrow(
    name: str, data: pa.Table | pd.DataFrame | list[dict[str, Any]]
) -> pa.Table:
    """Conform `data` to the data-model schema of table `name`.

    Absent optional columns take their documented default; columns are cast to
    the canonical types and put in canonical order.

    Raises:
        InputDataError: a required column is missing.
    """
    schema_table = TABLES[name]
    if isinstance(data, list):
        frame = pd.DataFrame.from_records(data) if data else pd.DataFrame()
        arrow = pa.Table.from_pandas(frame, preserve_index=False)
    elif isinstance(data, pd.DataFrame):
        arrow = pa.Table.from_pandas(data, preserve_index=False)
    else:
        arrow = data
    n = arrow.num_rows
    arrays: list[pa.Array | pa.ChunkedArray] = []
    for col in schema_table.columns:
        typ = _ARROW[col.type]
        if col.name in arrow.column_names:
            arrays.append(arrow[col.name].cast(typ))
        elif col.required and n > 0:
            raise InputDataError(
                f"table `{name}`: required column `{col.name}` is missing"
            )
        else:
            default = col.default if col.type is ColumnType.STR else None
            arrays.append(pa.array([default] * n, type=typ))
    return pa.Table.from_arrays(arrays, schema=arrow_schema(schema_table))


def load_tables(
    con: BaseBackend,
    data: Mapping[str, pa.Table | pd.DataFrame | list[dict[str, Any]]],
    *,
    create_empty: bool = False,
) -> dict[str, ir.Table]:
    """Create data-model tables on `con` from in-memory data (tests, benchmarks).

    Tables in `data` (and the required ones) are created on `con`; the others
    are empty in-memory stand-ins unless `create_empty` asks to create them too.
    """
    out: dict[str, ir.Table] = {}
    for name, table in TABLES.items():
        if name in data or name in REQUIRED_TABLES or create_empty:
            arrow = to_arrow(name, data.get(name, []))
            out[name] = con.create_table(name, arrow, overwrite=True)  # type: ignore[attr-defined]
        else:
            out[name] = ibis.memtable(arrow_schema(table).empty_table())
    return out


def tables_from_connection(con: BaseBackend) -> dict[str, ir.Table]:
    """The data-model tables of a database, with empty stand-ins for absent ones.

    Raises:
        InputDataError: a table every indicator needs is missing.
    """
    found: dict[str, ir.Table] = {}
    for name in TABLES:
        # `con.table` rather than `list_tables`, which not every backend/driver
        # combination implements (ibis 12 with duckdb 2.0 does not).
        try:
            found[name] = con.table(name)  # type: ignore[attr-defined]
        except Exception:  # noqa: S112 - any lookup failure means "absent"
            continue
    present = set(found)
    missing = [t for t in REQUIRED_TABLES if t not in present]
    if missing:
        raise InputDataError(
            f"the database has no {', '.join(missing)} table(s); load the data first "
            "(`carepilot data load`)"
        )
    out: dict[str, ir.Table] = {}
    for name, table in TABLES.items():
        if name in present:
            out[name] = found[name]
        else:
            out[name] = ibis.memtable(arrow_schema(table).empty_table())
    return out
