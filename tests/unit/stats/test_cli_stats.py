"""`carepilot stats …` through Typer's CliRunner, checked against the PHE oracles."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from carepilot.cli.main import app
from carepilot.errors import InputDataError

from .conftest import assert_close

runner = CliRunner()


def _csv(result_output: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(result_output))


def test_proportion_command_matches_oracle(phe_oracles: Path, tmp_path: Path) -> None:
    cases = pd.read_csv(phe_oracles / "phe_proportion" / "cases.csv")
    rows = cases[cases["case"] == "multiplier_100"]
    path = tmp_path / "in.csv"
    rows[["area", "numerator", "denominator"]].to_csv(path, index=False)
    result = runner.invoke(
        app,
        [
            "stats",
            "proportion",
            "--data",
            str(path),
            "--numerator",
            "numerator",
            "--denominator",
            "denominator",
            "--multiplier",
            "100",
        ],
    )
    assert result.exit_code == 0, result.output
    out = _csv(result.output)
    assert_close(out["upper99_8cl"], rows["expected_upper99_8cl"])


def test_rate_command_json_output(phe_oracles: Path, tmp_path: Path) -> None:
    cases = pd.read_csv(phe_oracles / "phe_rate" / "cases.csv")
    rows = cases[cases["case"] == "multiplier_100000"]
    path, out = tmp_path / "in.csv", tmp_path / "out.json"
    rows[["area", "numerator", "denominator"]].to_csv(path, index=False)
    result = runner.invoke(
        app,
        [
            "stats",
            "rate",
            "--data",
            str(path),
            "--numerator",
            "numerator",
            "--denominator",
            "denominator",
            "--confidence",
            "0.95",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    records = json.loads(out.read_text())
    assert_close([r["lower95_0cl"] for r in records], rows["expected_lower95_0cl"])
    assert "lower99_8cl" not in records[0]


def test_dsr_command_matches_oracle(phe_oracles: Path, tmp_path: Path) -> None:
    folder = phe_oracles / "calculate_dsr"
    data = pd.read_csv(folder / "input_multiarea.csv")
    data["ageband"] = data["ageband"].replace(
        {"55-69": "55-59"}
    )  # typo in the source sheet
    path = tmp_path / "in.csv"
    data.to_csv(path, index=False)
    result = runner.invoke(
        app,
        [
            "stats",
            "dsr",
            "--data",
            str(path),
            "--numerator",
            "count",
            "--denominator",
            "pop",
            "--age-band",
            "ageband",
            "--group-by",
            "area",
        ],
    )
    assert result.exit_code == 0, result.output
    exp = pd.read_csv(folder / "expected.csv")
    exp = exp[
        (exp["input_file"] == "input_multiarea.csv") & (exp["multiplier"] == 100000)
    ]
    merged = exp.merge(_csv(result.output), on="area", suffixes=("_exp", ""))
    assert_close(merged["value"], merged["value_exp"])


def test_isr_command_matches_oracle(phe_oracles: Path) -> None:
    folder = phe_oracles / "calculate_ISR"
    result = runner.invoke(
        app,
        [
            "stats",
            "isr",
            "--data",
            str(folder / "input_multiarea.csv"),
            "--numerator",
            "count",
            "--denominator",
            "pop",
            "--age-band",
            "ageband",
            "--reference",
            str(folder / "reference_population.csv"),
            "--group-by",
            "area",
            "--refvalue",
            "100",
        ],
    )
    assert result.exit_code == 0, result.output
    exp = pd.read_csv(folder / "expected.csv")
    exp = exp[
        (exp["function"] == "calculate_ISRatio")
        & (exp["multiplier_or_refvalue"] == 100)
        & (exp["input_file"] == "input_multiarea.csv")
    ]
    merged = exp.merge(_csv(result.output), on="area", suffixes=("_exp", ""))
    assert len(merged) == 3
    assert_close(merged["upper99_8cl"], merged["upper99_8cl_exp"])


def test_sii_funnel_mean_and_life_expectancy_commands(
    phe_oracles: Path, tmp_path: Path
) -> None:
    sii_rows = pd.read_csv(phe_oracles / "phe_sii" / "input.csv").query(
        "RecordNo <= 20"
    )
    sii_in = tmp_path / "sii.csv"
    sii_rows.to_csv(sii_in, index=False)
    result = runner.invoke(
        app,
        [
            "stats",
            "sii",
            "--data",
            str(sii_in),
            "--quantile",
            "Quantile",
            "--population",
            "Population",
            "--value",
            "Value",
            "--se",
            "StandardError",
            "--group-by",
            "Area",
            "--repetitions",
            "5000",
        ],
    )
    assert result.exit_code == 0, result.output
    expected = pd.read_csv(phe_oracles / "phe_sii" / "expected.csv").query(
        "RecordNo in (1, 11)"
    )
    merged = expected.merge(_csv(result.output), on="Area", suffixes=("_exp", ""))
    assert_close(merged["sii"], merged["sii_exp"])
    assert_close(merged["rii"], merged["rii_exp"])
    funnel_in = phe_oracles / "funnels" / "ratio_input.csv"
    result = runner.invoke(
        app,
        [
            "stats",
            "funnel",
            "--data",
            str(funnel_in),
            "--numerator",
            "obs",
            "--denominator",
            "expected",
            "--statistic",
            "ratio",
        ],
    )
    assert result.exit_code == 0, result.output
    out = _csv(result.output)
    assert (out["significance"] == out["expected_significance"]).all()
    result = runner.invoke(
        app,
        [
            "stats",
            "funnel",
            "--data",
            str(funnel_in),
            "--numerator",
            "obs",
            "--denominator",
            "expected",
            "--statistic",
            "ratio",
            "--limits",
        ],
    )
    assert result.exit_code == 0 and len(_csv(result.output)) == 100
    result = runner.invoke(
        app,
        [
            "stats",
            "mean",
            "--data",
            str(phe_oracles / "phe_mean" / "input.csv"),
            "--value",
            "values",
            "--group-by",
            "area",
        ],
    )
    assert result.exit_code == 0 and len(_csv(result.output)) == 2
    le = phe_oracles / "phe_life_expectancy"
    result = runner.invoke(
        app,
        [
            "stats",
            "life-expectancy",
            "--data",
            str(le / "input.csv"),
            "--deaths",
            "deaths",
            "--population",
            "pops",
            "--start-age",
            "startage",
        ],
    )
    assert result.exit_code == 0, result.output
    assert_close(
        _csv(result.output)["value"],
        pd.read_csv(le / "expected.csv")["value"],
        rtol=1e-8,
    )


@pytest.mark.parametrize(
    ("rows", "args", "message"),
    [
        ("x,n\n1,10\n", ["--numerator", "x", "--denominator", "pop"], "pop"),
        ("x,n\n1,10\n-2,10\n", ["--numerator", "x", "--denominator", "n"], "row 2"),
        (
            "x,n\n1,10\n12,10\n",
            ["--numerator", "x", "--denominator", "n"],
            "greater than",
        ),
        ("x,n\n1,10\nabc,10\n", ["--numerator", "x", "--denominator", "n"], "numeric"),
    ],
)
def test_bad_input_gives_user_error_naming_column_and_row(
    tmp_path: Path, rows: str, args: list[str], message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(rows)
    result = runner.invoke(app, ["stats", "proportion", "--data", str(path), *args])
    assert result.exit_code != 0
    assert isinstance(result.exception, InputDataError)
    assert message in str(result.exception) and str(path) in str(result.exception)


def test_missing_file_and_unknown_age_band(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "stats",
            "rate",
            "--data",
            str(tmp_path / "nope.csv"),
            "--numerator",
            "x",
            "--denominator",
            "n",
        ],
    )
    assert isinstance(result.exception, InputDataError)
    path = tmp_path / "bands.csv"
    path.write_text("band,x,n\n0-4,1,10\n100+,1,10\n")
    result = runner.invoke(
        app,
        [
            "stats",
            "dsr",
            "--data",
            str(path),
            "--numerator",
            "x",
            "--denominator",
            "n",
            "--age-band",
            "band",
        ],
    )
    assert isinstance(result.exception, InputDataError)
    assert "100+" in str(result.exception)
