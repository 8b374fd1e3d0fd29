"""End-to-end: synth -> load -> `carepilot evaluate --design aipw|ipw` (patient level).

A small staggered population (fast); the outpatient follow-up effect (-20 %) is
large enough to be recovered at this size. Truths come from `scenario.json`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from carepilot.cli.main import app
from carepilot.ingest.pipeline import load_extract
from carepilot.synth import SynthConfig, write_population

runner = CliRunner()


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:  # type: ignore[type-arg]
    root = tmp_path_factory.mktemp("patients")
    cfg = SynthConfig(
        patients=6_000, seed=5, practices=24, pilot_practices=8, staggered=True,
        pilots=1,
    )  # fmt: skip
    write_population(cfg, root / "synth", "parquet")
    load_extract(root / "synth", root / "db.duckdb")
    scenario = json.loads((root / "synth" / "scenario.json").read_text())
    return root / "db.duckdb", scenario


def test_aipw_report_recovers_outpatient_effect(
    population: tuple[Path, dict],  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    db, scenario = population
    out = tmp_path / "eval"
    result = runner.invoke(
        app,
        ["evaluate", "--pilot", "ICP01", "--db", str(db), "--design", "aipw",
         "--outcomes", "outpatient-follow-up-rate", "--out", str(out), "--no-pdf"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    info = summary["outcomes"]["outpatient-follow-up-rate"]
    assert "cluster-robust" in info["se_type"]
    rel = next(e for e in info["effects"] if e["name"] == "relative")
    truth = scenario["parameters"]["effects"]["outpatient_follow_ups"]
    assert rel["ci_low"] <= truth <= rel["ci_high"], rel
    assert rel["ci_high"] < 0  # -20 % is detectable even at this size
    placebo = next(
        r for r in info["sensitivity"] if r["analysis"].startswith("placebo")
    )
    assert placebo["ci_low"] <= 0 <= placebo["ci_high"], placebo

    folder = out / "outpatient-follow-up-rate"
    numbers = json.loads((folder / "numbers.json").read_text())
    main = numbers["results"]["main (aipw)"]
    assert main["details"]["n_clusters"] == 24
    assert main["details"]["n_clusters_treated"] == 8
    assert {"pre_rate", "age", "imd_decile"} <= set(main["details"]["covariates_used"])
    balance = {r["covariate"]: r for r in numbers["balance"]}
    assert abs(balance["pre_rate"]["smd_after"]) < 0.05
    by_imd = numbers["by_group"]["deprivation (IMD quintile)"]
    names = [e["name"] for e in by_imd["effects"]]
    assert "by:imd_quintile=5" in names
    gaps = [n for n in names if n.startswith("gap:imd_quintile=")]
    assert gaps and all(n.endswith("-vs-5") for n in gaps)  # least deprived = reference
    test = by_imd["details"]["heterogeneity_test"]
    assert (test["df"], test["df_denominator"]) == (len(gaps), 8 - len(gaps))
    assert main["details"]["df"] == 7  # 8 pilot practices: t(7)
    html = (folder / "report.html").read_text()
    for text in ("Patient cohort", "Comparators and balance", "joint cluster covariance",
                 "Sensitivity analyses", "clustered by index practice"):  # fmt: skip
        assert text in html
    patients = (folder / "analysis_patients.csv").read_text().splitlines()
    assert patients[0].startswith("patient_id,")
    assert len(patients) > 3_000


def test_ipw_design_and_unknown_design(
    population: tuple[Path, dict],  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    db, _ = population
    ok = runner.invoke(
        app,
        ["evaluate", "--pilot", "ICP01", "--db", str(db), "--design", "ipw",
         "--outcomes", "emergency-admissions-rate", "--out", str(tmp_path / "ipw"),
         "--no-pdf", "--no-groups", "--no-sensitivity"],
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    summary = json.loads((tmp_path / "ipw" / "summary.json").read_text())
    effects = summary["outcomes"]["emergency-admissions-rate"]["effects"]
    assert [e["name"] for e in effects] == ["att", "relative"]
    bad = runner.invoke(
        app,
        ["evaluate", "--pilot", "ICP01", "--db", str(db), "--design", "psm",
         "--outcomes", "emergency-admissions-rate", "--out", str(tmp_path / "x")],
    )  # fmt: skip
    assert bad.exit_code != 0
    assert "ipw, aipw" in bad.output + str(bad.exception)
