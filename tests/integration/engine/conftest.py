"""A small synthetic population loaded into DuckDB and SQLite, shared by the module."""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import pyarrow as pa
import pytest

from carepilot.engine.definitions import SHIPPED_LIBRARY, load_definitions
from carepilot.engine.sqlite import connect_sqlite
from carepilot.engine.tables import load_tables
from carepilot.indicators.model import IndicatorDefinition
from carepilot.indicators.periods import Frequency, Period, make_periods
from carepilot.synth.config import SynthConfig
from carepilot.synth.generate import generate


@pytest.fixture(scope="session")
def synth_data() -> dict[str, pa.Table]:
    return generate(SynthConfig(patients=1200, seed=7, months=24))


@pytest.fixture(scope="session")
def examples() -> list[IndicatorDefinition]:
    return load_definitions([SHIPPED_LIBRARY / "examples"])


@pytest.fixture(scope="session")
def periods() -> list[Period]:
    return make_periods(dt.date(2022, 1, 1), dt.date(2022, 6, 1), Frequency.MONTH)


@pytest.fixture(scope="session")
def duck_tables(synth_data: dict[str, pa.Table]) -> dict[str, Any]:
    return load_tables(ibis.duckdb.connect(), synth_data)


@pytest.fixture(scope="session")
def sqlite_tables(synth_data: dict[str, pa.Table]) -> dict[str, Any]:
    return load_tables(connect_sqlite(), synth_data)


@pytest.fixture(scope="session")
def spark_con() -> Any:
    """One local Spark session (and Ibis connection) for the whole test session.

    Small-data settings: few shuffle partitions and no adaptive re-planning, which
    on test-sized data cost more than they save. Starts offline (loopback only).
    """
    pytest.importorskip("pyspark")
    from carepilot.engine.spark import connect, spark_session

    session = spark_session(
        "local[2]",
        {"spark.sql.shuffle.partitions": "2", "spark.sql.adaptive.enabled": "false"},
        app_name="carepilot-tests",
    )
    return connect(session)
