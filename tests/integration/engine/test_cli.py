"""`carepilot indicators` commands on a DuckDB file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from carepilot.cli import indicators as indicators_cli
from carepilot.engine.definitions import SHIPPED_LIBRARY
from carepilot.errors import DefinitionError

EXAMPLES = str(SHIPPED_LIBRARY / "examples")


@pytest.fixture(scope="module")
def db(
    tmp_path_factory: pytest.TempPathFactory, synth_data: dict[str, pa.Table]
) -> Path:
    path = tmp_path_factory.mktemp("db") / "analytics.duckdb"
    con = duckdb.connect(str(path))
    for name, table in synth_data.items():
        con.register("_t", table)
        con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _t')
        con.unregister("_t")
    con.close()
    return path


runner = CliRunner()
# Only this command group: the test must not depend on other groups' state.
app = typer.Typer(pretty_exceptions_enable=False)
indicators_cli.register(app)


@app.callback()
def _root() -> None:
    """carepilot (indicators only)."""


def test_run_writes_parquet(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    result = runner.invoke(
        app,
        [
            "indicators",
            "run",
            "--db",
            str(db),
            "-d",
            EXAMPLES,
            "-i",
            "dm-prevalence",
            "-i",
            "acsc-emergency-admissions",
            "--from",
            "2022-01",
            "--to",
            "2022-06",
            "--frequency",
            "quarter",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pq.read_table(out).to_pandas()
    assert set(table.indicator_id) == {"dm-prevalence", "acsc-emergency-admissions"}
    assert table.period_start.nunique() == 2
    assert table.suppressed.any()  # opensafely is the default
    practice = table[table.area_type == "practice"]
    assert set(practice.breakdown) == {"total"}  # practices: totals by default
    assert "imd_quintile" in set(table[table.area_type == "national"].breakdown)


def test_run_practice_breakdowns_option(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    args = [
        "indicators",
        "run",
        "--db",
        str(db),
        "-d",
        EXAMPLES,
        "-i",
        "dm-prevalence",
        "--from",
        "2022-01",
        "--to",
        "2022-01",
        "--out",
        str(out),
    ]
    result = runner.invoke(app, [*args, "--practice-breakdowns", "sex,imd_quintile"])
    assert result.exit_code == 0, result.output
    table = pq.read_table(out).to_pandas()
    assert set(table[table.area_type == "practice"].breakdown) == {
        "total",
        "sex",
        "imd_quintile",
    }
    bad = runner.invoke(app, [*args, "--practice-breakdowns", "sex,imd_quintel"])
    assert bad.exit_code != 0
    assert "unknown breakdown(s) imd_quintel" in str(bad.exception)


def test_run_disclosure_none_warns(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = runner.invoke(
        app,
        [
            "indicators",
            "run",
            "--db",
            str(db),
            "-d",
            EXAMPLES,
            "-i",
            "dm-prevalence",
            "--from",
            "2022-01",
            "--to",
            "2022-01",
            "--out",
            str(out),
            "--disclosure",
            "none",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "NOT disclosure" in result.output
    assert out.read_text().count("\n") > 10


def test_check_ok_and_bad(tmp_path: Path) -> None:
    result = runner.invoke(app, ["indicators", "check", EXAMPLES])
    assert result.exit_code == 0 and "valid" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        Path(EXAMPLES, "dm-prevalence.yaml")
        .read_text()
        .replace("age >= 17", "agee >= 17")
    )
    result = runner.invoke(app, ["indicators", "check", str(bad)])
    assert isinstance(result.exception, DefinitionError)
    assert f"{bad}:14" in str(result.exception)


def test_explain_and_list() -> None:
    result = runner.invoke(
        app, ["indicators", "explain", "dm-hba1c-58", "-d", EXAMPLES]
    )
    assert result.exit_code == 0, result.output
    assert "SELECT" in result.output and "GROUP BY" in result.output
    result = runner.invoke(app, ["indicators", "list", "-d", EXAMPLES])
    assert result.exit_code == 0 and "dm-hba1c" in result.output
