"""Generative test: on random small datasets the reference evaluator, DuckDB and
SQLite give the same value for every expression, patient and period."""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carepilot.engine.dense import DenseEvaluator
from carepilot.engine.sqlite import connect_sqlite
from carepilot.engine.tables import load_tables
from carepilot.indicators.compile import compile_expressions
from carepilot.indicators.parse import parse_expression
from carepilot.indicators.reference import evaluate_expression
from tests.spec.harness import PRACTICES, _clean, _typed, definition, months, sct

A, B = sct(11), sct(12)
CODELISTS = {
    "a": ("snomedct", [A]),
    "b": ("snomedct", [B]),
    "acsc": ("icd10", ["J44.1"]),
}
EXPRESSIONS = {
    "has_a": "has(a, within=2 months)",
    "count_a": "count(a, within=period)",
    "latest_a": "latest_date(a, within=ever)",
    "first_b": "earliest_date(b, within=3 months)",
    "val_a": "latest_value(a, within=12 months)",
    "mean_a": "mean_value(a, within=ever)",
    "ctrl": "latest_value(a, within=12 months) <= 50 or not has(b, within=ever)",
    "dx": "diagnosed(a, resolved=b)",
    "reg3": "registered(months=3) and age >= 18",
    "reg_start": "registered(at=period_start)",
    "spells": 'count(acsc, admission_method="emergency", within=period)',
    "imd": 'imd_decile <= 3 and sex == "female"',
    "rel": "has(b, within=0 to 20 days after earliest_date(a, within=ever))",
    "rel_before": "count(a, within=1 to 2 weeks before latest_date(b, within=ever))",
    "diff": "latest_date(a, within=ever) - earliest_date(b, within=ever)",
    "arith": "latest_value(a, within=12 months) / count(a, within=ever) - 1",
    "shift": "latest_date(a, within=ever) + 10 days >= period_end",
    "mshift": "latest_date(a, within=ever) + 1 month - 2 days >= period_end",
    "rel_m": "count(b, within=0 to 1 months after earliest_date(a, within=ever))",
    "where_n": (
        "count(table=apcs, within=ever, "
        "where=discharge_date is null or discharge_date - admission_date > 2)"
    ),
    "los": "sum_value(table=apcs, value=discharge_date - admission_date, within=period)",
    "minmax": "max_value(a, within=12 months) - min_value(a, within=2 months)",
    "rel_sum": "sum_value(a, within=0 to 30 days after earliest_date(b, within=ever))",
}
INT_NAMES = ("count_a", "spells", "rel_before", "where_n", "diff", "rel_m")
PERIODS = months("2024-01", "2024-03")

dates = st.dates(dt.date(2023, 1, 1), dt.date(2024, 4, 30))


