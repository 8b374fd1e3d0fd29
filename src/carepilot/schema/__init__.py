"""The canonical patient-level data model (pure: no I/O)."""

from carepilot.schema.model import (
    ARROW_TYPE_NAMES,
    CodeSystem,
    Column,
    ColumnType,
    Table,
)
from carepilot.schema.tables import TABLES, get_table

__all__ = [
    "ARROW_TYPE_NAMES",
    "TABLES",
    "CodeSystem",
    "Column",
    "ColumnType",
    "Table",
    "get_table",
]
