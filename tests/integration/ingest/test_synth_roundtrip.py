"""The synthetic population (carepilot.synth) passes validation and loads completely."""

from __future__ import annotations

from pathlib import Path

import pytest

from carepilot.ingest import load_extract
from carepilot.schema import TABLES
from carepilot.store import open_database

synth = pytest.importorskip("carepilot.synth")


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_synthetic_population_loads_without_problems(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "pop"
    written = synth.write_population(synth.SynthConfig(patients=500, seed=3), out, fmt)
    result = load_extract(out, tmp_path / "db.duckdb")
    assert {f.table: f.rows for f in result.files} == {
        name: n for name, n in written.items() if name in TABLES
    }
    assert any("scenario.json" in w for w in result.warnings)
    conn = open_database(tmp_path / "db.duckdb")
    row = conn.execute("SELECT count(*) FROM patients").fetchone()
    assert row == (500,)
