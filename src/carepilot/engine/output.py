"""Write the results table as Parquet (default) or CSV."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

RESULT_SCHEMA = pa.schema(
    [
        ("indicator_id", pa.string()),
        ("indicator_version", pa.int64()),
        ("period_start", pa.date32()),
        ("period_end", pa.date32()),
        ("area_type", pa.string()),
        ("area_code", pa.string()),
        ("area_name", pa.string()),
        ("parent_area_code", pa.string()),
        ("breakdown", pa.string()),
        ("category", pa.string()),
        ("numerator", pa.float64()),
        ("denominator", pa.float64()),
        ("exceptions", pa.float64()),
        ("value", pa.float64()),
        ("lower_ci_95", pa.float64()),
        ("upper_ci_95", pa.float64()),
        ("lower_ci_99_8", pa.float64()),
        ("upper_ci_99_8", pa.float64()),
        ("comparison", pa.string()),
        ("suppressed", pa.bool_()),
        ("suppression_reason", pa.string()),
    ]
)
"""Arrow schema of the results table (shared results contract)."""


def to_arrow(results: pd.DataFrame) -> pa.Table:
    """Conform a results frame to `RESULT_SCHEMA` (column order and types)."""
    frame = results[[f.name for f in RESULT_SCHEMA]]
    return pa.Table.from_pandas(frame, schema=RESULT_SCHEMA, preserve_index=False)


def write_results(results: pd.DataFrame, path: Path) -> None:
    """Write `results` to `path` (.csv → CSV, anything else → Parquet)."""
    table = to_arrow(results)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path)
