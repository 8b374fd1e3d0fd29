"""Run one expression or indicator on every engine (reference, DuckDB, SQLite).

Spec tests state tiny input tables as literals and the expected value per
patient; `evaluate` returns ``{patient_id: value}`` for one period so the same
test checks the plain-Python reference evaluator and both Ibis backends.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

import ibis
import pandas as pd
import yaml

from carepilot.engine.sqlite import connect_sqlite
from carepilot.engine.tables import load_tables
from carepilot.indicators.compile import compile_expressions, compile_indicator
from carepilot.indicators.load import load_definition
from carepilot.indicators.model import IndicatorDefinition
from carepilot.indicators.parse import parse_expression
from carepilot.indicators.periods import Frequency, Period, make_periods
from carepilot.indicators.reference import evaluate_expression, evaluate_indicator
from carepilot.schema import TABLES, ColumnType
from carepilot.schema.codes import verhoeff_check_digit

ENGINES = ("reference", "duckdb", "sqlite")

MARCH_2024 = [Period(dt.date(2024, 3, 1), dt.date(2024, 3, 31))]


def sct(n: int) -> str:
    """A valid SNOMED CT-style id (Verhoeff check digit) built from `n`."""
    base = str(100000 + n)
    return base + verhoeff_check_digit(base)


def patient(
    pid: int,
    dob: str = "1960-01-01",
    sex: str = "female",
    reg: tuple[str, str | None] = ("2000-01-01", None),
    practice: int = 1,
    **attrs: Any,
) -> dict[str, list[dict[str, Any]]]:
    """Rows for one registered patient: `patients` and `practice_registrations`."""
    return {
        "patients": [dict(patient_id=pid, date_of_birth=dob, sex=sex, **attrs)],
        "practice_registrations": [
            dict(
                patient_id=pid,
                start_date=reg[0],
                end_date=reg[1],
                practice_pseudo_id=practice,
            )
        ],
    }


def merge(
    *parts: Mapping[str, list[dict[str, Any]]],
) -> dict[str, list[dict[str, Any]]]:
    """Concatenate table rows from several helpers/literals."""
    out: dict[str, list[dict[str, Any]]] = {}
    for part in parts:
        for name, rows in part.items():
            out.setdefault(name, []).extend(rows)
    return out


def _typed(
    tables: Mapping[str, list[dict[str, Any]]],
) -> dict[str, list[dict[str, Any]]]:
    """Convert ISO date strings to dates and fill absent columns with defaults."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name, rows in tables.items():
        schema = TABLES[name]
        typed = []
        for row in rows:
            new: dict[str, Any] = {}
            for col in schema.columns:
                v = row.get(col.name)
                if v is None and col.name not in row and col.type is ColumnType.STR:
                    v = col.default
                if isinstance(v, str) and col.type is ColumnType.DATE:
                    v = dt.date.fromisoformat(v)
                new[col.name] = v
            typed.append(new)
        out[name] = typed
    return out


PRACTICES = [
    dict(
        practice_pseudo_id=i,
        practice_code=f"A{i:05d}",
        practice_name=f"Practice {i}",
        pcn_code=f"PCN{(i + 1) // 2}",
        pcn_name=f"PCN {(i + 1) // 2}",
        commissioner_code="C01",
    )
    for i in range(1, 5)
]


def definition(
    codelists: Mapping[str, tuple[str, Sequence[str]]] | None = None,
    **fields: Any,
) -> IndicatorDefinition:
    """Build a definition from keyword fields (YAML round trip, so it is validated).

    Args:
        codelists: name -> (system, codes).
        fields: definition keys; sensible defaults for the rest.
    """
    codelists = codelists or {}
    doc: dict[str, Any] = {
        "id": "spec",
        "version": 1,
        "title": "Spec",
        "domain": "spec",
        "value_type": "proportion",
        "polarity": "higher_is_better",
        "population": "registered",
        "numerator": "registered",
    }
    doc.update(fields)
    doc["codelists"] = {
        name: {"path": f"{name}.csv", "system": system}
        for name, (system, _) in codelists.items()
    }
    files = {
        f"{name}.csv": "code,term\n" + "".join(f"{c},x\n" for c in codes)
        for name, (_, codes) in codelists.items()
    }
    return load_definition(yaml.safe_dump(doc), "spec.yaml", files.get)


def _backend(engine: str, tables: Mapping[str, list[dict[str, Any]]]):  # type: ignore[no-untyped-def]
    con = ibis.duckdb.connect() if engine == "duckdb" else connect_sqlite()
    data = dict(tables)
    data.setdefault("practices", PRACTICES)
    return load_tables(con, _typed(data))


def evaluate(
    engine: str,
    expression: str,
    tables: Mapping[str, list[dict[str, Any]]],
    codelists: Mapping[str, tuple[str, Sequence[str]]] | None = None,
    periods: Sequence[Period] = MARCH_2024,
    period: str = "as_at_end",
    period_index: int = 0,
) -> dict[int, Any]:
    """Value of `expression` per patient in one period on `engine`."""
    defn = definition(codelists, period=period)
    systems = {n: c.system for n, c in defn.codelists.items()}
    node = parse_expression(expression, systems)
    if engine == "reference":
        values = evaluate_expression(node, defn, _typed(tables), periods)
        return {pid: v for (pid, i), v in values.items() if i == period_index}
    t = _backend(engine, tables)
    df = compile_expressions(defn, {"v": node}, t, periods).to_pandas()
    df = df[df["period_id"] == period_index]
    return {int(r.patient_id): _clean(r.v) for r in df.itertuples()}


def _clean(v: Any) -> Any:
    if v is None or v is pd.NaT:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "to_pydatetime"):
        return v.to_pydatetime().date()
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, str) and len(v) == 10 and v[4] == "-":
        return dt.date.fromisoformat(v)
    return v


def indicator_rows(
    engine: str,
    defn: IndicatorDefinition,
    tables: Mapping[str, list[dict[str, Any]]],
    periods: Sequence[Period] = MARCH_2024,
) -> list[tuple[int, int, int, float, float, float]]:
    """Sorted (patient, period, practice, num, den, exc) rows on `engine`."""
    if engine == "reference":
        rows = evaluate_indicator(defn, _typed(tables), periods)
        out = [
            (
                r["patient_id"],
                r["period_id"],
                r["practice_pseudo_id"],
                r["num"],
                r["den"],
                r["exc"],
            )
            for r in rows
        ]
    else:
        t = _backend(engine, tables)
        df = compile_indicator(defn, t, periods).patient_level.to_pandas()
        out = [
            (
                int(r.patient_id),
                int(r.period_id),
                int(r.practice_pseudo_id),
                float(r.num),
                float(r.den),
                float(r.exc),
            )
            for r in df.itertuples()
        ]
    return sorted(out)


def months(first: str, last: str) -> list[Period]:
    """Monthly periods between two YYYY-MM months inclusive."""
    a = dt.date.fromisoformat(first + "-01")
    b = dt.date.fromisoformat(last + "-01")
    return make_periods(a, b, Frequency.MONTH)
