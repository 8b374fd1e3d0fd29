"""`carepilot load` and `carepilot info` end to end (subprocess, as a user runs them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from carepilot.errors import ConfigError

from .conftest import GOOD


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "carepilot.cli.main", *args],
        capture_output=True,
        text=True,
        check=False,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )


def test_load_then_info_then_refuse_without_mode(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    loaded = _cli("load", str(GOOD), "--db", str(db))
    assert loaded.returncode == 0, loaded.stderr
    assert "155 rows from 20 files" in loaded.stdout
    info = _cli("info", "--db", str(db))
    assert info.returncode == 0, info.stderr
    assert str(db.resolve()) in info.stdout
    assert "Patients: 20" in info.stdout and "Practices: 3" in info.stdout
    assert "clinical_events" in info.stdout and "2009-01-15" in info.stdout
    assert str(GOOD) in info.stdout
    again = _cli("load", str(GOOD), "--db", str(db))
    assert again.returncode == ConfigError.exit_code
    assert "--replace" in again.stderr and "--append" in again.stderr
    both = _cli("load", str(GOOD), "--db", str(db), "--replace", "--append")
    assert both.returncode == ConfigError.exit_code


def test_info_on_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    result = _cli("info", "--db", str(tmp_path / "none.duckdb"))
    assert result.returncode == ConfigError.exit_code
    assert "does not exist" in result.stderr
