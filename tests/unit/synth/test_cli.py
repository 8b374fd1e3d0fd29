"""`carepilot synth` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from carepilot.cli.main import app
from carepilot.schema import TABLES


def test_cli_writes_every_table_and_scenario(tmp_path: Path) -> None:
    out = tmp_path / "pop"
    result = CliRunner().invoke(
        app,
        ["synth", "--patients", "1500", "--seed", "4", "--out", str(out),
         "--practices", "6", "--pilot-practices", "2", "--months", "24",
         "--staggered", "--effect-bp-control", "0.1", "--pilots", "1",
         "--effect-emergency-admissions", "-0.2"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert {p.stem for p in out.glob("*.parquet")} == set(TABLES)
    assert pq.read_table(out / "patients.parquet").num_rows == 1500
    truth = json.loads((out / "scenario.json").read_text())
    effects = {e["outcome"]: e["value"] for e in truth["effects"]}
    assert effects["bp_control"] == 0.1
    assert effects["emergency_admissions"] == -0.2
    assert truth["parameters"]["months"] == 24
    assert truth["parameters"]["pilots"] == 1
    sites = pq.read_table(out / "pilot_sites.parquet").column("pilot_id").to_pylist()
    assert sites == ["ICP01"]


def test_cli_rejects_bad_format(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["synth", "--patients", "10", "--out", str(tmp_path), "--format", "xlsx"]
    )
    assert result.exit_code != 0
