"""Turn NumPy columns into Arrow tables that match the canonical data model exactly.

Every generated table goes through `build_table`, which takes the column list,
order and types from `carepilot.schema.tables` (so the generator cannot drift from
the data model): columns the generator does not fill are all-null, strings are
built from category indices through an Arrow dictionary cast (fast, no Python
string objects per row), dates are int days cast to `date32`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from carepilot.errors import InternalError
from carepilot.schema import ARROW_TYPE_NAMES, TABLES, ColumnType

_ARROW_TYPES: dict[ColumnType, pa.DataType] = {
    k: pa.type_for_alias(v) for k, v in ARROW_TYPE_NAMES.items()
}
"""Arrow type of each logical type, from the model's `ARROW_TYPE_NAMES`."""


@dataclass(frozen=True, slots=True)
class Cat:
    """A string column as indices into `categories` (None/False in `valid` = null)."""

    idx: NDArray[Any]
    categories: Sequence[str]
    valid: NDArray[np.bool_] | None = None


@dataclass(frozen=True, slots=True)
class Masked:
    """A numeric or date column with a validity mask (False = null)."""

    values: NDArray[Any]
    valid: NDArray[np.bool_]


ColumnData = Cat | Masked | NDArray[np.generic] | Sequence[str] | pa.Array


def schema_of(table_name: str) -> pa.Schema:
    """Arrow schema of a canonical table (column order and types of the model)."""
    table = TABLES[table_name]
    return pa.schema([pa.field(c.name, _ARROW_TYPES[c.type]) for c in table.columns])


def _to_array(data: ColumnData, type_: pa.DataType, n: int) -> pa.Array:
    if isinstance(data, pa.Array):
        return cast(pa.Array, data).cast(type_)
    if isinstance(data, Cat):
        mask = None if data.valid is None else ~data.valid
        indices = pa.array(np.asarray(data.idx, dtype=np.int32), mask=mask)
        dictionary = pa.array(list(data.categories), type=pa.string())
        return pa.DictionaryArray.from_arrays(indices, dictionary).cast(type_)
    values: NDArray[Any]
    mask = None
    if isinstance(data, Masked):
        values, mask = data.values, ~data.valid
    elif isinstance(data, np.ndarray):
        values = data
    else:
        return pa.array(list(data), type=type_)
    if type_ == pa.date32():
        return pa.array(values.astype(np.int32), type=pa.int32(), mask=mask).view(
            pa.date32()
        )
    if type_ == pa.string():
        return pa.array(values.astype(str), type=type_, mask=mask)
    np_type = {pa.int64(): np.int64, pa.float64(): np.float64, pa.bool_(): np.bool_}[
        type_
    ]
    return pa.array(values.astype(np_type), type=type_, mask=mask)


def build_table(table_name: str, n: int, columns: Mapping[str, ColumnData]) -> pa.Table:
    """Build canonical table `table_name` with `n` rows from `columns`.

    Columns of the model that are not in `columns` are filled with nulls.

    Raises:
        InternalError: a column is not in the model or has the wrong length.
    """
    schema = schema_of(table_name)
    unknown = set(columns) - set(schema.names)
    if unknown:
        raise InternalError(
            f"synth built columns {sorted(unknown)} that table `{table_name}` lacks"
        )
    arrays: list[pa.Array] = []
    for field in schema:
        data = columns.get(field.name)
        if data is None:
            arrays.append(pa.nulls(n, type=field.type))
            continue
        arr = _to_array(data, field.type, n)
        if len(arr) != n:
            raise InternalError(
                f"synth column `{table_name}.{field.name}` has {len(arr)} rows, "
                f"expected {n}"
            )
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=schema)
