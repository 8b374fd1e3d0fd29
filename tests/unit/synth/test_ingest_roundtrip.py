"""Synthetic output passes carepilot's own validated loader, in both formats.

This crosses into `carepilot.ingest` (DuckDB), so strictly it is an integration
test; it lives here because it guards the synth package against drifting from
the loader's checks (types, allowed values, code formats, ranges, foreign keys).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from carepilot.schema import TABLES
from carepilot.synth import SynthConfig, write_population

ingest = pytest.importorskip("carepilot.ingest.pipeline")


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_generated_files_load_without_problems(tmp_path: Path, fmt: str) -> None:
    config = SynthConfig(patients=1_500, seed=12, practices=6, pilot_practices=2)
    rows = write_population(config, tmp_path / "extract", fmt)  # type: ignore[arg-type]
    result = ingest.load_extract(tmp_path / "extract", tmp_path / "db.duckdb")
    assert result.total_rows == sum(rows.values())
    loaded = {f.table: f.rows for f in result.files}
    assert set(loaded) == set(TABLES)
