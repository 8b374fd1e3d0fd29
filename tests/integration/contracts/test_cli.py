"""`carepilot contracts check|settle|simulate` end to end on the hand-built database."""

from __future__ import annotations

import csv
import json
from decimal import Decimal as D
from pathlib import Path

import pytest
from typer.testing import CliRunner

from carepilot.cli.main import app
from carepilot.contracts.definition import load_contract
from carepilot.contracts.results import read_results
from carepilot.contracts.simulate import run_simulation

runner = CliRunner()


def test_check_reports_the_contract(contract_file: Path, results_file: Path) -> None:
    result = runner.invoke(
        app, ["contracts", "check", str(contract_file), "--results", str(results_file)]
    )
    assert result.exit_code == 0, result.output
    assert "it-contract" in result.output
    assert "two_sided" in result.output


def test_check_rejects_a_bad_definition(tmp_path: Path, contract_file: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        contract_file.read_text().replace(
            "lower: 35, upper: 75", "lower: 75, upper: 35"
        )
    )
    result = runner.invoke(app, ["contracts", "check", str(bad)])
    assert result.exit_code != 0
    assert "thresholds reversed" in str(result.exception)


def test_settle_writes_statements_that_reconcile(
    tmp_path: Path, contract_file: Path, results_file: Path, analytics_db: Path
) -> None:
    out = tmp_path / "out"
    args = [
        "contracts",
        "settle",
        "--contract",
        str(contract_file),
        "--db",
        str(analytics_db),
        "--results",
        str(results_file),
        "--year",
        "2021",
        "--out",
        str(out),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "it-contract-2021.json").read_text())
    st = doc["statements"][0]
    assert all(check["ok"] for check in st["reconciliation"])
    lines = {ln["ref"]: ln for ln in st["lines"]}
    assert lines["A7"]["amount"] == "39137.18"
    assert lines["E7"]["amount"] == str(
        D(lines["E5"]["amount"]) + D(lines["E4"]["amount"]) + D(lines["E6"]["amount"])
    )
    # spend lines add up to gross spend
    assert sum(D(lines[f"B{i}"]["amount"]) for i in range(1, 5)) == D(
        lines["B5"]["amount"]
    )
    with (out / "it-contract-2021.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(st["lines"])
    html = (out / "it-contract-2021.html").read_text()
    assert "Reconciliation statement 2021/22" in html
    assert "39,137.18" in html
    assert "DOES NOT RECONCILE" not in html
    assert "[REDACTED]" in html  # one pooled patient: redacted (OpenSAFELY)
    assert (out / "it-contract-2021.pdf").read_bytes().startswith(b"%PDF")


def test_settle_quarterly(
    tmp_path: Path, contract_file: Path, results_file: Path, analytics_db: Path
) -> None:
    out = tmp_path / "q"
    args = [
        "contracts",
        "settle",
        "--contract",
        str(contract_file),
        "--db",
        str(analytics_db),
        "--results",
        str(results_file),
        "--year",
        "2021",
        "--quarterly",
        "--no-pdf",
        "--out",
        str(out),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "it-contract-2021-quarterly.json").read_text())
    assert [s["period"]["end"] for s in doc["statements"]] == [
        "2021-06-30",
        "2021-09-30",
        "2021-12-31",
        "2022-03-31",
    ]


@pytest.mark.slow
def test_simulate_writes_distribution_plot_and_sensitivity(
    tmp_path: Path, contract_file: Path, results_file: Path, analytics_db: Path
) -> None:
    out = tmp_path / "sim"
    args = [
        "contracts",
        "simulate",
        "--contract",
        str(contract_file),
        "--db",
        str(analytics_db),
        "--results",
        str(results_file),
        "--runs",
        "100",
        "--seed",
        "3",
        "--out",
        str(out),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "it-contract-2021-simulation.json").read_text())
    assert doc["runs"] == 100
    s = doc["summary"]["provider_result"]
    assert s["p5"] <= s["p50"] <= s["p95"]
    params = {row["parameter"] for row in doc["sensitivity"]}
    assert {
        "base",
        "withhold %",
        "corridor shares",
        "minimum savings/loss rate %",
        "indicator thresholds",
    } <= params
    assert (out / "it-contract-2021-simulation.png").read_bytes().startswith(b"\x89PNG")
    assert "<svg" in (out / "it-contract-2021-simulation.svg").read_text()


def test_simulation_is_reproducible_with_a_seed(
    contract_file: Path, results_file: Path, analytics_db: Path
) -> None:
    contract = load_contract(contract_file)
    results = read_results(results_file)
    first = run_simulation(contract, analytics_db, results, 2021, runs=100, seed=11)
    second = run_simulation(contract, analytics_db, results, 2021, runs=100, seed=11)
    assert first.draws.equals(second.draws)
    assert first.draws["provider_result"].std() > 0


def test_settle_store_saves_statements_in_the_workflow_db(
    tmp_path: Path,
    contract_file: Path,
    results_file: Path,
    analytics_db: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from carepilot.accounts.model import SYSTEM_ACTOR
    from carepilot.contracts import repo, workflow
    from carepilot.db import migrate
    from carepilot.db.session import make_engine, make_session_factory

    url = f"sqlite:///{tmp_path / 'workflow.sqlite'}"
    migrate.upgrade(url)
    monkeypatch.setenv("CAREPILOT_DATABASE_URL", url)
    args = [
        "contracts",
        "settle",
        "--contract",
        str(contract_file),
        "--db",
        str(analytics_db),
        "--results",
        str(results_file),
        "--year",
        "2021",
        "--out",
        str(tmp_path / "out"),
        "--no-pdf",
        "--store",
    ]
    unsaved = runner.invoke(app, args)
    assert unsaved.exit_code != 0 and "save it first" in str(unsaved.exception)
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        cid = workflow.create_contract(s, SYSTEM_ACTOR, contract_file.read_text()).id
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    with make_session_factory(engine)() as s:
        (run,) = repo.runs(s, cid, workflow.SETTLEMENT)
    engine.dispose()
    assert run.input_checksums["indicator_results"] == workflow.sha256_file(
        results_file
    )
    assert run.result["statements"][0]["contract"]["id"] == "it-contract"
    contract_file.write_text(contract_file.read_text().replace("trend: 3", "trend: 2"))
    changed = runner.invoke(app, args)
    assert changed.exit_code != 0 and "differs from the saved version" in str(
        changed.exception
    )
