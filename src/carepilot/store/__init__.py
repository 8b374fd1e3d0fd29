"""The embedded DuckDB analytics database: open, connect, describe.

Storage contract (the indicator engine relies on it): one DuckDB table per
data-model table with the exact name, columns in schema order, types
BIGINT / DOUBLE / VARCHAR / DATE / BOOLEAN; every table exists, empty if never
supplied. Loading goes through `carepilot.ingest.load_extract`, which replaces the
file atomically.
"""

from carepilot.store.connection import ibis_connection, open_database
from carepilot.store.info import DatabaseInfo, LoadRecord, TableInfo, database_info
from carepilot.store.tables import DUCKDB_TYPES, LOAD_FILES_TABLE, LOADS_TABLE

__all__ = [
    "DUCKDB_TYPES",
    "LOADS_TABLE",
    "LOAD_FILES_TABLE",
    "DatabaseInfo",
    "LoadRecord",
    "TableInfo",
    "database_info",
    "ibis_connection",
    "open_database",
]
