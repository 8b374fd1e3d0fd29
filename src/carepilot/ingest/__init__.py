"""Validated, atomic loading of CSV/Parquet extracts into the analytics database.

`load_extract(source_dir, db_path, mode)` validates every file against the data
model (`carepilot.schema`) with vectorised DuckDB SQL and loads all of them, or
raises one `InputDataError` listing every problem and leaves the database as it was.
"""

from carepilot.ingest.pipeline import FileLoad, LoadMode, LoadResult, load_extract
from carepilot.ingest.problems import DEFAULT_MAX_ERRORS, Problem, ProblemKind

__all__ = [
    "DEFAULT_MAX_ERRORS",
    "FileLoad",
    "LoadMode",
    "LoadResult",
    "Problem",
    "ProblemKind",
    "load_extract",
]
