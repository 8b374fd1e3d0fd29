"""A FHIR export loads through `carepilot load` and feeds the indicator library."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from carepilot.cli.main import app
from carepilot.disclosure import ROW_LEVEL_ACCESS
from carepilot.engine.run import Engine
from carepilot.engine.tables import tables_from_connection
from carepilot.indicators.periods import Period
from carepilot.library import load_library
from carepilot.store import ibis_connection
from tests.fhir_fixtures import condition, hypertension_export, write_ndjson
from tests.integration.ingest.conftest import file_hash

MARCH = Period(dt.date(2024, 3, 1), dt.date(2024, 3, 31))


def test_fhir_export_loads_and_gives_the_hand_worked_indicator(tmp_path: Path) -> None:
    src = hypertension_export(tmp_path / "export")
    db = tmp_path / "analytics.duckdb"
    result = CliRunner().invoke(app, ["load", str(src), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "FHIR: read" in result.output
    with duckdb.connect(str(db), read_only=True) as con:
        recorded = con.execute("SELECT source_dir FROM _carepilot_loads").fetchone()
    assert recorded is not None and recorded[0] == str(src.resolve())

    definition = next(
        d for d in load_library() if d.id == "hypertension-bp-140-90-under-80"
    )
    tables = tables_from_connection(ibis_connection(db, read_only=True))
    engine = Engine(tables, [MARCH], breakdowns=("total",))
    results = engine.release(definition, ROW_LEVEL_ACCESS)
    practice = results[
        (results["area_type"] == "practice") & (results["breakdown"] == "total")
    ]
    row = practice.iloc[0]
    # p1 controlled (130/80), p2 not (150/85), p3 has no valid reading (the one
    # entered in error is skipped); p4 has no hypertension
    assert (row["numerator"], row["denominator"]) == (1, 3)


def test_a_bad_fhir_export_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    good = hypertension_export(tmp_path / "good")
    db = tmp_path / "analytics.duckdb"
    assert CliRunner().invoke(app, ["load", str(good), "--db", str(db)]).exit_code == 0
    before = file_hash(db)

    bad = hypertension_export(tmp_path / "bad")
    write_ndjson(bad, "Condition.ndjson", [condition("p1", "12345", "2020-01-01")])
    result = CliRunner().invoke(app, ["load", str(bad), "--db", str(db), "--append"])
    assert result.exit_code != 0
    assert (
        "Condition.ndjson line 1, column `Condition.code.coding[0].code`: value '12345'"
        in str(result.exception)
    )
    assert file_hash(db) == before


def test_fhir_convert_command_writes_an_inspectable_extract(tmp_path: Path) -> None:
    src = hypertension_export(tmp_path / "export")
    out = tmp_path / "extract"
    result = CliRunner().invoke(app, ["fhir", "convert", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "patients.csv").exists()
    assert json.loads(json.dumps(sorted(p.name for p in out.iterdir()))) == [
        "clinical_events.csv",
        "commissioners.csv",
        "crosswalk",
        "medications.csv",
        "patients.csv",
        "practice_registrations.csv",
        "practices.csv",
    ]
