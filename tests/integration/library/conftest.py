"""A small synthetic population in a DuckDB file, shared by the library tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import pytest

from carepilot.engine.tables import load_tables
from carepilot.synth import SynthConfig, generate


@pytest.fixture(scope="package")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """~5,000 patients, 12 months from April 2023 (QOF year 2023/24)."""
    path = tmp_path_factory.mktemp("library") / "demo.duckdb"
    data = generate(
        SynthConfig(patients=5_000, seed=7, start=dt.date(2023, 4, 1), months=12)
    )
    con = ibis.duckdb.connect(str(path))
    load_tables(con, data, create_empty=True)
    con.disconnect()
    return path
