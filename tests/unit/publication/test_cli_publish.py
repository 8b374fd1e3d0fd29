"""`carepilot opendata export` and `carepilot quality-account` in process."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from carepilot.cli import publish
from carepilot.errors import InputDataError, PermissionDenied

from .test_quality_account import _inputs

runner = CliRunner()
app = typer.Typer(pretty_exceptions_enable=False)
publish.register(app)


@app.callback()
def _root() -> None:
    """carepilot (publish only)."""


def test_opendata_export(released: pd.DataFrame, tmp_path: Path) -> None:
    released.to_parquet(tmp_path / "results.parquet")
    out = tmp_path / "open"
    result = runner.invoke(
        app,
        [
            "opendata",
            "export",
            "--results",
            str(tmp_path / "results.parquet"),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "opensafely" in result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "SHA256SUMS",
        "indicators.csv",
        "indicators.parquet",
        "metadata.json",
    ]


def test_opendata_export_refuses_disclosure_none(
    raw: pd.DataFrame, tmp_path: Path
) -> None:
    raw.to_csv(tmp_path / "results.csv", index=False)
    result = runner.invoke(
        app,
        [
            "opendata",
            "export",
            "--results",
            str(tmp_path / "results.csv"),
            "--out",
            str(tmp_path / "open"),
        ],
    )
    assert isinstance(result.exception, PermissionDenied)
    assert not (tmp_path / "open" / "indicators.csv").exists()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "analytics.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE practices (practice_code VARCHAR, practice_name VARCHAR)")
    con.execute("INSERT INTO practices VALUES ('A81001', 'Riverside Surgery')")
    con.execute(
        "CREATE TABLE providers (provider_code VARCHAR, provider_name "
        "VARCHAR, provider_type VARCHAR)"
    )
    con.execute("CREATE TABLE pilot_sites (pilot_id VARCHAR, pilot_name VARCHAR)")
    con.close()
    return path


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler")
def test_quality_account_command(
    released: pd.DataFrame, tmp_path: Path, db: Path
) -> None:
    released.to_parquet(tmp_path / "results.parquet")
    args = [
        "quality-account",
        "--provider",
        "A81001",
        "--year",
        "2023",
        "--db",
        str(db),
        "--results",
        str(tmp_path / "results.parquet"),
        "--inputs",
        str(_inputs(tmp_path)),
        "--out",
        str(tmp_path / "qa"),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "qa").iterdir())
    assert names == [
        "quality-account-A81001-2023-24.html",
        "quality-account-A81001-2023-24.pdf",
    ]


def test_quality_account_unknown_provider(
    released: pd.DataFrame, tmp_path: Path, db: Path
) -> None:
    released.to_parquet(tmp_path / "results.parquet")
    result = runner.invoke(
        app,
        [
            "quality-account",
            "--provider",
            "Z99999",
            "--year",
            "2023",
            "--db",
            str(db),
            "--results",
            str(tmp_path / "results.parquet"),
            "--inputs",
            str(_inputs(tmp_path)),
            "--out",
            str(tmp_path / "qa"),
        ],
    )
    assert isinstance(result.exception, InputDataError)
    assert "Z99999" in str(result.exception)
