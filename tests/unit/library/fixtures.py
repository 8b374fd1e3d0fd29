"""Tiny hand-built patient tables for the library tests, run on both engines.

Every library test states its patients and events as literals and the expected
patient-level (numerator, denominator, exception) rows, worked out by hand in the
test. `LibraryRunner` evaluates a library definition on the plain-Python reference
evaluator and on DuckDB (one in-memory connection per test module) and checks that
the two agree before returning the rows.

The reporting period is March 2024 unless a test says otherwise: period end
2024-03-31, so "within 12 months" is 2023-04-01..2024-03-31, "within 3 months"
2024-01-01..2024-03-31, and `registered(months=3)` needs a registration that
started on or before 2024-01-01.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import ibis

from carepilot.codelists import load_codelist
from carepilot.engine.tables import load_tables
from carepilot.indicators.compile import compile_indicator
from carepilot.indicators.model import IndicatorDefinition
from carepilot.indicators.periods import Period
from carepilot.indicators.reference import evaluate_indicator
from carepilot.library import get_definition
from tests.spec.harness import PRACTICES, _typed, merge, patient

MARCH_2024 = [Period(dt.date(2024, 3, 1), dt.date(2024, 3, 31))]

Tables = dict[str, list[dict[str, Any]]]
Rows = dict[int, tuple[float, float, float]]

_ids = itertools.count(1)


def code(codelist: str, i: int = 0) -> str:
    """The i-th code of a shipped codelist (real codes, as synth uses)."""
    return load_codelist(codelist).codes[i]


def ev(pid: int, date: str, codelist: str, value: float | None = None) -> Tables:
    """One `clinical_events` row coded from `codelist`."""
    row = dict(
        patient_id=pid, date=date, snomedct_code=code(codelist), numeric_value=value
    )
    return {"clinical_events": [row]}


def med(pid: int, date: str, codelist: str) -> Tables:
    """One `medications` row coded from `codelist`."""
    return {"medications": [dict(patient_id=pid, date=date, dmd_code=code(codelist))]}


def bp(pid: int, date: str, systolic: float, diastolic: float) -> Tables:
    """A blood pressure reading (systolic and diastolic on the same day)."""
    return merge(
        ev(pid, date, "systolic_bp", systolic), ev(pid, date, "diastolic_bp", diastolic)
    )


_ID_COLUMN = {
    "apcs": "spell_id",
    "opa": "appointment_id",
    "ec": "attendance_id",
    "community_contacts": "contact_id",
    "social_care_packages": "package_id",
    "referrals": "referral_id",
    "proms": "proms_id",
    "patient_experience": "response_id",
    "record_access_requests": "request_id",
}


def row(table: str, pid: int, **columns: Any) -> Tables:
    """One row of an activity table with a fresh identifier."""
    data: dict[str, Any] = dict(patient_id=pid, **columns)
    if table in _ID_COLUMN:
        data.setdefault(_ID_COLUMN[table], next(_ids))
    return {table: [data]}


def person(
    pid: int,
    dob: str = "1960-01-01",
    sex: str = "female",
    reg: tuple[str, str | None] = ("2000-01-01", None),
    practice: int = 1,
    **attrs: Any,
) -> Tables:
    """A patient and their practice registration."""
    return patient(pid, dob=dob, sex=sex, reg=reg, practice=practice, **attrs)


class LibraryRunner:
    """Runs library definitions on the reference evaluator and one DuckDB connection."""

    def __init__(self) -> None:
        self.con = ibis.duckdb.connect()

    def rows(
        self,
        indicator: str | IndicatorDefinition,
        tables: Mapping[str, list[dict[str, Any]]],
        periods: Sequence[Period] = MARCH_2024,
    ) -> Rows:
        """``{patient_id: (num, den, exc)}`` for the population of the first period.

        For event-level indicators (`unit: event`) each value is the sum over the
        patient's events (one event -> 0/1 each). Asserts that the reference
        evaluator and DuckDB give identical rows.
        """
        defn = get_definition(indicator) if isinstance(indicator, str) else indicator
        data = dict(tables)
        typed = _typed(data)
        ref = _sums(
            (r["patient_id"], r["num"], r["den"], r["exc"])
            for r in evaluate_indicator(defn, typed, periods)
            if r["period_id"] == 0
        )
        data.setdefault("practices", PRACTICES)
        t = load_tables(self.con, _typed(data))
        df = compile_indicator(defn, t, periods).patient_level.to_pandas()
        df = df[df["period_id"] == 0]
        duck = _sums(
            (int(r.patient_id), float(r.num), float(r.den), float(r.exc))
            for r in df.itertuples()
        )
        assert duck == ref, f"{defn.id}: DuckDB {duck} != reference {ref}"
        return ref


def _sums(rows: Iterable[tuple[int, float, float, float]]) -> Rows:
    out: dict[int, tuple[float, float, float]] = {}
    for pid, num, den, exc in rows:
        a, b, c = out.get(pid, (0.0, 0.0, 0.0))
        out[pid] = (a + num, b + den, c + exc)
    return out


def totals(rows: Rows) -> tuple[float, float, float]:
    """(numerator, denominator, exceptions) summed over patients."""
    return (
        sum(r[0] for r in rows.values()),
        sum(r[1] for r in rows.values()),
        sum(r[2] for r in rows.values()),
    )


__all__ = [
    "MARCH_2024",
    "LibraryRunner",
    "bp",
    "code",
    "ev",
    "med",
    "merge",
    "person",
    "row",
    "totals",
]
