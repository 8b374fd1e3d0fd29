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
    assert supported(relative) and supported(mean_value)
    text = definition(codes, numerator="sex == ethnicity")
    assert not supported(text)
    linked = definition(
        codes,
        unit="event",
        events="table=apcs, date=discharge_date, within=period",
        numerator=(
            "has(table=social_care_packages, link=after_discharge_spell_id, "
            "within=ever)"
        ),
    )
    assert not supported(linked)
    library = load_definitions([SHIPPED_LIBRARY])
    assert sum(supported(d) for d in library) > len(library) // 2
    # An external expected-rate table (per-person probabilities) stays in SQL.
    by_id = {d.id: d for d in library}
    assert not supported(by_id["prevalence-expected-dementia"])
    assert supported(by_id["prevalence-ratio-dementia"])
    evaluator = DenseEvaluator(duck_tables, periods)
    values = evaluator.expression_values(text, {"x": text.numerator})
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


def _spells() -> list[dict[str, Any]]:
    """Spells for `_overlapping_registrations`' patients: on days outside any
    registration, before and after a practice change inside a rolling window,
    readmissions on day 30 and day 31, two spells on one day, a spell with no
    discharge date, a death on discharge and spells of an unknown patient."""
    rows = [
        # (patient, admitted, discharged, method, destination)
        (1, "2023-12-20", "2024-01-05", "emergency", "home"),
        (1, "2024-01-20", "2024-02-04", "emergency", "home"),  # day 30 after 1st
        (1, "2024-02-05", "2024-02-15", "elective", "home"),  # day 31 after 2nd +1
        (1, "2024-03-06", "2024-03-06", "emergency", "died"),
        (2, "2024-01-25", "2024-02-10", "emergency", "home"),  # between regs
        (2, "2024-02-10", "2024-02-12", "emergency", "home"),  # same day twice
        (2, "2024-02-10", "2024-02-11", "elective", "home"),
        (2, "2024-03-10", None, "emergency", "home"),
        (3, "2024-01-01", "2024-01-03", "elective", "care_home"),
        (4, "2024-01-15", "2024-01-30", "emergency", "home"),
        (4, "2024-02-29", "2024-03-02", "emergency", "home"),
        (5, "2024-02-10", "2024-02-12", "emergency", "home"),
        (5, "2024-04-20", "2024-04-22", "emergency", "home"),  # after its reg
        (99, "2024-02-01", "2024-02-03", "emergency", "home"),
    ]
    return [
        dict(
            spell_id=100 + i,
            patient_id=pid,
            admission_date=adm,
            discharge_date=dis,
            admission_method=method,
            primary_diagnosis="I21",
            discharge_destination=dest,
        )
        for i, (pid, adm, dis, method, dest) in enumerate(rows)
    ]


EVENT_LEVEL = [
    definition(
        {},
        id="readmit",
        unit="event",
        period="last_2_months",
        events="table=apcs, date=discharge_date, within=period",
        population="registered",
        exclusions='discharge_destination == "died"',
        numerator=(
            'has(table=apcs, admission_method="emergency", '
            "within=0 to 30 days after discharge_date)"
        ),
    ),
    definition(
        {},
        id="los",
        value_type="mean",
        unit="event",
        events='table=apcs, admission_method="emergency", within=period',
        numerator="discharge_date - admission_date",
    ),
    definition(
        {},
        id="rate",
        value_type="crude_rate",
        multiplier=1000,
        unit="event",
        events="table=apcs, within=ever",
        population="registered(at=period_start) or age >= 60",
        numerator=(
            "latest_date(table=apcs, within=1 to 40 days before admission_date)"
            " - earliest_date(table=apcs, within=0 to 1 months after admission_date)"
            " > -50"
        ),
    ),
]


def test_event_level_rows_and_sums_match_sql() -> None:
    """Event-level indicators on the dense path: the same (event, period) rows
    and measures as `compile_indicator`, and the same sums as the SQL path."""
    data = _overlapping_registrations()
    data["apcs"] = _spells()
    tables = load_tables(ibis.duckdb.connect(), _typed(data))
    periods = make_periods(dt.date(2023, 12, 1), dt.date(2024, 4, 30), Frequency.MONTH)
    dense = Engine(tables, periods, dense=True)
    sql = Engine(tables, periods, dense=False)
    cols = ["patient_id", "period_id", "practice_pseudo_id", "num", "den", "exc"]
    for d in EVENT_LEVEL:
        assert supported(d), d.id
        rows = dense.dense.event_rows(d)
        assert rows is not None
        want = sql.patient_level(d).to_pandas()
        got_rows = sorted(map(tuple, rows[cols].astype(float).to_numpy().tolist()))
        want_rows = sorted(map(tuple, want[cols].astype(float).to_numpy().tolist()))
        assert got_rows == want_rows, d.id
        assert len(got_rows) > 5
        a, b = dense.aggregate(d), sql.aggregate(d)
        assert len(a) > 0
        pd.testing.assert_frame_equal(
            _sorted(a), _sorted(b[a.columns]), check_dtype=False, rtol=1e-9
        )


def test_event_level_provider_rows_match_sql(
    duck_tables: dict[str, Any],
    examples: list[IndicatorDefinition],
    periods: list[Period],
) -> None:
    """Each event counts for its own provider on the dense path as in SQL."""
    dense = Engine(duck_tables, periods, dense=True)
    sql = Engine(duck_tables, periods, dense=False)
    taken = [d for d in examples if d.unit is Unit.EVENT]
    assert taken
    for d in taken:
        dense.aggregate(d)  # as `results`: the rows are shared with this pass
        a, b = dense.provider_aggregate(d), sql.provider_aggregate(d)
        assert a is not None and b is not None and len(a) > 0
        pd.testing.assert_frame_equal(
            _sorted(a), _sorted(b[a.columns]), check_dtype=False, rtol=1e-9
        )
    assert dense._grid is None  # no SQL grid was needed at all
