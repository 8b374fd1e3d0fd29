"""The dense NumPy path (`engine.dense`) gives exactly the SQL path's rows."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pytest

from carepilot.engine.dense import DenseEvaluator, DenseGrid, supported
from carepilot.engine.run import Engine
from carepilot.engine.tables import load_tables
from carepilot.indicators.compile import build_grid, periods_table
from carepilot.indicators.model import IndicatorDefinition, Unit
from carepilot.indicators.periods import Frequency, Period, make_periods
from tests.spec.harness import PRACTICES, _typed, definition, sct


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in frame.columns if c not in ("num", "den", "exc", "num_sq", "n")]
    frame = frame.astype({"value": str, "attribute": str})
    return frame.sort_values(keys).reset_index(drop=True)


def test_dense_aggregation_matches_sql(
    duck_tables: dict[str, Any],
    examples: list[IndicatorDefinition],
    periods: list[Period],
) -> None:
    dense = Engine(duck_tables, periods, dense=True)
    sql = Engine(duck_tables, periods, dense=False)
    taken = [d for d in examples if supported(d)]
    assert len(taken) >= 8  # every patient-level example
    for d in taken:
        a, b = dense.aggregate(d), sql.aggregate(d)
        assert len(a) > 0
        pd.testing.assert_frame_equal(
            _sorted(a), _sorted(b[a.columns]), check_dtype=False, rtol=1e-9
        )
    assert sql.timings.grid > 0  # the SQL path built its grid...
    assert dense._grid is None  # ...the dense one never needed it


def test_small_chunks_in_threads_give_the_same_rows(
    duck_tables: dict[str, Any],
    examples: list[IndicatorDefinition],
    periods: list[Period],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    whole = Engine(duck_tables, periods, dense=True)
    expected = {d.id: whole.aggregate(d) for d in examples if supported(d)}
    monkeypatch.setattr("carepilot.engine.dense.CHUNK_CELLS", 100)
    chunked = Engine(duck_tables, periods, dense=True)
    chunked.dense.threads = 2
    for d in examples:
        if d.id in expected:
            got = chunked.aggregate(d)
            pd.testing.assert_frame_equal(
                _sorted(got), _sorted(expected[d.id]), check_dtype=False, rtol=1e-9
            )


def test_step_sums_equal_cell_by_cell_sums(
    duck_tables: dict[str, Any],
    examples: list[IndicatorDefinition],
    periods: list[Period],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Integer measures summed as period-to-period changes (chunk by chunk)
    give exactly the sums of every cell."""
    taken = [d for d in examples if supported(d)]
    monkeypatch.setattr("carepilot.engine.dense.CHUNK_CELLS", 300)
    monkeypatch.setattr("carepilot.engine.dense._Sums.STEP_FRACTION", 0.0)
    cells = Engine(duck_tables, periods, dense=True)
    expected = {d.id: cells.aggregate(d) for d in taken}
    monkeypatch.setattr("carepilot.engine.dense._Sums.STEP_FRACTION", 1.0)
    steps = Engine(duck_tables, periods, dense=True)
    for d in taken:
        pd.testing.assert_frame_equal(
            _sorted(steps.aggregate(d)),
            _sorted(expected[d.id]),
            check_dtype=False,
            check_exact=True,
        )


def test_dense_and_sql_results_are_identical(
    duck_tables: dict[str, Any],
    examples: list[IndicatorDefinition],
    periods: list[Period],
) -> None:
    """End to end, including event-level examples (which fall back to SQL)."""
    dense = Engine(duck_tables, periods, dense=True)
    sql = Engine(duck_tables, periods, dense=False)
    assert any(d.unit is Unit.EVENT for d in examples)
    for d in examples:
        a, b = dense.results(d), sql.results(d)
        assert len(a) > 0
        pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-9)


def test_dense_grid_is_the_sql_grid(
    duck_tables: dict[str, Any], periods: list[Period]
) -> None:
    grid = DenseGrid.build(duck_tables, periods)
    assert grid is not None
    want = (
        build_grid(duck_tables, periods_table(periods))
        .to_pandas()
        .sort_values(["patient_id", "period_id"])
        .reset_index(drop=True)
    )
    rows, cols = np.nonzero(grid.present)
    got = pd.DataFrame(
        {
            "patient_id": grid.ids[rows],
            "period_id": cols,
            "practice_pseudo_id": grid.practice[rows, cols],
            "reg_start_ymd": grid.reg_start_ymd[rows, cols],
            "covers_end": grid.covers_end[rows, cols],
        }
    ).sort_values(["patient_id", "period_id"])
    got = got.reset_index(drop=True)
    assert len(got) == len(want) > 1000
    for c in got.columns:
        np.testing.assert_array_equal(got[c].to_numpy(), want[c].to_numpy(), c)


