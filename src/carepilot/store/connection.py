"""Open the analytics database: plain DuckDB connections and Ibis backends.

The indicator engine reads through `ibis_connection`; loading writes only through
`carepilot.store.atomic`, never to the live file in place.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from carepilot.errors import ConfigError

if TYPE_CHECKING:
    import ibis


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise ConfigError(
            f"analytics database {path} does not exist; create it with "
            "`carepilot load DIR --db PATH` or point --db / CAREPILOT_ANALYTICS_DB at it."
        )


def open_database(
    path: Path | str, read_only: bool = True
) -> duckdb.DuckDBPyConnection:
    """Open the analytics database file and return a DuckDB connection.

    Args:
        path: the DuckDB file.
        read_only: open read-only (the default; several readers may share it).

    Raises:
        ConfigError: the file does not exist (read-only) or is not a DuckDB database.
    """
    path = Path(path)
    if read_only:
        _check_exists(path)
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        raise ConfigError(
            f"cannot open analytics database {path}: {exc}; check the path and that "
            "no other process holds it open for writing."
        ) from exc


def ibis_connection(path: Path | str, read_only: bool = True) -> ibis.BaseBackend:
    """Return an Ibis DuckDB backend on the analytics database (read-only by default).

    Raises:
        ConfigError: the file does not exist.
    """
    import ibis

    path = Path(path)
    if read_only:
        _check_exists(path)
    return ibis.duckdb.connect(str(path), read_only=read_only)
