"""synth → load → indicators run → open data export and quality account.

A ~3,000-patient synthetic population over two financial years, three library
indicators by quarter, through the real CLI commands.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import duckdb
import ibis
import pandas as pd
import pytest
from typer.testing import CliRunner

from carepilot.cli.main import app
from carepilot.engine.tables import load_tables
from carepilot.synth import SynthConfig, generate

pytestmark = pytest.mark.slow  # ~35 s: synthesis + three indicators + a PDF

ROOT = Path(__file__).resolve().parents[3]
INDICATORS = (
    "diabetes-hba1c-58",
    "hypertension-bp-140-90-under-80",
    "flu-vaccination-65-plus",
    "outpatient-dna",
    "emergency-readmissions-30-days",
    "proms-hip-eq5d-improved",
)
runner = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    folder = tmp_path_factory.mktemp("publication")
    db = folder / "demo.duckdb"
    data = generate(
        SynthConfig(patients=3_000, seed=11, start=dt.date(2022, 4, 1), months=24)
    )
    con = ibis.duckdb.connect(str(db))
    load_tables(con, data, create_empty=True)
    con.disconnect()
    results = folder / "results.parquet"
    args = [
        "indicators",
        "run",
        "--db",
        str(db),
        "--from",
        "2022-04",
        "--to",
        "2024-03",
        "--frequency",
        "quarter",
        "--out",
        str(results),
    ]
    for indicator in INDICATORS:
        args += ["-i", indicator]
    out = runner.invoke(app, args)
    assert out.exit_code == 0, out.output
    raw = duckdb.connect(str(db), read_only=True)
    practice = raw.execute(
        "SELECT practice_code FROM practices ORDER BY practice_code LIMIT 1"
    ).fetchone()
    raw.close()
    assert practice is not None
    return db, results, str(practice[0])


def test_open_data_export(demo: tuple[Path, Path, str], tmp_path: Path) -> None:
    _, results, practice = demo
    out = runner.invoke(
        app, ["opendata", "export", "--results", str(results), "--out", str(tmp_path)]
    )
    assert out.exit_code == 0, out.output
    table = pd.read_parquet(tmp_path / "indicators.parquet")
    source = pd.read_parquet(results)
    assert len(table) == len(source)
    assert set(table["Indicator ID"]) == set(INDICATORS)
    assert practice in set(table["Area Code"])
    meta = json.loads((tmp_path / "metadata.json").read_text())
    titles = {i["id"]: i["name"] for i in meta["indicators"]}
    assert titles["diabetes-hba1c-58"].startswith("Diabetes")
    counts = table["Count"].dropna()
    assert ((counts % 5 == 0) & ((counts == 0) | (counts > 7))).all()


def test_disclosure_none_output_is_refused(
    demo: tuple[Path, Path, str], tmp_path: Path
) -> None:
    db, _, _ = demo
    raw = tmp_path / "raw.parquet"
    out = runner.invoke(
        app,
        [
            "indicators",
            "run",
            "--db",
            str(db),
            "-i",
            INDICATORS[0],
            "--from",
            "2023-04",
            "--to",
            "2023-06",
            "--frequency",
            "quarter",
            "--disclosure",
            "none",
            "--out",
            str(raw),
        ],
    )
    assert out.exit_code == 0, out.output
    refused = runner.invoke(
        app,
        ["opendata", "export", "--results", str(raw), "--out", str(tmp_path / "open")],
    )
    assert refused.exit_code != 0
    assert "not disclosure controlled" in str(refused.exception)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_quality_account_for_a_practice(
    demo: tuple[Path, Path, str], tmp_path: Path
) -> None:
    db, results, practice = demo
    out = runner.invoke(
        app,
        [
            "quality-account",
            "--provider",
            practice,
            "--year",
            "2023",
            "--db",
            str(db),
            "--results",
            str(results),
            "--inputs",
            str(ROOT / "examples" / "quality_accounts"),
            "--out",
            str(tmp_path),
        ],
    )
    assert out.exit_code == 0, out.output
    pdf = next(tmp_path.glob("*.pdf"))
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    flat = " ".join(text.split())
    assert "Quality account 2023/24" in flat
    assert "Part 2: Priorities for improvement" in flat
    assert "Diabetes without moderate or severe frailty: last HbA1c 58 mmol/mol" in flat
    frame = pd.read_parquet(results)
    row = frame[
        (frame["area_code"] == practice)
        & (frame["indicator_id"] == "diabetes-hba1c-58")
        & (frame["breakdown"] == "total")
        & (frame["period_start"] == dt.date(2024, 1, 1))
    ].iloc[0]
    if not row["suppressed"]:
        assert f"{row['value']:.1f}" in flat


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_quality_account_for_an_acute_trust(
    demo: tuple[Path, Path, str], tmp_path: Path
) -> None:
    db, results, _ = demo
    raw = duckdb.connect(str(db), read_only=True)
    trust = raw.execute(
        "SELECT provider_code, provider_name FROM providers "
        "WHERE provider_type = 'acute' ORDER BY provider_code LIMIT 1"
    ).fetchone()
    raw.close()
    assert trust is not None
    out = runner.invoke(
        app,
        [
            "quality-account",
            "--provider",
            str(trust[0]),
            "--year",
            "2023",
            "--db",
            str(db),
            "--results",
            str(results),
            "--inputs",
            str(ROOT / "examples" / "quality_accounts_acute"),
            "--out",
            str(tmp_path),
        ],
    )
    assert out.exit_code == 0, out.output
    pdf = next(tmp_path.glob("*.pdf"))
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    flat = " ".join(text.split())
    assert str(trust[1]) in flat
    assert "Core indicators (acute providers)" in flat
    assert "Outpatient did-not-attend" in flat
    frame = pd.read_parquet(results)
    row = frame[
        (frame["area_type"] == "provider")
        & (frame["area_code"] == trust[0])
        & (frame["indicator_id"] == "outpatient-dna")
        & (frame["breakdown"] == "total")
        & (frame["period_start"] == dt.date(2024, 1, 1))
    ].iloc[0]
    assert not row["suppressed"]
    assert f"{row['value']:.1f}" in flat