def test_uploaded_grid_is_the_sql_grid(
    duck_tables: dict[str, Any], periods: list[Period], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The grid table the SQL path gets from the dense grid (event-level
    indicators) has the rows, columns and types of `build_grid`, also when it
    is written in many chunks."""
    monkeypatch.setattr("carepilot.engine.dense.CHUNK_CELLS", 500)
    uploaded = DenseEvaluator(duck_tables, periods).grid_table()
    assert uploaded is not None
    built = build_grid(duck_tables, periods_table(periods))
    assert uploaded.schema() == built.schema()
    order = ["patient_id", "period_id"]
    got = uploaded.to_pandas().sort_values(order).reset_index(drop=True)
    want = built.to_pandas().sort_values(order).reset_index(drop=True)
    assert len(got) > 1000
    pd.testing.assert_frame_equal(got, want[list(got.columns)])


def _overlapping_registrations() -> dict[str, list[dict[str, Any]]]:
    """Patients with several registrations: changes mid-period, gaps, two
    registrations covering the period end, same-day starts, unknown patients,
    a missing date of birth and a birthday on 29 February."""
    patients = [
        dict(patient_id=i, date_of_birth=dob, sex="female")
        for i, dob in (
            (1, "1950-01-01"),
            (2, "2000-02-29"),
            (3, "2019-03-01"),
            (4, "1980-06-01"),
            (5, "1962-05-01"),
        )
    ]
    regs = [
        dict(
            patient_id=1,
            start_date="2020-01-01",
            end_date="2024-02-10",
            practice_pseudo_id=1,
        ),
        dict(
            patient_id=1, start_date="2024-02-11", end_date=None, practice_pseudo_id=2
        ),
        dict(
            patient_id=2,
            start_date="2023-12-15",
            end_date="2024-01-20",
            practice_pseudo_id=3,
        ),
        dict(
            patient_id=2, start_date="2024-03-05", end_date=None, practice_pseudo_id=1
        ),
        dict(
            patient_id=3, start_date="2022-01-01", end_date=None, practice_pseudo_id=2
        ),
        dict(
            patient_id=3, start_date="2022-01-01", end_date=None, practice_pseudo_id=3
        ),
        dict(
            patient_id=4,
            start_date="2024-01-10",
            end_date="2024-01-31",
            practice_pseudo_id=2,
        ),
        dict(
            patient_id=4, start_date="2023-01-01", end_date=None, practice_pseudo_id=1
        ),
        dict(
            patient_id=5,
            start_date="2024-02-01",
            end_date="2024-02-29",
            practice_pseudo_id=3,
        ),
        dict(
            patient_id=99, start_date="2020-01-01", end_date=None, practice_pseudo_id=1
        ),
    ]
    return {
        "patients": patients,
        "practice_registrations": regs,
        "practices": PRACTICES,
    }


def test_dense_grid_picks_the_sql_registration() -> None:
    tables = load_tables(ibis.duckdb.connect(), _typed(_overlapping_registrations()))
    periods = make_periods(dt.date(2023, 12, 1), dt.date(2024, 4, 30), Frequency.MONTH)
    grid = DenseGrid.build(tables, periods)
    assert grid is not None
    want = build_grid(tables, periods_table(periods)).to_pandas()
    rows, cols = np.nonzero(grid.present)
    got = {
        (int(grid.ids[r]), int(c)): (
            int(grid.practice[r, c]),
            int(grid.reg_start_ymd[r, c]),
            bool(grid.covers_end[r, c]),
            int((grid.end_ymd[c] - grid.dob_ymd[r]) // 10000),
        )
        for r, c in zip(rows, cols, strict=True)
    }
    expected = {
        (int(r["patient_id"]), int(r["period_id"])): (
            int(r["practice_pseudo_id"]),
            int(r["reg_start_ymd"]),
            bool(r["covers_end"]),
            int(r["age"]),
        )
        for r in want.to_dict("records")
    }
    assert got == expected
    assert 99 not in {k[0] for k in got}


def test_dense_evaluator_reads_each_event_source_once(
    duck_tables: dict[str, Any],
    examples: list[IndicatorDefinition],
    periods: list[Period],
) -> None:
    """Indicators sharing a codelist and filters share one sorted event array."""
    engine = Engine(duck_tables, periods, dense=True)
    by_id = {d.id: d for d in examples}
    twin = dataclasses.replace(by_id["dm-prevalence"], id="dm-prevalence-twin")
    engine.aggregate(by_id["dm-prevalence"])
    read = dict(engine.dense._events)
    engine.aggregate(twin)
    assert engine.dense._events == read and read


def test_unsupported_constructs_fall_back_to_sql(
    duck_tables: dict[str, Any], periods: list[Period]
) -> None:
    from carepilot.engine.definitions import SHIPPED_LIBRARY, load_definitions

    codes = {"a": ("snomedct", [sct(11)]), "b": ("snomedct", [sct(12)])}
    relative = definition(
        codes,
        numerator="has(b, within=0 to 20 days after earliest_date(a, within=ever))",
    )
    mean_value = definition(codes, numerator="mean_value(a, within=ever) > 5")
    assert not supported(relative) and not supported(mean_value)
    library = load_definitions([SHIPPED_LIBRARY])
    assert sum(supported(d) for d in library) > len(library) // 2
    # An external expected-rate table (per-person probabilities) stays in SQL.
    by_id = {d.id: d for d in library}
    assert not supported(by_id["prevalence-expected-dementia"])
    assert supported(by_id["prevalence-ratio-dementia"])
    evaluator = DenseEvaluator(duck_tables, periods)
    values = evaluator.expression_values(mean_value, {"x": mean_value.numerator})
    assert values is not None and "x" not in values.columns


@pytest.mark.slow
def test_dense_matches_sql_on_the_whole_library(
    duck_tables: dict[str, Any], periods: list[Period]
) -> None:
    """Every library indicator the dense path takes, against the SQL path."""
    from carepilot.engine.definitions import SHIPPED_LIBRARY, load_definitions

    dense = Engine(duck_tables, periods, dense=True)
    sql = Engine(duck_tables, periods, dense=False)
    taken = [d for d in load_definitions([SHIPPED_LIBRARY]) if supported(d)]
    assert len(taken) > 30
    for d in taken:
        a, b = dense.aggregate(d), sql.aggregate(d)
        assert len(a) == len(b), d.id
        if len(a):
            pd.testing.assert_frame_equal(
                _sorted(a), _sorted(b[a.columns]), check_dtype=False, rtol=1e-9
            )
