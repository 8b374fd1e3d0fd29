"""`--format parquet-partitioned`: one folder per table, one file per chunk, the
same rows as the single-file layout."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from carepilot.schema import TABLES
from carepilot.synth.config import SynthConfig
from carepilot.synth.generate import write_population


def test_partitioned_layout_holds_the_same_rows_as_single_files(tmp_path: Path) -> None:
    config = SynthConfig(patients=2500, seed=5, months=12, chunk_size=1000)
    single = write_population(config, tmp_path / "single", "parquet")
    parts = write_population(config, tmp_path / "parts", "parquet-partitioned")
    assert parts == single
    patients = sorted((tmp_path / "parts" / "patients").glob("*.parquet"))
    assert [p.name for p in patients] == [f"part-0000{i}.parquet" for i in range(3)]
    for name in TABLES:
        folder = tmp_path / "parts" / name
        files = sorted(folder.glob("part-*.parquet"))
        assert files, name  # even a table without rows has a file with its schema
        whole = pq.read_table(tmp_path / "single" / f"{name}.parquet")
        together = pq.read_table(folder)
        assert together.schema.remove_metadata() == whole.schema.remove_metadata(), name
        assert together.num_rows == whole.num_rows == single[name], name
        assert together.equals(whole.cast(together.schema)), name


def test_rewriting_a_partitioned_folder_replaces_old_parts(tmp_path: Path) -> None:
    out = tmp_path / "parts"
    write_population(
        SynthConfig(patients=2000, seed=1, months=6, chunk_size=1000),
        out,
        "parquet-partitioned",
    )
    rows = write_population(
        SynthConfig(patients=500, seed=1, months=6, chunk_size=1000),
        out,
        "parquet-partitioned",
    )
    assert len(list((out / "patients").glob("*.parquet"))) == 1
    assert pq.read_table(out / "patients").num_rows == rows["patients"] == 500
