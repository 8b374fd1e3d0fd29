"""`carepilot load` and `carepilot info` as a user runs them (in-process, via `run()`).

`run()` is the console-script entry point: it turns `UserError`s into a message
and the error's exit code. One real subprocess run lives in test_bad_data.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from carepilot.cli.main import run
from carepilot.errors import ConfigError

from .conftest import GOOD


def _cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["carepilot", *args])
    code = 0
    try:
        run()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_load_then_info_then_refuse_without_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cli.duckdb"
    code, out, err = _cli(monkeypatch, capsys, "load", str(GOOD), "--db", str(db))
    assert code == 0, err
    assert "155 rows from 20 files" in out
    code, out, err = _cli(monkeypatch, capsys, "info", "--db", str(db))
    assert code == 0, err
    flat = out.replace("\n", "")
    assert db.name in flat
    assert "Patients: 20" in out and "Practices: 3" in out
    assert "clinical_events" in out and "2009-01-15" in out
    code, out, err = _cli(monkeypatch, capsys, "load", str(GOOD), "--db", str(db))
    assert code == ConfigError.exit_code
    assert "--replace" in err and "--append" in err
    code, _, err = _cli(
        monkeypatch, capsys, "load", str(GOOD), "--db", str(db), "--replace", "--append"
    )
    assert code == ConfigError.exit_code
    assert "not both" in err


def test_info_on_missing_database_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _cli(
        monkeypatch, capsys, "info", "--db", str(tmp_path / "no.duckdb")
    )
    assert code == ConfigError.exit_code
    assert "does not exist" in err


def test_synth_output_with_its_scenario_json_loads_as_an_extract(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`make demo`'s step 2: synth writes scenario.json beside the Parquet files;
    a non-FHIR .json must not make the folder look like a FHIR export."""
    out = tmp_path / "extract"
    code, _, err = _cli(
        monkeypatch,
        capsys,
        "synth",
        "--patients",
        "300",
        "--seed",
        "5",
        "--out",
        str(out),
    )
    assert code == 0, err
    assert (out / "scenario.json").exists()
    db = tmp_path / "synth.duckdb"
    code, out_text, err = _cli(monkeypatch, capsys, "load", str(out), "--db", str(db))
    assert code == 0, err
    assert "FHIR" not in out_text + err
