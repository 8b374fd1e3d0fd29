"""Types that describe the canonical patient-level data model.

The data model is data: `Table` and `Column` values in `carepilot.schema.tables`.
Loading (validation), the synthetic generator, the indicator compiler and the
generated docs all read the same definitions, so they cannot drift apart.

Pure module: imports nothing from I/O, web or database packages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ColumnType(StrEnum):
    """Logical column types; each maps to one Arrow type (see `ARROW_TYPE_NAMES`)."""

    INT = "int"
    FLOAT = "float"
    STR = "str"
    DATE = "date"
    BOOL = "bool"


ARROW_TYPE_NAMES: dict[ColumnType, str] = {
    ColumnType.INT: "int64",
    ColumnType.FLOAT: "float64",
    ColumnType.STR: "string",
    ColumnType.DATE: "date32",
    ColumnType.BOOL: "bool",
}


class CodeSystem(StrEnum):
    """Clinical and administrative code systems whose format is checked on load."""

    SNOMEDCT = "snomedct"
    DMD = "dmd"
    ICD10 = "icd10"
    OPCS4 = "opcs4"
    HRG = "hrg"
    LSOA = "lsoa"
    ODS = "ods"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a canonical table.

    Attributes:
        name: column name as it appears in files and the database.
        type: logical type.
        description: what the value means (goes into docs/data-model.md).
        required: the column must be present in every file of the table.
        nullable: empty values are allowed.
        allowed: closed set of allowed values, or None for open.
        code_system: code format checked on load, or None.
        min_value: smallest allowed value (numbers) or ISO date string (dates).
        max_value: largest allowed value; for dates "today" means the load date.
        references: "table.column" that every non-null value must exist in.
        first_of_month: dates must fall on the first of a month (ehrQL date_of_birth).
        default: value used when an optional column is absent from a file.
    """

    name: str
    type: ColumnType
    description: str
    required: bool = False
    nullable: bool = True
    allowed: tuple[str, ...] | None = None
    code_system: CodeSystem | None = None
    min_value: float | str | None = None
    max_value: float | str | None = None
    references: str | None = None
    first_of_month: bool = False
    default: str | int | float | bool | None = None


@dataclass(frozen=True, slots=True)
class Table:
    """One canonical table: its columns, primary key and meaning.

    Attributes:
        name: table name (also the file stem: `patients.csv`, `patients.parquet`).
        description: what one row is.
        columns: the columns, in canonical order.
        primary_key: columns that identify a row uniquely (may be empty).
        group: section of the data model documentation.
    """

    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    group: str = "Patient-level"
    _index: dict[str, Column] = field(
        default_factory=dict[str, Column], compare=False, repr=False
    )

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name!r} has duplicate column names")
        for key in self.primary_key:
            if key not in names:
                raise ValueError(
                    f"table {self.name!r}: primary key {key!r} is not a column"
                )
        self._index.update({c.name: c for c in self.columns})

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        """Return the column called `name`, or raise KeyError naming the valid columns."""
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(
                f"table `{self.name}` has no column `{name}`; "
                f"columns are: {', '.join(self.column_names)}"
            ) from None

    def has_column(self, name: str) -> bool:
        return name in self._index

    def columns_of_type(self, type_: ColumnType) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.type == type_)