@st.composite
def datasets(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    n = draw(st.integers(1, 6))
    patients, regs, events, spells = [], [], [], []
    for pid in range(1, n + 1):
        patients.append(
            dict(
                patient_id=pid,
                date_of_birth=draw(
                    st.sampled_from(["1950-01-01", "2006-02-01", "2006-03-01"])
                ),
                sex=draw(st.sampled_from(["female", "male"])),
                imd_decile=draw(st.one_of(st.none(), st.integers(1, 10))),
            )
        )
        for _ in range(draw(st.integers(0, 2))):
            start = draw(dates)
            end = draw(st.one_of(st.none(), dates.filter(lambda d, s=start: d >= s)))
            regs.append(
                dict(
                    patient_id=pid,
                    start_date=start.isoformat(),
                    end_date=end.isoformat() if end else None,
                    practice_pseudo_id=draw(st.integers(1, 3)),
                )
            )
        for _ in range(draw(st.integers(0, 5))):
            events.append(
                dict(
                    patient_id=pid,
                    date=draw(dates).isoformat(),
                    snomedct_code=draw(st.sampled_from([A, B])),
                    numeric_value=draw(
                        st.one_of(st.none(), st.sampled_from([40.0, 50.0, 60.5]))
                    ),
                )
            )
        for i in range(draw(st.integers(0, 3))):
            admitted = draw(dates)
            stay = draw(st.one_of(st.none(), st.integers(0, 40)))
            spells.append(
                dict(
                    spell_id=pid * 10 + i,
                    patient_id=pid,
                    admission_date=admitted.isoformat(),
                    discharge_date=None
                    if stay is None
                    else (admitted + dt.timedelta(days=stay)).isoformat(),
                    admission_method=draw(st.sampled_from(["emergency", "elective"])),
                    primary_diagnosis=draw(st.sampled_from(["J44.1", "I21"])),
                )
            )
    return {
        "patients": patients,
        "practice_registrations": regs,
        "clinical_events": events,
        "apcs": spells,
        "practices": PRACTICES,
    }


DEFN = definition(CODELISTS)
SYSTEMS = {n: c.system for n, c in DEFN.codelists.items()}
NODES = {name: parse_expression(text, SYSTEMS) for name, text in EXPRESSIONS.items()}
CONNECTIONS = {"duckdb": ibis.duckdb.connect(), "sqlite": connect_sqlite()}


def _backend_values(
    engine: str, data: dict[str, list[dict[str, Any]]]
) -> dict[tuple[str, int, int], Any]:
    tables = load_tables(CONNECTIONS[engine], _typed(data))
    df = compile_expressions(DEFN, NODES, tables, PERIODS).to_pandas()
    out: dict[tuple[str, int, int], Any] = {}
    for row in df.to_dict("records"):
        for name in NODES:
            value = _clean(row[name])
            if isinstance(value, bool) or (name in INT_NAMES and value is not None):
                value = int(value) if not isinstance(value, bool) else value
            out[(name, int(row["patient_id"]), int(row["period_id"]))] = value
    return out


def _reference_values(
    data: dict[str, list[dict[str, Any]]],
) -> dict[tuple[str, int, int], Any]:
    typed = _typed(data)
    out: dict[tuple[str, int, int], Any] = {}
    for name, node in NODES.items():
        for (pid, i), v in evaluate_expression(node, DEFN, typed, PERIODS).items():
            out[(name, pid, i)] = v
    return out


def _normalise(
    values: dict[tuple[str, int, int], Any],
) -> dict[tuple[str, int, int], Any]:
    out = {}
    for k, v in values.items():
        if isinstance(v, float):
            v = round(v, 9)
        if isinstance(v, (bool, int)) and k[0] not in INT_NAMES:
            v = bool(v)
        out[k] = v
    return out


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_reference_duckdb_and_sqlite_agree(
    data: dict[str, list[dict[str, Any]]],
) -> None:
    expected = _normalise(_reference_values(data))
    for engine in CONNECTIONS:
        assert _normalise(_backend_values(engine, data)) == expected, engine


EVENT_DEFINITIONS = [
    definition(
        CODELISTS,
        id="readmit",
        unit="event",
        period="last_2_months",
        events="table=apcs, date=discharge_date, within=period",
        population="registered and age >= 18",
        exclusions="discharge_date > period_end - 7 days",
        numerator=(
            'has(table=apcs, admission_method="emergency", '
            "within=0 to 30 days after discharge_date) or has(a, within=ever)"
        ),
    ),
    definition(
        CODELISTS,
        id="los",
        value_type="mean",
        unit="event",
        events='table=apcs, admission_method="emergency", within=period',
        numerator="discharge_date - admission_date",
    ),
    definition(
        CODELISTS,
        id="within_a_month",
        unit="event",
        events="table=apcs, within=period",
        numerator=(
            "has(table=apcs, within=1 month after admission_date) "
            "or discharge_date <= admission_date + 1 month"
        ),
    ),
    definition(
        CODELISTS,
        id="values",
        value_type="mean",
        unit="event",
        events="table=apcs, within=period",
        numerator=(
            "mean_value(a, within=0 to 60 days after admission_date) + coalesce("
            "latest_value(table=apcs, value=discharge_date - admission_date, "
            "within=1 to 90 days before admission_date), 0)"
        ),
    ),
]


@pytest.mark.slow
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_event_level_rows_agree(data: dict[str, list[dict[str, Any]]]) -> None:
    """Event-level indicators: per-event rows agree on all three engines."""
    from carepilot.indicators.compile import compile_indicator
    from carepilot.indicators.reference import evaluate_indicator

    for defn in EVENT_DEFINITIONS:
        cols = ["patient_id", "period_id", "practice_pseudo_id", "num", "den", "exc"]
        ref = sorted(
            tuple(round(float(r[c]), 9) for c in cols)
            for r in evaluate_indicator(defn, _typed(data), PERIODS)
        )
        for engine, con in CONNECTIONS.items():
            tables = load_tables(con, _typed(data))
            df = compile_indicator(defn, tables, PERIODS).patient_level.to_pandas()
            got = sorted(
                tuple(round(float(v), 9) for v in row)
                for row in df[cols].itertuples(index=False)
            )
            assert got == ref, (defn.id, engine)


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_dense_evaluator_agrees_with_duckdb(
    data: dict[str, list[dict[str, Any]]],
) -> None:
    """The NumPy evaluator (`engine.dense`) gives the SQL value of every
    expression it supports, for every patient and period on the grid."""
    tables = load_tables(CONNECTIONS["duckdb"], _typed(data))
    frame = DenseEvaluator(tables, PERIODS).expression_values(DEFN, NODES)
    assert frame is not None
    names = [n for n in NODES if n in frame.columns]
    assert {"has_a", "count_a", "val_a", "ctrl", "dx", "reg3", "imd"} <= set(names)
    assert {"rel", "rel_before", "rel_m", "mean_a", "los", "minmax", "rel_sum"} <= set(
        names
    )
    dense: dict[tuple[str, int, int], Any] = {}
    for row in frame.to_dict("records"):
        for name in names:
            value = _clean(row[name])
            if isinstance(value, bool) or (name in INT_NAMES and value is not None):
                value = int(value) if not isinstance(value, bool) else value
            dense[(name, int(row["patient_id"]), int(row["period_id"]))] = value
    sql = {k: v for k, v in _backend_values("duckdb", data).items() if k[0] in names}
    assert _normalise(dense) == _normalise(sql)


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_dense_event_level_rows_agree_with_duckdb(
    data: dict[str, list[dict[str, Any]]],
) -> None:
    """Event-level indicators on the NumPy path (`engine.dense`): the same
    (event, period) rows, practices and measures as the DuckDB query."""
    from carepilot.engine.dense import supported
    from carepilot.indicators.compile import compile_indicator

    tables = load_tables(CONNECTIONS["duckdb"], _typed(data))
    evaluator = DenseEvaluator(tables, PERIODS)
    cols = ["patient_id", "period_id", "practice_pseudo_id", "num", "den", "exc"]
    for defn in EVENT_DEFINITIONS:
        assert supported(defn), defn.id
        frame = evaluator.event_rows(defn)
        assert frame is not None
        got = sorted(
            tuple(round(float(v), 9) for v in row)
            for row in frame[cols].itertuples(index=False)
        )
        df = compile_indicator(defn, tables, PERIODS).patient_level.to_pandas()
        want = sorted(
            tuple(round(float(v), 9) for v in row)
            for row in df[cols].itertuples(index=False)
        )
        assert got == want, defn.id
