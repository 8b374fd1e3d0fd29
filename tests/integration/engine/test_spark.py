"""The engine on Spark local mode: the same numbers as DuckDB, clear errors on
bad input (no JVM stack traces), and the CLI `--backend spark` path."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from carepilot.cli import indicators as indicators_cli
from carepilot.disclosure import ROW_LEVEL_ACCESS
from carepilot.engine.definitions import SHIPPED_LIBRARY, load_definitions
from carepilot.engine.parquet import duckdb_parquet_tables
from carepilot.engine.run import Engine, run_indicators
from carepilot.engine.spark import spark_tables
from carepilot.errors import InputDataError
from carepilot.indicators.periods import Frequency, make_periods
from carepilot.library import definition_paths
from carepilot.synth.config import SynthConfig
from carepilot.synth.generate import write_population
from tests.integration.library.test_demo_population import NOT_SYNTHESISED

pytestmark = pytest.mark.spark

KEY = [
    "indicator_id",
    "period_start",
    "area_type",
    "area_code",
    "breakdown",
    "category",
]
MEASURES = (
    "numerator",
    "denominator",
    "exceptions",
    "value",
    "lower_ci_95",
    "upper_ci_95",
    "lower_ci_99_8",
    "upper_ci_99_8",
)


@pytest.fixture(scope="module")
def small_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("spark") / "data"
    config = SynthConfig(patients=2_000, seed=7, months=24, chunk_size=1_000)
    write_population(config, out, "parquet-partitioned")
    return out


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(KEY).reset_index(drop=True)


def assert_same_results(a: pd.DataFrame, b: pd.DataFrame) -> None:
    a, b = _sorted(a), _sorted(b)
    assert len(a) == len(b)
    pd.testing.assert_frame_equal(a[KEY], b[KEY])
    for col in MEASURES:
        np.testing.assert_allclose(
            a[col].to_numpy(float),
            b[col].to_numpy(float),
            rtol=1e-9,
            equal_nan=True,
            err_msg=col,
        )
    assert (a["comparison"] == b["comparison"]).all()


def test_examples_match_duckdb_on_a_small_population(
    spark_con: Any, small_parquet: Path
) -> None:
    defs = load_definitions([SHIPPED_LIBRARY / "examples"])
    periods = make_periods(dt.date(2022, 1, 1), dt.date(2022, 6, 1), Frequency.QUARTER)
    duck = run_indicators(
        Engine(
            duckdb_parquet_tables(ibis.duckdb.connect(), str(small_parquet)), periods
        ),
        defs,
        ROW_LEVEL_ACCESS,
    )
    spark = run_indicators(
        Engine(spark_tables(spark_con, str(small_parquet)), periods),
        defs,
        ROW_LEVEL_ACCESS,
    )
    assert len(duck) > 1000
    assert_same_results(duck, spark)


@pytest.mark.slow
def test_full_library_identical_on_duckdb_and_spark_50k(
    spark_con: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The acceptance test of issue 10: every standard-library indicator, 50,000
    patients, 4 quarters, every breakdown and area level."""
    data = tmp_path_factory.mktemp("spark50k") / "data"
    config = SynthConfig(patients=50_000, seed=11, months=24, start=dt.date(2021, 4, 1))
    write_population(config, data, "parquet-partitioned")
    defs = load_definitions(definition_paths(), [])
    periods = make_periods(dt.date(2022, 4, 1), dt.date(2023, 3, 1), Frequency.QUARTER)
    duck = run_indicators(
        Engine(duckdb_parquet_tables(ibis.duckdb.connect(), str(data)), periods),
        defs,
        ROW_LEVEL_ACCESS,
    )
    spark = run_indicators(
        Engine(spark_tables(spark_con, str(data)), periods), defs, ROW_LEVEL_ACCESS
    )
    assert set(duck["indicator_id"]) == {d.id for d in defs} - set(NOT_SYNTHESISED)
    assert set(spark["indicator_id"]) == set(duck["indicator_id"])
    assert_same_results(duck, spark)


def test_missing_required_table_is_a_clear_error(
    spark_con: Any, small_parquet: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for name in ("patients", "practices"):
        (data / name).symlink_to(small_parquet / name)
    with pytest.raises(InputDataError, match=r"`practice_registrations` \(expected"):
        spark_tables(spark_con, str(data))


def test_missing_optional_table_is_empty(
    spark_con: Any, small_parquet: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for name in ("patients", "practices", "practice_registrations"):
        (data / name).symlink_to(small_parquet / name)
    tables = spark_tables(spark_con, str(data))
    assert tables["apcs"].count().execute() == 0
    assert tables["patients"].count().execute() == 2_000


def test_schema_mismatch_between_partitions_names_the_files(
    spark_con: Any, small_parquet: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for name in ("practices", "practice_registrations"):
        (data / name).symlink_to(small_parquet / name)
    (data / "patients").mkdir()
    first = pq.read_table(small_parquet / "patients" / "part-00000.parquet")
    pq.write_table(first, data / "patients" / "part-00000.parquet")
    bad = first.set_column(
        first.schema.get_field_index("imd_decile"),
        "imd_decile",
        first["imd_decile"].cast(pa.string()),
    )
    pq.write_table(bad, data / "patients" / "part-00001.parquet")
    with pytest.raises(InputDataError) as err:
        spark_tables(spark_con, str(data))
    message = str(err.value)
    assert "schema mismatch between partitions" in message
    assert "`imd_decile` is int64 in" in message and "part-00001.parquet" in message
    assert "\tat " not in message


runner = CliRunner()
app = typer.Typer(pretty_exceptions_enable=False)
indicators_cli.register(app)


@app.callback()
def _root() -> None:
    """carepilot (indicators only)."""


def test_cli_run_on_spark_writes_the_same_results_as_duckdb(
    spark_con: Any, small_parquet: Path, tmp_path: Path
) -> None:
    del spark_con  # the CLI reuses the test session's JVM (getOrCreate)
    common = [
        "indicators", "run", "--data", str(small_parquet), "-d", str(SHIPPED_LIBRARY / "examples"),
        "-i", "dm-prevalence", "-i", "acsc-emergency-admissions",
        "--from", "2022-01", "--to", "2022-03", "--frequency", "quarter",
    ]  # fmt: skip
    spark_out, duck_out = tmp_path / "spark.parquet", tmp_path / "duck.parquet"
    result = runner.invoke(
        app,
        [
            *common,
            "--backend",
            "spark",
            "--spark-master",
            "local[2]",
            "--out",
            str(spark_out),
        ],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, [*common, "--out", str(duck_out)])
    assert result.exit_code == 0, result.output
    spark, duck = pd.read_parquet(spark_out), pd.read_parquet(duck_out)
    assert len(spark) > 100 and spark["suppressed"].any()  # OpenSAFELY by default
    assert_same_results(duck, spark)
