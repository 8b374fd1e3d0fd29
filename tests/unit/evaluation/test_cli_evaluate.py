"""`carepilot evaluate-panel` through Typer's CliRunner on the root app."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from carepilot.cli.main import app
from carepilot.errors import DefinitionError, InputDataError, InsufficientDataError

from .simulate import patients, staggered_panel

runner = CliRunner()


def _invoke(*args):
    return runner.invoke(app, ["evaluate-panel", *args])


def test_staggered_json_keys(eval_dir):
    res = _invoke(
        "staggered",
        "--data",
        str(eval_dir / "mpdta" / "mpdta.csv"),
        "--unit",
        "countyreal",
        "--time",
        "year",
        "--outcome",
        "lemp",
        "--treated",
        "treat",
        "--first-treated",
        "first.treat",
        "--json",
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert {
        "method",
        "estimand",
        "estimate",
        "effects",
        "n_obs",
        "n_units",
        "n_treated",
        "details",
        "tables",
        "notes",
        "data",
    } <= set(doc)
    assert set(doc["estimate"]) == {
        "name",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "p_value",
        "scale",
    }
    ref = json.loads((eval_dir / "mpdta" / "reference.json").read_text())
    assert doc["estimate"]["estimate"] == pytest.approx(
        ref["spec_unconditional"]["aggregations"]["simple"]["reproduced"], abs=1e-4
    )


def test_did_with_explicit_group_and_post(eval_dir):
    res = _invoke(
        "did",
        "--data",
        str(eval_dir / "card_krueger" / "njmin3.csv"),
        "--outcome",
        "fte",
        "--treated",
        "d_nj",
        "--treated-group",
        "nj",
        "--post",
        "d",
        "--json",
    )
    assert res.exit_code == 0, res.output
    ref = json.loads((eval_dir / "card_krueger" / "reference.json").read_text())
    assert json.loads(res.output)["estimate"]["estimate"] == pytest.approx(
        ref["estimates"][0]["published_estimate"], abs=1e-4
    )


def test_its_with_options(eval_dir):
    res = _invoke(
        "its",
        "--data",
        str(eval_dir / "sicily_its" / "sicily.csv"),
        "--time",
        "time",
        "--outcome",
        "aces",
        "--treated",
        "smokban",
        "-o",
        "population=stdpop",
        "-o",
        "season=month",
        "-o",
        "slope_change=false",
        "--json",
    )
    assert res.exit_code == 0, res.output
    ref = json.loads((eval_dir / "sicily_its" / "reference.json").read_text())
    assert json.loads(res.output)["estimate"]["estimate"] == pytest.approx(
        ref["oracle"]["published_rr"], abs=1e-4
    )


def test_rich_table_output_and_group(tmp_path):
    path = tmp_path / "panel.parquet"
    staggered_panel(4, n_units=120).to_parquet(path)
    res = _invoke(
        "staggered",
        "--data",
        str(path),
        "--unit",
        "practice",
        "--time",
        "period",
        "--outcome",
        "y",
        "--treated",
        "d",
        "--group",
        "imd",
        "--cluster",
        "practice",
    )
    assert res.exit_code == 0, res.output
    assert "simple" in res.output and "gap:imd=" in res.output


def test_patient_level_aipw(tmp_path):
    path = tmp_path / "patients.csv"
    patients(5).to_csv(path, index=False)
    res = _invoke(
        "aipw",
        "--data",
        str(path),
        "--outcome",
        "y",
        "--treated",
        "d",
        "--covariates",
        "age,imd",
        "--json",
    )
    assert res.exit_code == 0, res.output
    assert (
        json.loads(res.output)["estimate"]["ci_low"]
        < -2.0
        < json.loads(res.output)["estimate"]["ci_high"]
    )


def test_patient_level_aipw_att_clustered(tmp_path):
    """`--cluster practice -o estimand=att`: doubly robust ATT, practice-clustered t CI."""
    data = patients(6)
    data["practice"] = [f"P{i % 25:02d}" for i in range(len(data))]
    path = tmp_path / "patients.csv"
    data.to_csv(path, index=False)
    args = ["aipw", "--data", str(path), "--outcome", "y", "--treated", "d"]
    args += ["--covariates", "age,imd", "-o", "estimand=att", "--json"]
    iid = json.loads(_invoke(*args).output)
    res = _invoke(*args, "--cluster", "practice")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["estimand"] == "ATT"
    assert doc["details"]["n_clusters"] == 25
    assert doc["details"]["df"] == 24
    assert doc["estimate"]["estimate"] == pytest.approx(iid["estimate"]["estimate"])
    assert doc["estimate"]["se"] != pytest.approx(iid["estimate"]["se"], rel=1e-6)
    assert doc["estimate"]["ci_low"] < -2.0 < doc["estimate"]["ci_high"]


def test_match_method(tmp_path):
    path = tmp_path / "patients.csv"
    patients(6).to_csv(path, index=False)
    res = _invoke(
        "match",
        "--data",
        str(path),
        "--outcome",
        "y",
        "--treated",
        "d",
        "--covariates",
        "age,imd",
        "--json",
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert "balance" in doc["tables"]


def test_missing_column_error(eval_dir):
    res = _invoke(
        "staggered",
        "--data",
        str(eval_dir / "mpdta" / "mpdta.csv"),
        "--unit",
        "county",
        "--time",
        "year",
        "--outcome",
        "lemp",
        "--treated",
        "treat",
    )
    assert isinstance(res.exception, InputDataError)
    assert "'county'" in str(res.exception)


def test_insufficient_data_error(tmp_path):
    data = staggered_panel(1, n_units=30)
    data = data[data["first"] > 0]
    path = tmp_path / "p.csv"
    data.to_csv(path, index=False)
    res = _invoke(
        "synth",
        "--data",
        str(path),
        "--unit",
        "practice",
        "--time",
        "period",
        "--outcome",
        "y",
        "--treated",
        "d",
    )
    assert isinstance(res.exception, InsufficientDataError | InputDataError)


def test_unknown_method_and_bad_file(tmp_path):
    assert isinstance(
        _invoke(
            "magic", "--data", "x.csv", "--outcome", "y", "--treated", "d"
        ).exception,
        DefinitionError,
    )
    bad = tmp_path / "x.txt"
    bad.write_text("a")
    res = _invoke("did", "--data", str(bad), "--outcome", "y", "--treated", "d")
    assert isinstance(res.exception, InputDataError) and ".csv or .parquet" in str(
        res.exception
    )


def test_bad_option_syntax(eval_dir):
    res = _invoke(
        "its",
        "--data",
        str(eval_dir / "sicily_its" / "sicily.csv"),
        "--time",
        "time",
        "--outcome",
        "aces",
        "--treated",
        "smokban",
        "-o",
        "population",
    )
    assert isinstance(res.exception, InputDataError) and "KEY=VALUE" in str(
        res.exception
    )


def test_report_folder_written(tmp_path):
    path = tmp_path / "panel.csv"
    staggered_panel(7, n_units=80).to_csv(path, index=False)
    out = tmp_path / "out"
    res = _invoke(
        "staggered",
        "--data",
        str(path),
        "--unit",
        "practice",
        "--time",
        "period",
        "--outcome",
        "y",
        "--treated",
        "d",
        "--first-treated",
        "first",
        "--group",
        "imd",
        "--report",
        str(out),
        "--title",
        "Demo pilot",
    )
    assert res.exit_code == 0, res.output
    html = (out / "report.html").read_text()
    assert "Demo pilot" in html and "Effects by inequality group" in html
    assert (
        json.loads((out / "results.json").read_text())["results"]["main"]["method"]
        == "staggered"
    )
    assert (out / "analysis_data.csv").exists()
