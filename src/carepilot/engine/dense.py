"""Patient-level indicators evaluated on dense patient x period arrays (NumPy).

The SQL path (`carepilot.indicators.compile`) materialises a patient x period
grid, range-joins every feature's events to the periods, left-joins each feature
table to the grid on (patient, period) and fetches the population rows. At 1M
patients x 36 months those hash joins over ~35M rows per feature were most of the
run time. On an in-process backend the same numbers come out much cheaper here:

* the grid is built once per run as dense (patients x periods) arrays: every
  registration's overlapping periods by interval arithmetic, the attributed one
  per period by the same sortable key as `build_grid` (current at the period end,
  then latest start, then highest practice id);
* each event source's matching rows (codelist, filters and `where=` still
  filtered by the backend, through `compile.event_days`) are fetched once per run
  as (patient, day number[, value]), sorted, and shared by every indicator and
  window that uses them; a window's count / first / last event per patient and
  period comes from cumulative counts of events per period bucket (events are
  sorted by patient and day) - no range join and no per-(patient, period) hash
  table;
* expressions are evaluated on those arrays with SQL's three-valued logic, a
  chunk of patients at a time (bounded memory; two chunks at once in threads);
* the sums per (period, practice[, age band], category) are taken per
  segment (a patient's run of periods with one practice and age band), which
  adds its row of measures to one group per attribute: whole-number measures
  (the population count, flags, counts of events) as their period-to-period
  changes, counted with `np.bincount` and summed over periods at the end (a
  person stays in a population for months, so changes are few); other values
  by a sparse matrix product. No patient x period row is extracted, keyed or
  fetched. The output has the rows and columns of
  `columnar.aggregate_columnar`.

Event-level indicators (`unit: event`) are evaluated here too: the counted
events are read once per run, each (event, period) row whose patient is in the
population is evaluated on its own columns (patient-level parts are read from
the patient chunk at the row's patient and period) and added to its group with
`np.bincount`. Windows relative to an anchor (a patient-level date or the event
row's own column) are two binary searches per cell or row in the sorted events.
Sums and means of values add the values in the events' (day, value) order
(`_range_reduce`); the SQL path's `sum`/`avg` add them in its join's order,
which is not fixed either, so the two may differ in the last bit.

Only what is implemented exactly is taken: `supported()` sends the rest
(`link=` searches, external expected-rate tables, text arithmetic or text
compared with anything but a literal) down the SQL path, which gets the same
grid written as a table (`DenseEvaluator.grid_table`) instead of the range
join. Tests compare both paths row for row on the shipped examples, the whole
library and generated data (tests/property/indicators).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from carepilot.engine.aggregate import MEASURES
from carepilot.engine.breakdowns import MISSING_LABEL, N_AGE_BANDS
from carepilot.engine.columnar import PatientCategories, stack_aggregates
from carepilot.engine.frames import categorical, constant
from carepilot.indicators.compile import event_days, event_rows
from carepilot.indicators.expr import (
    Age,
    Agg,
    And,
    Arith,
    Coalesce,
    Compare,
    DateShift,
    DaysBetween,
    EventAgg,
    EventColumn,
    EventSource,
    InList,
    IsNull,
    Literal,
    Node,
    Not,
    Or,
    PatientColumn,
    PeriodDate,
    PracticeColumn,
    Registered,
    RelativeWindow,
    Type,
    Window,
    WindowKind,
    row_level,
    walk,
)
from carepilot.indicators.model import IndicatorDefinition, Unit, ValueType
from carepilot.indicators.periods import (
    Period,
    PeriodRule,
    registered_since,
    window_start,
)
from carepilot.schema import TABLES

_EPOCH = dt.date(1970, 1, 1).toordinal()
PROVIDER_COLUMN = "provider_code"
"""The column naming an event's provider (`engine.providers`)."""
_FAR_FUTURE_DAY = dt.date(9999, 12, 31).toordinal() - _EPOCH
_COVERS = 10**15
_START = 10**7
"""Registration key of `compile.build_grid`: covers-end, start yyyymmdd, practice."""
_DAY_OFFSET = 1_000_000
_DAY_RANGE = 4_000_000
"""(patient, day) keys: position * _DAY_RANGE + day + _DAY_OFFSET (days from
about 770 AD to 9999 stay in range)."""
CHUNK_CELLS = 4_000_000
"""Patient x period cells evaluated at once (bounds the temporary arrays)."""

SUPPORTED_AGGS = frozenset(Agg)
"""Every summary: counts, first/last events and min/max exactly; sums and means
of values in the events' (day, value) order (see `_range_reduce`)."""

_NODES = (
    Literal,
    PatientColumn,
    PracticeColumn,
    PeriodDate,
    Age,
    Registered,
    EventAgg,
    Compare,
    InList,
    IsNull,
    And,
    Or,
    Not,
    Coalesce,
    Arith,
    DateShift,
    DaysBetween,
)


class Unsupported(Exception):
    """The expression uses something this evaluator does not implement."""


def supported(definition: IndicatorDefinition) -> bool:
    """Whether `definition` can be evaluated here (else use the SQL path)."""
    if definition.expected is not None:
        return False  # per-person expected probabilities: the SQL path
    if definition.unit is Unit.EVENT:
        events = definition.events
        if (
            events is None
            or not isinstance(events.window, Window)
            or events.source.link is not None
        ):
            return False
        population, *rows = definition.expressions()
        return expression_supported(population) and all(
            expression_supported(root, rows=True) for root in rows
        )
    return all(expression_supported(root) for root in definition.expressions())


def expression_supported(root: Node, rows: bool = False) -> bool:
    """Whether every node of the expression is implemented here exactly.

    `rows`: the expression is evaluated per counted event of an event-level
    indicator (the event's own columns and windows relative to them allowed).
    """
    for node in walk(root):
        if not isinstance(node, _NODES) and not (
            rows and isinstance(node, EventColumn)
        ):
            return False
        if isinstance(node, EventAgg) and (
            node.agg not in SUPPORTED_AGGS or node.source.link is not None
        ):
            return False
        if isinstance(node, Arith) and not (
            node.left.type in (Type.INT, Type.FLOAT)
            and node.right.type in (Type.INT, Type.FLOAT)
        ):
            return False
        if isinstance(node, Coalesce) and any(i.type is Type.STR for i in node.items):
            return False
        if isinstance(node, Compare) and Type.STR in (node.left.type, node.right.type):
            sides = (node.left, node.right)
            literals = [x for x in sides if isinstance(x, Literal)]
            if any(x.type is not Type.STR for x in sides) or len(literals) != 1:
                return False
    return True


# --- arrays of day numbers and yyyymmdd ---------------------------------------------


def _date_days(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A date32 column as day numbers (0 where missing) and a validity mask."""
    valid = np.asarray(column.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    days = pc.fill_null(column.cast(pa.int32()), 0)
    return np.asarray(days.to_numpy(), dtype=np.int64), valid


def _ymd(days: np.ndarray) -> np.ndarray:
    """Day numbers as yyyymmdd integers (proleptic Gregorian, as `datetime.date`).

    Integer arithmetic (H. Hinnant's `civil_from_days`): several times faster
    than NumPy's datetime64 month/year conversions on millions of dates.
    """
    z = np.asarray(days, dtype=np.int64) + 719_468
    era = np.floor_divide(z, 146_097)
    doe = z - era * 146_097
    yoe = (doe - doe // 1_460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    return year * 10_000 + month * 100 + day


def _add_months(days: np.ndarray, months: int) -> np.ndarray:
    """Day numbers moved by calendar months, clamped to the end of a shorter
    month (the rule of `periods.add_months` and the SQL compiler)."""
    d = days.astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    day_of_month = (d - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.timedelta64(months, "M")
    first = target.astype("datetime64[D]")
    length = ((target + np.timedelta64(1, "M")).astype("datetime64[D]") - first).astype(
        np.int64
    )
    return first.astype(np.int64) + np.minimum(day_of_month, length - 1)


def _day(value: dt.date) -> int:
    return value.toordinal() - _EPOCH


def _int_column(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(column, 0).to_numpy(), dtype=np.int64)


# --- the grid ----------------------------------------------------------------------


@dataclass(frozen=True)
class DenseGrid:
    """`build_grid` as dense (patients x periods) arrays.

    Attributes:
        ids: patient ids in ascending order (row = position).
        present: (patients x periods) whether the patient has a grid row.
        practices: the registrations' practice ids, ascending.
        practice_idx: attributed practice as an index into `practices` (-1
            where absent).
        reg_start_ymd: start of the attributed registration as yyyymmdd.
        covers_end: the attributed registration covers the period end.
        dob_ymd, dob_day, dob_valid: date of birth (yyyymmdd and day number) per
            patient and whether known.
        start_day, end_day, start_ymd, end_ymd: per period.
    """

    ids: np.ndarray
    present: np.ndarray
    practices: np.ndarray
    practice_idx: np.ndarray
    reg_start_ymd: np.ndarray
    covers_end: np.ndarray
    dob_ymd: np.ndarray
    dob_valid: np.ndarray
    dob_day: np.ndarray
    start_day: np.ndarray
    end_day: np.ndarray
    start_ymd: np.ndarray
    end_ymd: np.ndarray

    @property
    def n_patients(self) -> int:
        return len(self.ids)

    @property
    def n_periods(self) -> int:
        return len(self.end_day)

    @staticmethod
    def build(
        tables: Mapping[str, ir.Table], periods: Sequence[Period]
    ) -> DenseGrid | None:
        """Read patients and registrations once and lay out the grid.

        Returns None when the data has something the SQL grid treats in its own
        way (duplicate patient ids, registrations without a practice), so the
        caller uses the SQL path.
        """
        pats = (
            tables["patients"]
            .select(
                patient_id=tables["patients"].patient_id.cast("int64"),
                date_of_birth=tables["patients"].date_of_birth,
            )
            .to_pyarrow()
        )
        regs_t = tables["practice_registrations"]
        regs = regs_t.select(
            patient_id=regs_t.patient_id.cast("int64"),
            practice_pseudo_id=regs_t.practice_pseudo_id.cast("int64"),
            start_date=regs_t.start_date,
            end_date=regs_t.end_date,
        ).to_pyarrow()
        if (
            pats.column("patient_id").null_count
            or regs.column("practice_pseudo_id").null_count
        ):
            return None
        raw_ids = _int_column(pats.column("patient_id"))
        order = np.argsort(raw_ids, kind="stable")
        ids = raw_ids[order]
        if len(ids) > 1 and bool((ids[1:] == ids[:-1]).any()):
            return None
        dob_days, dob_valid = _date_days(pats.column("date_of_birth"))
        dob_days, dob_valid = dob_days[order], dob_valid[order]

        start_day = np.array([_day(p.start) for p in periods], dtype=np.int64)
        end_day = np.array([_day(p.end) for p in periods], dtype=np.int64)
        n, n_per = len(ids), len(periods)

        r_pid = _int_column(regs.column("patient_id"))
        r_valid = np.asarray(
            regs.column("patient_id").is_valid().to_numpy(zero_copy_only=False),
            dtype=bool,
        )
        r_start, start_valid = _date_days(regs.column("start_date"))
        r_end, end_valid = _date_days(regs.column("end_date"))
        r_end = np.where(end_valid, r_end, _FAR_FUTURE_DAY)
        r_prac = _int_column(regs.column("practice_pseudo_id"))
        pos = _lookup(ids, r_pid)
        keep = r_valid & start_valid & (pos >= 0)
        pos, r_start, r_end, r_prac = (
            pos[keep],
            r_start[keep],
            r_end[keep],
            r_prac[keep],
        )
        if len(r_prac) and (int(r_prac.min()) < 0 or int(r_prac.max()) >= _START):
            return None
        # Practice indices order like practice ids, so the key picks the same
        # registration as `build_grid`'s (which ends in the practice id).
        practices, r_prac_idx = np.unique(r_prac, return_inverse=True)
        r_prac_idx = r_prac_idx.reshape(-1)
        r_start_ymd = _ymd(r_start)

        present = np.zeros((n, n_per), dtype=bool)
        covers_end = np.zeros((n, n_per), dtype=bool)
        practice_idx = np.full((n, n_per), -1, dtype=np.int32)
        reg_start = np.zeros((n, n_per), dtype=np.int32)
        step = max(1, CHUNK_CELLS // max(n_per, 1))
        # Patients with one registration (most of them) take its values where it
        # overlaps a period; no ranking needed.
        per_patient = np.bincount(pos, minlength=n)
        single = np.flatnonzero(per_patient[pos] == 1)
        for lo in range(0, len(single), step):
            part = single[lo : lo + step]
            s, e = r_start[part, None], r_end[part, None]
            overlap = (s <= end_day[None, :]) & (e >= start_day[None, :])
            rows = pos[part]
            present[rows] = overlap
            covers_end[rows] = overlap & (e >= end_day[None, :])
            practice_idx[rows] = np.where(overlap, r_prac_idx[part, None], -1)
            reg_start[rows] = np.where(overlap, r_start_ymd[part, None], 0)
        # Several registrations: the attributed one per period is the maximum of
        # `build_grid`'s sortable key (covers-end, start yyyymmdd, practice).
        several = np.flatnonzero(per_patient[pos] > 1)
        if len(several):
            m_pos = pos[several]
            patients_m, m_row = np.unique(m_pos, return_inverse=True)
            m_row = m_row.reshape(-1)
            base = r_start_ymd[several] * _START + r_prac_idx[several]
            best = np.full((len(patients_m), n_per), -1, dtype=np.int64)
            # Registrations ranked within their patient: within one rank every
            # patient appears once, so a fancy-indexed maximum is exact.
            by_row = np.argsort(m_row, kind="stable")
            sorted_row = m_row[by_row]
            first = np.searchsorted(sorted_row, sorted_row, side="left")
            rank = np.empty(len(m_row), dtype=np.int64)
            rank[by_row] = np.arange(len(m_row)) - first
            for k in range(int(rank.max()) + 1):
                sel = np.flatnonzero(rank == k)
                for lo in range(0, len(sel), step):
                    part = sel[lo : lo + step]
                    reg = several[part]
                    s, e = r_start[reg, None], r_end[reg, None]
                    overlap = (s <= end_day[None, :]) & (e >= start_day[None, :])
                    key = (e >= end_day[None, :]) * _COVERS + base[part, None]
                    key = np.where(overlap, key, -1)
                    rows = m_row[part]
                    best[rows] = key if k == 0 else np.maximum(best[rows], key)
            found = best >= 0
            rest = np.where(found, best % _COVERS, 0)
            present[patients_m] = found
            covers_end[patients_m] = best >= _COVERS
            practice_idx[patients_m] = np.where(found, rest % _START, -1)
            reg_start[patients_m] = rest // _START
            del best, rest
        return DenseGrid(
            ids=ids,
            present=present,
            practices=practices.astype(np.int64),
            practice_idx=practice_idx,
            reg_start_ymd=reg_start,
            covers_end=covers_end,
            dob_ymd=np.where(dob_valid, _ymd(dob_days), 0),
            dob_valid=dob_valid,
            dob_day=np.where(dob_valid, dob_days, 0),
            start_day=start_day,
            end_day=end_day,
            start_ymd=_ymd(start_day),
            end_ymd=_ymd(end_day),
        )

    @property
    def practice(self) -> np.ndarray:
        """Attributed practice id per patient and period (-1 where absent)."""
        if len(self.practices) == 0:
            return np.full(self.present.shape, -1, dtype=np.int64)
        return np.where(self.present, self.practices[self.practice_idx], -1)

    def positions(self, patient_ids: np.ndarray) -> np.ndarray:
        """Row of each patient id (-1 for ids not in `patients`)."""
        return _lookup(self.ids, patient_ids)


def _grid_arrow(grid: DenseGrid, lo: int, hi: int) -> pa.Table:
    """Grid rows of patients [lo, hi) in `build_grid`'s columns and types."""
    rows, cols = np.nonzero(grid.present[lo:hi])
    rows += lo
    dob_ymd, dob_valid = grid.dob_ymd[rows], grid.dob_valid[rows]

    def age(ymd: np.ndarray) -> pa.Array:
        return pa.array((ymd[cols] - dob_ymd) // 10000, mask=~dob_valid)

    def dates(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
        return pa.array(days.astype(np.int32), mask=mask).cast(pa.date32())

    known = grid.practices if len(grid.practices) else np.full(1, -1, np.int64)
    return pa.table(
        {
            "patient_id": pa.array(grid.ids[rows]),
            "period_id": pa.array(cols.astype(np.int64)),
            "period_start": dates(grid.start_day[cols]),
            "period_end": dates(grid.end_day[cols]),
            "practice_pseudo_id": pa.array(known[grid.practice_idx[rows, cols]]),
            "reg_start_ymd": pa.array(grid.reg_start_ymd[rows, cols].astype(np.int64)),
            "covers_end": pa.array(grid.covers_end[rows, cols]),
            "date_of_birth": dates(grid.dob_day[rows], ~dob_valid),
            "age": age(grid.end_ymd),
            "age_at_start": age(grid.start_ymd),
        }
    )


def _lookup(sorted_ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Position of each of `wanted` in the ascending unique `sorted_ids`, or -1."""
    if len(sorted_ids) == 0:
        return np.full(len(wanted), -1, dtype=np.int64)
    first = int(sorted_ids[0])
    if int(sorted_ids[-1]) - first == len(sorted_ids) - 1:
        # Consecutive ids (pseudonymised extracts usually are): no search.
        at = wanted.astype(np.int64) - first
        return np.where((at >= 0) & (at < len(sorted_ids)), at, -1)
    at = np.searchsorted(sorted_ids, wanted)
    at = np.minimum(at, len(sorted_ids) - 1)
    return np.where(sorted_ids[at] == wanted, at, -1).astype(np.int64)


# --- events --------------------------------------------------------------------------


@dataclass(frozen=True)
class Events:
    """One event source's matching rows sorted by (patient, day[, value]).

    `keys` is position * _DAY_RANGE + day + _DAY_OFFSET; `day_first[i]` is the
    first row of row i's (patient, day) group (the lowest value that day: the
    QOF tie rule of `compile._summarise`).
    """

    keys: np.ndarray
    days: np.ndarray
    values: np.ndarray | None
    day_first: np.ndarray
    patient_start: np.ndarray
    """Per patient position, the first row of that patient (length n + 1)."""
    ids: np.ndarray | None = None
    """Primary key of each row (read for windows relative to an event row of
    the same table, where an event never matches itself)."""
    id_order: np.ndarray | None = None
    """Rows in order of `ids`."""

    @staticmethod
    def read(
        source: EventSource,
        tables: Mapping[str, ir.Table],
        codelists: Mapping[str, Sequence[str]],
        valued: bool,
        grid: DenseGrid,
        with_id: bool = False,
    ) -> Events:
        rows = event_days(source, tables, codelists, valued, with_id)
        # Sorted by the backend (in parallel); checked below, as positions
        # follow patient ids only when every id is known.
        rows = rows.order_by(["patient_id", "day", *(["v"] if valued else [])])
        arrow = rows.to_pyarrow()
        pos = grid.positions(_int_column(arrow.column("patient_id")))
        days = _int_column(arrow.column("day"))
        values = (
            np.asarray(arrow.column("v").to_numpy(zero_copy_only=False), dtype=float)
            if valued
            else None
        )
        ids = _id_column(arrow.column("eid")) if with_id else None
        del arrow
        known = pos >= 0
        if not bool(known.all()):
            pos, days = pos[known], days[known]
            values = values[known] if values is not None else None
            ids = ids[known] if ids is not None else None
        keys = pos * _DAY_RANGE + days + _DAY_OFFSET
        in_order = bool(np.all(keys[1:] >= keys[:-1]))
        if in_order and values is not None:
            same = keys[1:] == keys[:-1]
            in_order = bool(np.all(values[1:][same] >= values[:-1][same]))
        if not in_order:
            if values is not None:
                order = np.lexsort((values, days, pos))
                values = values[order]
            else:
                order = np.lexsort((days, pos))
            pos, days, keys = pos[order], days[order], keys[order]
            ids = ids[order] if ids is not None else None
        new_day = np.ones(len(keys), dtype=bool)
        new_day[1:] = keys[1:] != keys[:-1]
        day_first = np.maximum.accumulate(np.where(new_day, np.arange(len(keys)), 0))
        patient_start = np.searchsorted(pos, np.arange(grid.n_patients + 1))
        id_order = None
        if ids is not None:
            id_order = np.argsort(ids, kind="stable")
            ranked = ids[id_order]
            if len(ranked) > 1 and bool((ranked[1:] == ranked[:-1]).any()):
                raise Unsupported("duplicate event ids")
        return Events(keys, days, values, day_first, patient_start, ids, id_order)

    def rows_of(self, ids: np.ndarray) -> np.ndarray:
        """The row of each id (-1 where the id is not among these events)."""
        assert self.ids is not None and self.id_order is not None
        at = _lookup(self.ids[self.id_order], ids)
        return np.where(at >= 0, self.id_order[np.maximum(at, 0)], -1)


def _id_column(column: pa.ChunkedArray) -> np.ndarray:
    """An event table's primary key as int64 (other key types, or missing keys,
    which never equal anything in SQL, are left to the SQL path)."""
    if column.null_count or not pa.types.is_integer(column.type):
        raise Unsupported("event ids that are not whole numbers")
    return _int_column(column)


@dataclass(frozen=True)
class CountedEvents:
    """The rows an event-level indicator counts, sorted by (patient, day).

    `columns` holds the row columns its expressions use (evaluator form: data,
    valid, labels); `ids` the primary key when an expression searches the same
    table relative to the row (it must not match itself).
    """

    pos: np.ndarray
    days: np.ndarray
    columns: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray | None]]
    ids: np.ndarray | None
    patient_start: np.ndarray

    @staticmethod
    def read(
        source: EventSource,
        tables: Mapping[str, ir.Table],
        codelists: Mapping[str, Sequence[str]],
        columns: Mapping[str, str],
        id_column: str | None,
        grid: DenseGrid,
    ) -> CountedEvents:
        names = sorted(set(columns) | ({id_column} if id_column else set[str]()))
        rows = event_rows(source, tables, codelists, names)
        arrow = rows.order_by(["patient_id", "day"]).to_pyarrow()
        pos = grid.positions(_int_column(arrow.column("patient_id")))
        known = pos >= 0  # the SQL path joins events to grid rows
        if not bool(known.all()):
            arrow = arrow.filter(pa.array(known))
            pos = pos[known]
        days = _int_column(arrow.column("day"))
        order = np.lexsort((days, pos))
        if bool(np.any(np.diff(order) != 1)):
            pos, days = pos[order], days[order]
            arrow = arrow.take(pa.array(order))
        read = {
            name: _read_column(arrow.column(name), kind)
            for name, kind in columns.items()
        }
        ids = _id_column(arrow.column(id_column)) if id_column else None
        if ids is not None and len(ids) > 1:
            ranked = np.sort(ids)
            if bool((ranked[1:] == ranked[:-1]).any()):
                raise Unsupported("duplicate event ids")
        patient_start = np.searchsorted(pos, np.arange(grid.n_patients + 1))
        return CountedEvents(pos, days, read, ids, patient_start)


@dataclass
class _Value:
    """A column of an expression over a chunk: data, validity (None: all valid),
    kind (bool/int/float/date/str; dates are day numbers, text is codes into
    `labels`). Arrays broadcast to (patients, periods)."""

    data: np.ndarray
    valid: np.ndarray | None
    kind: str
    labels: np.ndarray | None = None


def _and_valid(*masks: np.ndarray | None) -> np.ndarray | None:
    out: np.ndarray | None = None
    for m in masks:
        if m is None:
            continue
        out = m if out is None else out & m
    return out


_KIND = {
    Type.BOOL: "bool",
    Type.INT: "int",
    Type.FLOAT: "float",
    Type.DATE: "date",
    Type.STR: "str",
}


def _read_column(
    arrow: pa.ChunkedArray, kind: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(data, valid, labels) of a column in the evaluator's representation."""
    valid = np.asarray(arrow.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    if kind == "str":
        encoded = arrow.cast(pa.string()).dictionary_encode().combine_chunks()
        codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
        labels = np.asarray(encoded.dictionary.to_pylist(), dtype=object)
        return np.asarray(codes, dtype=np.int64), valid, labels
    if kind == "date":
        days, _ = _date_days(arrow)
        return days, valid, None
    if kind == "bool":
        data = pc.fill_null(arrow.cast(pa.bool_()), False)
        return np.asarray(data.to_numpy(zero_copy_only=False), dtype=bool), valid, None
    target = pa.float64() if kind == "float" else pa.int64()
    data = pc.fill_null(arrow.cast(target), 0)
    dtype = np.float64 if kind == "float" else np.int64
    return np.asarray(data.to_numpy(zero_copy_only=False), dtype=dtype), valid, None


class DenseEvaluator:
    """Evaluates supported indicators for one run (grid, events and columns cached)."""

    def __init__(
        self,
        tables: Mapping[str, ir.Table],
        periods: Sequence[Period],
        threads: int | None = None,
    ) -> None:
        """
        Args:
            tables, periods: as `Engine`.
            threads: chunks evaluated at once (None: up to 2, one per core).
        """
        self.threads = threads if threads is not None else min(2, os.cpu_count() or 1)
        self.tables = tables
        self.periods = list(periods)
        self._grid: DenseGrid | None = None
        self._grid_built = False
        self._events: dict[tuple[EventSource, bool, tuple[str, ...], bool], Events] = {}
        self._counted: dict[tuple[object, ...], CountedEvents] = {}
        self._last_event_rows: tuple[IndicatorDefinition, list[_EventRows]] | None = (
            None
        )
        self._patient_columns: dict[
            str, tuple[np.ndarray, np.ndarray, np.ndarray | None]
        ] = {}
        self._practice_columns: dict[
            str, tuple[np.ndarray, np.ndarray, np.ndarray | None]
        ] = {}
        self._practice_ids: np.ndarray | None = None
        self._segments: dict[bool, _Segments] = {}

    @property
    def grid(self) -> DenseGrid | None:
        if not self._grid_built:
            self._grid = DenseGrid.build(self.tables, self.periods)
            self._grid_built = True
        return self._grid

    def events(
        self,
        source: EventSource,
        valued: bool,
        codelists: Mapping[str, Sequence[str]],
        with_id: bool = False,
    ) -> Events:
        grid = self.grid
        assert grid is not None
        codes = tuple(codelists[source.codelist]) if source.codelist else ()
        key = (source, valued, codes, with_id)
        if key not in self._events:
            self._events[key] = Events.read(
                source, self.tables, codelists, valued, grid, with_id
            )
        return self._events[key]

    def counted(
        self, definition: IndicatorDefinition, codelists: Mapping[str, Sequence[str]]
    ) -> CountedEvents:
        """The events an event-level indicator counts (read once per run for
        every indicator counting the same rows and columns)."""
        grid = self.grid
        assert grid is not None and definition.events is not None
        source = definition.events.source
        columns: dict[str, str] = {}
        for root in definition.expressions()[1:]:
            for node in walk(root):
                if isinstance(node, EventColumn):
                    columns[node.column] = _KIND[node.type]
        if TABLES[source.table].has_column("provider_code"):
            columns[PROVIDER_COLUMN] = "str"  # provider rows (`provider_aggregate`)
        self_search = any(
            _excludes_self(definition, node)
            for root in definition.expressions()[1:]
            for node in walk(root)
            if isinstance(node, EventAgg)
        )
        id_column = TABLES[source.table].primary_key[0] if self_search else None
        codes = tuple(codelists[source.codelist]) if source.codelist else ()
        key = (source, codes, tuple(sorted(columns.items())), id_column)
        if key not in self._counted:
            self._counted[key] = CountedEvents.read(
                source, self.tables, codelists, columns, id_column, grid
            )
        return self._counted[key]

    @property
    def end_order(self) -> np.ndarray:
        """Period indices in order of their end day."""
        grid = self.grid
        assert grid is not None
        return np.argsort(grid.end_day, kind="stable")

    def window_days(self, window: Window, rule: PeriodRule) -> np.ndarray:
        """First day of the window per period (day numbers)."""
        return np.array(
            [_window_day(p, window, rule) for p in self.periods], dtype=np.int64
        )

    def patient_column(
        self, column: str, kind: str
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        if column not in self._patient_columns:
            grid = self.grid
            assert grid is not None
            t = self.tables["patients"]
            arrow = t.select(
                patient_id=t.patient_id.cast("int64"), **{column: t[column]}
            ).to_pyarrow()
            data, valid, labels = _read_column(arrow.column(column), kind)
            pos = grid.positions(_int_column(arrow.column("patient_id")))
            full = np.zeros(grid.n_patients, dtype=data.dtype)
            full_valid = np.zeros(grid.n_patients, dtype=bool)
            full[pos] = data
            full_valid[pos] = valid
            self._patient_columns[column] = (full, full_valid, labels)
        return self._patient_columns[column]

    def practice_column(
        self, column: str
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """(sorted practice ids, codes, valid, labels) of a practices column.

        Duplicate practice ids make the SQL left join repeat grid rows; they are
        reported as unsupported so the SQL path gives its own answer.
        """
        if column not in self._practice_columns:
            t = self.tables["practices"]
            arrow = t.select(
                practice_pseudo_id=t.practice_pseudo_id.cast("int64"),
                **{column: t[column]},
            ).to_pyarrow()
            ids = _int_column(arrow.column("practice_pseudo_id"))
            order = np.argsort(ids, kind="stable")
            if len(ids) > 1 and bool((ids[order][1:] == ids[order][:-1]).any()):
                raise Unsupported("duplicate practice ids")
            data, valid, labels = _read_column(arrow.column(column), "str")
            self._practice_columns[column] = (data[order], valid[order], labels)
            self._practice_ids = ids[order]
            return (ids[order], data[order], valid[order], labels)
        data, valid, labels = self._practice_columns[column]
        assert self._practice_ids is not None
        return (self._practice_ids, data, valid, labels)

    def segments(self, categories: PatientCategories, with_band: bool) -> _Segments:
        """The run's segments (see `_Segments`), built on first use."""
        if with_band not in self._segments:
            grid = self.grid
            assert grid is not None
            self._segments[with_band] = _Segments.build(grid, categories, with_band)
        return self._segments[with_band]

    def grid_table(self) -> ir.Table | None:
        """The grid as a temporary table with `compile.GRID_COLUMNS` (the rows
        and values of `build_grid`), for the indicators the SQL path runs; None
        if there is no dense grid or the backend cannot create tables."""
        grid = self.grid
        if grid is None:
            return None
        try:
            backend = self.tables["patients"]._find_backend()  # pyright: ignore[reportPrivateUsage]
        except Exception:  # noqa: BLE001 - unbound tables: no backend to write to
            return None
        create = getattr(backend, "create_table", None)
        insert = getattr(backend, "insert", None)
        if create is None or insert is None:
            return None
        name = f"carepilot_grid_{id(self):x}"
        # Written a chunk of patients at a time: the Arrow copy stays small.
        step = max(1, 4 * CHUNK_CELLS // max(grid.n_periods, 1))
        created: ir.Table | None = None
        for lo in range(0, max(grid.n_patients, 1), step):
            table = _grid_arrow(grid, lo, min(grid.n_patients, lo + step))
            if created is None:
                created = create(name, table, temp=True, overwrite=True)
            elif table.num_rows:
                insert(name, table)
        return created

    def _read_inputs(
        self, definition: IndicatorDefinition, codelists: Mapping[str, Sequence[str]]
    ) -> None:
        """Read every event source and column the definition uses (once per run),
        before chunks run in threads."""
        for root in definition.expressions():
            for node in walk(root):
                if isinstance(node, EventAgg):
                    self.events(
                        node.source,
                        node.agg.needs_value,
                        codelists,
                        _excludes_self(definition, node),
                    )
                elif isinstance(node, PatientColumn):
                    self.patient_column(node.column, _KIND[node.type])
                elif isinstance(node, PracticeColumn):
                    self.practice_column(node.column)

    def aggregate(
        self,
        definition: IndicatorDefinition,
        categories: PatientCategories,
        *,
        by_age_band: bool,
        attributes: Sequence[str],
    ) -> pd.DataFrame | None:
        """The rows of `columnar.aggregate_columnar` for the indicator, or None
        when it is not supported here (use the SQL path)."""
        grid = self.grid
        if grid is None or not supported(definition):
            return None
        constants, aliases = _constants(definition)
        codelists = {name: cl.codes for name, cl in definition.codelists.items()}
        seg = self.segments(categories, by_age_band or "age_band" in attributes)
        sums = _Sums(seg, categories, attributes, by_age_band)
        skip = {*constants, *aliases}
        try:
            if definition.unit is Unit.EVENT:
                for rows in self._event_chunks(definition, codelists):
                    sums.add_rows(
                        grid.practice_idx[rows.pos, rows.per],
                        rows.per,
                        rows.pos,
                        rows.band_index(seg),
                        rows.population,
                        {m: v for m, v in rows.measures.items() if m not in skip},
                    )
                return sums.rows(constants, aliases)

            def run(lo: int) -> tuple[int, int, np.ndarray, dict[str, np.ndarray]]:
                hi = min(grid.n_patients, lo + step)
                chunk = _Chunk(self, grid, definition, codelists, lo, hi)
                population, measures = chunk.measures()
                fetched = {m: v for m, v in measures.items() if m not in skip}
                return lo, hi, population, fetched

            step = max(1, CHUNK_CELLS // max(grid.n_periods, 1))
            self._read_inputs(definition, codelists)
            starts = range(0, grid.n_patients, step)
            if self.threads > 1 and len(starts) > 1:
                # NumPy and SciPy release the GIL on these array sizes: chunks
                # run side by side; sums are added in chunk order (same floats).
                with ThreadPoolExecutor(self.threads) as pool:
                    for lo, hi, population, fetched in pool.map(run, starts):
                        sums.add(lo, hi, population, fetched)
            else:
                for lo, hi, population, fetched in map(run, starts):
                    sums.add(lo, hi, population, fetched)
        except Unsupported:
            return None
        return sums.rows(constants, aliases)

    def provider_aggregate(
        self,
        definition: IndicatorDefinition,
        categories: PatientCategories,
        *,
        by_age_band: bool,
        attributes: Sequence[str],
        providers: np.ndarray,
    ) -> pd.DataFrame | None:
        """Provider rows of an event-level indicator (`engine.providers`): each
        event counts for its own provider, `practice_pseudo_id` holds the
        provider index (1 + position in `providers`, the `ProviderIndex`
        codes); events of other or no providers count for none. The rows of
        `aggregate(attributed_patient_level(...))`; None when not supported."""
        grid = self.grid
        if (
            grid is None
            or definition.unit is not Unit.EVENT
            or definition.events is None
            or not supported(definition)
        ):
            return None
        if not TABLES[definition.events.source.table].has_column(PROVIDER_COLUMN):
            return None
        constants, aliases = _constants(definition)
        skip = {*constants, *aliases}
        codelists = {name: cl.codes for name, cl in definition.codelists.items()}
        seg = self.segments(categories, by_age_band or "age_band" in attributes)
        by_code = {str(c): i for i, c in enumerate(providers)}
        seg = dataclasses.replace(
            seg, practices=np.arange(1, len(providers) + 1, dtype=np.int64)
        )
        sums = _Sums(seg, categories, attributes, by_age_band)
        try:
            for rows in self._event_chunks(definition, codelists):
                data, valid, labels = rows.counted.columns[PROVIDER_COLUMN]
                assert labels is not None
                known = np.array([by_code.get(str(x), -1) for x in labels] + [-1])
                provider = known[np.where(valid, data, -1)][rows.rows]
                sums.add_rows(
                    np.maximum(provider, 0),
                    rows.per,
                    rows.pos,
                    rows.band_index(seg),
                    rows.population & (provider >= 0),
                    {m: v for m, v in rows.measures.items() if m not in skip},
                )
        except Unsupported:
            return None
        return sums.rows(constants, aliases)

    def _event_chunks(
        self, definition: IndicatorDefinition, codelists: Mapping[str, Sequence[str]]
    ) -> list[_EventRows]:
        """An event-level indicator's rows (one per counted event x period in
        which its patient is in the population, as `compile._prepare_events`),
        a chunk of patients at a time, in chunk order. The last indicator's
        rows are kept for its provider rows (`provider_aggregate`)."""
        cached = self._last_event_rows
        if cached is not None and cached[0] is definition:
            return cached[1]
        chunks = self._compute_event_chunks(definition, codelists)
        self._last_event_rows = (definition, chunks)
        return chunks

    def _compute_event_chunks(
        self, definition: IndicatorDefinition, codelists: Mapping[str, Sequence[str]]
    ) -> list[_EventRows]:
        grid = self.grid
        assert grid is not None and definition.events is not None
        self._read_inputs(definition, codelists)
        counted = self.counted(definition, codelists)
        window = definition.events.window
        assert isinstance(window, Window)
        starts = (
            None
            if window.kind is WindowKind.EVER
            else self.window_days(window, definition.period_rule)
        )
        step = max(1, CHUNK_CELLS // max(grid.n_periods, 1))

        def run(lo: int) -> _EventRows:
            hi = min(grid.n_patients, lo + step)
            cells = _Chunk(self, grid, definition, codelists, lo, hi)
            population = cells.bool_(definition.population) & grid.present[lo:hi]
            e0, e1 = int(counted.patient_start[lo]), int(counted.patient_start[hi])
            days = counted.days[e0:e1, None]
            local = counted.pos[e0:e1] - lo
            # An event counts in each period whose window holds its date and in
            # which its patient has a grid row in the population, whatever the
            # registration on the event's own day.
            inside = (days <= grid.end_day[None, :]) & population[local]
            if starts is not None:
                inside &= days >= starts[None, :]
            r, per = np.nonzero(inside)
            rows = _RowChunk(cells, counted, r + e0, per)
            keep = np.ones(rows.shape, dtype=bool)
            if definition.exclusions is not None:
                keep &= ~rows.bool_(definition.exclusions)
            keep, measures = rows.measures_for(keep)
            return _EventRows(
                grid,
                counted,
                rows.rows,
                rows.pos,
                per.astype(np.int64),
                keep.reshape(-1),
                {m: v.reshape(-1) for m, v in measures.items()},
            )

        chunks = range(0, grid.n_patients, step)
        if self.threads > 1 and len(chunks) > 1:
            with ThreadPoolExecutor(self.threads) as pool:
                return list(pool.map(run, chunks))
        return [run(lo) for lo in chunks]

    def event_rows(self, definition: IndicatorDefinition) -> pd.DataFrame | None:
        """An event-level indicator's rows in the population (tests): columns
        `patient_id`, `period_id`, `practice_pseudo_id`, `num`, `den`, `exc`
        as `compile_indicator`'s population; None when not supported here."""
        grid = self.grid
        if grid is None or not supported(definition):
            return None
        codelists = {name: cl.codes for name, cl in definition.codelists.items()}
        frames: list[pd.DataFrame] = []
        try:
            chunks = self._event_chunks(definition, codelists)
        except Unsupported:
            return None
        known = grid.practices if len(grid.practices) else np.full(1, -1, np.int64)
        for rows in chunks:
            sel = rows.population
            pos, per = rows.pos[sel], rows.per[sel]
            out: dict[str, object] = {
                "patient_id": grid.ids[pos],
                "period_id": per,
                "practice_pseudo_id": known[grid.practice_idx[pos, per]],
            }
            for m in ("num", "den", "exc"):
                v = rows.measures.get(m)
                n = int(sel.sum())
                out[m] = (
                    np.full(n, 1.0 if m == "den" else 0.0)
                    if v is None
                    else v[sel].astype(np.float64)
                )
            frames.append(pd.DataFrame(out))
        return pd.concat(frames, ignore_index=True)

    def expression_values(
        self,
        definition: IndicatorDefinition,
        expressions: Mapping[str, Node],
    ) -> pd.DataFrame | None:
        """Values of expressions on every grid row (tests; `compile_expressions`).

        Columns `patient_id`, `period_id` and one per supported expression
        (missing as None; dates as `datetime.date`). None if the data is not
        supported (see `DenseGrid.build`).
        """
        grid = self.grid
        if grid is None:
            return None
        codelists = {name: cl.codes for name, cl in definition.codelists.items()}
        chunk = _Chunk(self, grid, definition, codelists, 0, grid.n_patients)
        rows, cols = np.nonzero(grid.present)
        out: dict[str, object] = {
            "patient_id": grid.ids[rows],
            "period_id": cols.astype(np.int64),
        }
        try:
            for name, node in expressions.items():
                if not expression_supported(node):
                    continue
                v = chunk.value(node)
                data = chunk.full(v.data)[rows, cols]
                valid = (
                    np.ones(len(rows), bool)
                    if v.valid is None
                    else chunk.full(v.valid)[rows, cols]
                )
                if v.kind == "str":
                    assert v.labels is not None
                    labels = np.append(v.labels, np.array([None], dtype=object))
                    values = labels[np.where(valid, data, -1)]
                elif v.kind == "date":
                    values = np.array(
                        [dt.date.fromordinal(int(d) + _EPOCH) for d in data],
                        dtype=object,
                    )
                else:
                    values = data.astype(object)
                values = np.where(valid, values, np.array(None, dtype=object))
                out[name] = values
        except Unsupported:
            return None
        return pd.DataFrame(out)


@dataclass(frozen=True)
class _Segments:
    """Runs of periods in which a patient keeps one practice and one age band.

    Sums per (period, practice[, age band], category) are then sparse matrix
    products: each segment adds its (periods) row of measures to one group per
    attribute, so no patient x period row is ever extracted or keyed.

    Attributes:
        pos: patient position of each segment (ascending).
        practice, band: the segment's practice index and age band index.
        mask: (segments x periods) the periods the segment covers.
        start: per patient position, its first segment (length patients + 1).
        practices, bands: practice ids and age band values by index.
        cat_pos: per patient position, its row in the run's `PatientCategories`.
    """

    pos: np.ndarray
    practice: np.ndarray
    band: np.ndarray
    mask: np.ndarray
    start: np.ndarray
    practices: np.ndarray
    bands: np.ndarray
    cat_pos: np.ndarray

    @staticmethod
    def build(
        grid: DenseGrid, categories: PatientCategories, with_band: bool
    ) -> _Segments:
        """Segments by practice, and by age band too when `with_band`."""
        present = grid.present
        n, n_per = present.shape
        if with_band and present.any():
            dob = grid.dob_ymd.astype(np.int32)[:, None]
            band = (grid.end_ymd.astype(np.int32)[None, :] - dob) // 10000 // 5
            np.minimum(band, N_AGE_BANDS - 1, out=band)
            band[~grid.dob_valid] = int(MISSING_LABEL["age_band"])
            low, high = int(band[present].min()), int(band[present].max())
            bands = np.arange(low, high + 1, dtype=np.int64)
            band -= low
        else:
            bands = np.zeros(1, dtype=np.int64)
            band = np.zeros((1, 1), dtype=np.int32)
        nb = len(bands)
        seg = grid.practice_idx * np.int32(nb) + band
        del band
        seg[~present] = -1
        # Most patients keep one practice and band throughout: one segment
        # covering their present periods. Only the others need runs found.
        top = np.iinfo(np.int32).max
        high = seg.max(axis=1, initial=-1)
        low = np.where(present, seg, top).min(axis=1, initial=top)
        any_present = high >= 0
        single = np.flatnonzero(any_present & (high == low))
        several = np.flatnonzero(any_present & (high != low))
        m_rows, m_first, m_values, m_mask = _segment_runs(
            seg[several], present[several]
        )
        del seg
        per_patient = np.zeros(n, dtype=np.int64)
        per_patient[single] = 1
        per_patient[several] = np.bincount(m_rows, minlength=len(several))
        start = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(per_patient, out=start[1:])
        total = int(start[-1])
        mask = np.zeros((total, n_per), dtype=bool)
        seg_values = np.empty(total, dtype=np.int64)
        at = start[single]
        mask[at] = present[single]
        seg_values[at] = high[single]
        del m_first
        at = (
            start[several][m_rows]
            + np.arange(len(m_rows))
            - np.searchsorted(m_rows, m_rows, side="left")
        )
        mask[at] = m_mask
        seg_values[at] = m_values
        return _Segments(
            pos=np.repeat(np.arange(n, dtype=np.int64), per_patient),
            practice=seg_values // nb,
            band=seg_values % nb,
            mask=mask,
            start=start,
            practices=grid.practices,
            bands=bands,
            cat_pos=categories.positions(grid.ids),
        )


def _segment_runs(
    seg: np.ndarray, present: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Runs of equal `seg` over each row's present cells (absent cells between
    two equal values do not split a run): per run its row, first column, value
    and (runs x columns) mask of the present cells it covers; row-major order."""
    n, n_per = present.shape
    cols = np.arange(n_per, dtype=np.int16)[None, :]
    last = np.where(present, cols, np.int16(-1))
    np.maximum.accumulate(last, axis=1, out=last)
    prev = np.full((n, n_per), -1, dtype=np.int16)
    prev[:, 1:] = last[:, :-1]
    del last
    prev_seg = np.take_along_axis(seg, np.maximum(prev, 0), axis=1)
    flag = present & ((prev < 0) | (seg != prev_seg))
    del prev, prev_seg
    rows, first_col = np.nonzero(flag)
    del flag
    values = seg[rows, first_col].astype(np.int64)
    # A run covers the present cells from its first column up to the next run
    # of the same row (or the last column).
    end_col = np.full(len(rows), n_per, dtype=np.int64)
    if len(rows) > 1:
        end_col[:-1] = np.where(rows[1:] == rows[:-1], first_col[1:], n_per)
    all_cols = np.arange(n_per, dtype=np.int64)[None, :]
    mask = (
        present[rows] & (all_cols >= first_col[:, None]) & (all_cols < end_col[:, None])
    )
    return rows.astype(np.int64), first_col, values, mask


class _Sums:
    """Accumulates (group x period) sums of one indicator, chunk by chunk.

    Two exact ways to add a chunk, chosen per measure:

    * integer-valued measures (the count, boolean numerators, counts of events)
      as *steps*: a segment's row of values changes in few periods (a person
      stays in a population for months), so only the period-to-period changes
      are keyed to their groups and counted (`np.bincount`), and the sums are
      their running totals over periods at the end. Integers are exact in
      float64, so this is the same number as adding every cell;
    * other measures (values such as BMI) and rows that change too often as a
      sparse matrix product: each segment's row is added to one group per
      attribute (`_add_dense`).
    """

    STEP_FRACTION = 0.125
    """Steps are used while at most this share of a chunk's cells change value."""

    def __init__(
        self,
        seg: _Segments,
        categories: PatientCategories,
        attributes: Sequence[str],
        by_age_band: bool,
    ) -> None:
        self.seg = seg
        self.categories = categories
        self.attributes = list(attributes)
        self.by_age_band = by_age_band
        self.nb = max(len(seg.bands), 1)
        self.n_cell = len(seg.practices) * (self.nb if by_age_band else 1)
        self.offsets: list[int] = []
        self.sizes: list[int] = []
        total = 0
        for a in self.attributes:
            size = self.nb if a == "age_band" else max(len(categories.labels[a]), 1)
            self.offsets.append(total)
            self.sizes.append(size)
            total += self.n_cell * size
        self.n_groups = total
        self.n_per = seg.mask.shape[1]
        self.direct: dict[str, np.ndarray] = {}
        self.steps: dict[str, np.ndarray] = {}

    def add(
        self,
        lo: int,
        hi: int,
        population: np.ndarray,
        measures: Mapping[str, np.ndarray],
    ) -> None:
        seg = self.seg
        q0, q1 = int(seg.start[lo]), int(seg.start[hi])
        if q1 == q0 or not self.attributes or self.n_per == 0:
            return
        # One segment per patient (no practice or band change in the chunk):
        # rows line up with the chunk's, no gather needed.
        aligned = q1 - q0 == hi - lo and bool(
            np.all(np.diff(seg.start[lo : hi + 1]) == 1)
        )
        local = seg.pos[q0:q1] - lo
        segs: np.ndarray | slice = slice(q0, q1)

        def rows(values: np.ndarray) -> np.ndarray:
            full = np.broadcast_to(values, population.shape)
            return full if aligned else full[local]

        mask = seg.mask[q0:q1] & rows(population)
        used = mask.any(axis=1)
        if not bool(used.all()):
            # Segments never in the population add nothing (a disease
            # register, an age group): leave them out of every sum.
            keep = np.flatnonzero(used)
            if not len(keep):
                return
            mask, local, segs, aligned = mask[keep], local[keep], q0 + keep, False
        cell = seg.practice[segs]
        if self.by_age_band:
            cell = cell * self.nb + seg.band[segs]
        cpos = seg.cat_pos[seg.pos[segs]]
        # Group of each segment within each attribute's block (attribute-major).
        groups = np.empty((len(self.attributes), len(cell)), dtype=np.int64)
        for i, a in enumerate(self.attributes):
            cat = seg.band[segs] if a == "age_band" else self.categories.codes[a][cpos]
            groups[i] = cell * self.sizes[i] + cat
        cells: dict[str, np.ndarray] = {"count": mask}
        for name, values in measures.items():
            if values.dtype == np.bool_:
                cells[name] = mask & rows(values)
            else:
                cells[name] = np.where(mask, rows(values), values.dtype.type(0))
        dense = self._add_steps(cells, groups)
        if dense:
            self._add_dense(dense, groups)

    def _add_steps(
        self, cells: Mapping[str, np.ndarray], groups: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Add the integer-valued `cells` as their period-to-period changes;
        returns the rest (not integers, or changing too often) for `_add_dense`."""
        rest: dict[str, np.ndarray] = {}
        stepped: dict[str, np.ndarray] = {}
        changed: np.ndarray | None = None
        for name, values in cells.items():
            whole = values.dtype.kind in "biu" or (
                np.all(np.abs(values) < 2.0**40)
                and np.array_equal(values, np.trunc(values))
            )
            if not whole:
                rest[name] = values
                continue
            # Cells that differ from the period before (the first period
            # always counts as a change from nothing when non-zero).
            differs = np.empty(values.shape, dtype=bool)
            differs[:, 0] = values[:, 0] != 0
            np.not_equal(values[:, 1:], values[:, :-1], out=differs[:, 1:])
            changed = (
                differs
                if changed is None
                else np.logical_or(changed, differs, out=changed)
            )
            stepped[name] = values
        if changed is None:
            return rest
        where = np.flatnonzero(changed)
        if len(where) > self.STEP_FRACTION * changed.size:
            return dict(cells)
        row, period = np.divmod(where, self.n_per)
        before = np.maximum(where - 1, 0)
        first_period = period == 0
        weights: dict[str, np.ndarray] = {}
        for name, v in stepped.items():
            flat = v.reshape(-1)
            now = flat[where].astype(np.float64)
            was = np.where(first_period, 0.0, flat[before].astype(np.float64))
            weights[name] = now - was
        self._count(self.steps, lambda i: groups[i][row], period, weights)
        return rest

    def _count(
        self,
        into: dict[str, np.ndarray],
        group: Callable[[int], np.ndarray],
        period: np.ndarray,
        weights: Mapping[str, np.ndarray | None],
    ) -> None:
        """Add each row's weight (None: 1) to its (group, period) sum in every
        attribute's block of `into`; `group(i)` gives the rows' groups within
        attribute i's block (made one attribute at a time: rows can be many)."""
        for name in weights:
            if name not in into:
                into[name] = np.zeros((self.n_groups, self.n_per))
        for i, size in enumerate(self.sizes):
            block = slice(self.offsets[i], self.offsets[i] + self.n_cell * size)
            keys = group(i) * self.n_per + period
            for name, w in weights.items():
                counted = np.bincount(
                    keys, weights=w, minlength=self.n_cell * size * self.n_per
                )
                into[name][block] += counted.reshape(-1, self.n_per)

    def _add_dense(self, cells: Mapping[str, np.ndarray], groups: np.ndarray) -> None:
        """Add every cell of `cells` to its groups (one sparse product)."""
        from scipy.sparse import csc_matrix

        n_attr, n_seg = groups.shape
        offsets = np.asarray(self.offsets, dtype=np.int64)[:, None]
        matrix = csc_matrix(
            (
                np.ones(n_seg * n_attr),
                (groups + offsets).T.reshape(-1),
                np.arange(0, n_seg * n_attr + 1, n_attr),
            ),
            shape=(self.n_groups, n_seg),
        )
        # One product for every measure (a row of k x periods per segment):
        # the segment's row is read once per group it adds to.
        names = list(cells)
        stacked = np.empty((n_seg, len(names), self.n_per))
        for j, m in enumerate(names):
            stacked[:, j] = cells[m]
        product = (matrix @ stacked.reshape(n_seg, -1)).reshape(
            self.n_groups, len(names), self.n_per
        )
        for j, m in enumerate(names):
            if m in self.direct:
                self.direct[m] += product[:, j]
            else:
                self.direct[m] = product[:, j].copy()

    def add_rows(
        self,
        practice: np.ndarray,
        per: np.ndarray,
        pos: np.ndarray,
        band: np.ndarray,
        population: np.ndarray,
        measures: Mapping[str, np.ndarray],
    ) -> None:
        """Add rows of an event-level indicator (one per event and period):
        their practice index, period, patient position and age band index;
        `population` says which count; measures per row."""
        sel = np.flatnonzero(population)
        if not len(sel) or not self.attributes:
            return
        seg = self.seg
        pos, per, band = pos[sel], per[sel], band[sel]
        practice = practice[sel].astype(np.int64)
        cell = practice * self.nb + band if self.by_age_band else practice
        cpos = seg.cat_pos[pos]
        weights = {m: np.asarray(v[sel], dtype=np.float64) for m, v in measures.items()}

        def group(i: int) -> np.ndarray:
            a = self.attributes[i]
            cat = band if a == "age_band" else self.categories.codes[a][cpos]
            return cell * self.sizes[i] + cat

        self._count(self.direct, group, per, {"count": None, **weights})

    def total(self, name: str) -> np.ndarray:
        """(groups x periods) sums of measure `name` ("count": population size)."""
        out = np.zeros((self.n_groups, self.n_per))
        if name in self.steps:
            out += np.cumsum(self.steps[name], axis=1)
        if name in self.direct:
            out += self.direct[name]
        return out

    def rows(
        self, constants: Mapping[str, float], aliases: Mapping[str, str]
    ) -> pd.DataFrame:
        """The aggregated rows, in the columns and order of the columnar pass."""
        seg = self.seg
        frames: list[pd.DataFrame] = []
        count = self.total("count")
        sums = {m: self.total(m) for m in {*self.direct, *self.steps}}
        sums.pop("count", None)
        band_labels = np.asarray([str(int(b)) for b in seg.bands], dtype=object)
        for i, a in enumerate(self.attributes):
            size = self.sizes[i]
            block = slice(self.offsets[i], self.offsets[i] + self.n_cell * size)

            def flat(values: np.ndarray, block: slice = block) -> np.ndarray:
                return values[block].T.reshape(-1)

            n = flat(count)
            present = np.flatnonzero(n > 0)
            category = present % size
            cell = (present // size) % self.n_cell
            out: dict[str, object] = {}
            if self.by_age_band:
                out["sband"] = seg.bands[cell % self.nb]
                cell = cell // self.nb
            out["practice_pseudo_id"] = seg.practices[cell]
            out["period_id"] = present // (size * self.n_cell)
            out["attribute"] = constant(a, len(present))
            labels = band_labels if a == "age_band" else self.categories.labels[a]
            out["value"] = categorical(labels, category)
            # A measure never added is zero wherever it was fetched (no rows).
            zeros = np.zeros(len(present))
            measures = {m: flat(v)[present] for m, v in sums.items()}
            counts = n[present]
            for m, c in constants.items():
                measures[m] = counts * c
            for m, source in aliases.items():
                measures[m] = measures.get(source, zeros)
            for m in MEASURES:
                out[m] = measures.get(m, zeros)
            out["n"] = np.rint(counts).astype(np.int64)
            frames.append(pd.DataFrame(out))
        return stack_aggregates(frames, by_age_band=self.by_age_band)


class _Chunk:
    """Evaluation of one indicator over patients [lo, hi) x all periods."""

    def __init__(
        self,
        owner: DenseEvaluator,
        grid: DenseGrid,
        definition: IndicatorDefinition,
        codelists: Mapping[str, Sequence[str]],
        lo: int,
        hi: int,
    ) -> None:
        self.owner = owner
        self.grid = grid
        self.definition = definition
        self.codelists = codelists
        self.lo, self.hi = lo, hi
        self.shape = (hi - lo, grid.n_periods)
        self._windows: dict[tuple[EventSource, Window, bool], _Matches] = {}
        self._relatives: dict[tuple[EventSource, RelativeWindow, bool], _Related] = {}

    def measures(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The population mask and the measures (as `compile_indicator` defines
        them), each (patients x periods)."""
        d = self.definition
        population = self.bool_(d.population) & self.grid.present[self.lo : self.hi]
        if d.exclusions is not None:
            population &= ~self.bool_(d.exclusions)
        return self.measures_for(population)

    def measures_for(
        self, population: np.ndarray
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The measures over the chunk given its population (which a mean
        narrows to rows with a value)."""
        d = self.definition
        measures: dict[str, np.ndarray] = {}
        if d.value_type is ValueType.PROPORTION:
            num = self.bool_(d.numerator)
            measures["num"] = num
            if d.exceptions is not None:
                exc = self.bool_(d.exceptions) & ~num
                measures["exc"] = exc
                measures["den"] = ~exc
            return population, measures
        value = self.value(d.numerator)
        # Whole numbers (counts of events, flags) stay integers: the sums are the
        # same, and `_Sums` can add them as steps without checking each value.
        integral = value.kind in ("int", "bool") and value.data.dtype.kind in "biu"
        data = self.full(value.data).astype(np.int64 if integral else np.float64)
        if value.valid is not None:
            valid = self.full(value.valid)
            if d.value_type is ValueType.MEAN:
                population &= valid
            else:
                data = np.where(valid, data, data.dtype.type(0))
        measures["num"] = data
        measures["num_sq"] = data * data
        return population, measures

    def full(self, a: np.ndarray) -> np.ndarray:
        return np.broadcast_to(a, self.shape)

    def live(self) -> np.ndarray:
        """Cells whose values are used (grid rows)."""
        return self.grid.present[self.lo : self.hi]

    def cells(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Patient position and period of flat indices into the chunk."""
        n_per = self.shape[1]
        return self.lo + flat // n_per, flat % n_per

    def excludes_self(self, source: EventSource) -> bool:
        """Whether a relative window over `source` must skip the cell's own
        event (only event rows searching their own table)."""
        return False

    def self_rows(self, ev: Events, flat: np.ndarray) -> np.ndarray:
        """Per cell, the row of `ev` that is the cell's own event (-1: none)."""
        return np.full(len(flat), -1, dtype=np.int64)

    def bool_(self, node: Node) -> np.ndarray:
        """A top-level condition as a (patients x periods) mask; unknown is false."""
        v = self.value(node)
        out = v.data if v.valid is None else v.data & v.valid
        return np.array(self.full(out), dtype=bool)

    # -- expression nodes ------------------------------------------------------------

    def days(self, node: Node) -> _Value:
        if isinstance(node, DateShift) and node.months:
            inner = self.days(node.operand)
            return _Value(_add_months(inner.data, node.months), inner.valid, "int")
        if isinstance(node, DateShift):
            inner = self.days(node.operand)
            return _Value(inner.data + node.days, inner.valid, "int")
        v = self.value(node)
        if v.kind != "date":
            raise Unsupported(f"days of {v.kind}")
        return _Value(v.data, v.valid, "int")

    def value(self, node: Node) -> _Value:  # noqa: C901 - one branch per node type
        g = self.grid
        lo, hi = self.lo, self.hi
        if isinstance(node, Literal):
            return _literal(node)
        if isinstance(node, PatientColumn):
            kind = _KIND[node.type]
            data, valid, labels = self.owner.patient_column(node.column, kind)
            return _Value(data[lo:hi, None], valid[lo:hi, None], kind, labels)
        if isinstance(node, PracticeColumn):
            ids, codes, valid, labels = self.owner.practice_column(node.column)
            idx = g.practice_idx[lo:hi]
            known = g.practices if len(g.practices) else np.full(1, -1, np.int64)
            prac = np.where(idx >= 0, known[np.maximum(idx, 0)], -1)
            at = _lookup(ids, prac.reshape(-1)).reshape(prac.shape)
            found = at >= 0
            safe = np.where(found, at, 0)
            if len(ids) == 0:
                return _Value(
                    np.full(prac.shape, -1), np.zeros(prac.shape, bool), "str", labels
                )
            return _Value(codes[safe], found & valid[safe], "str", labels)
        if isinstance(node, PeriodDate):
            days = g.start_day if node.which == "period_start" else g.end_day
            return _Value(days[None, :], None, "date")
        if isinstance(node, Age):
            ymd = g.end_ymd if node.at == "period_end" else g.start_ymd
            age = (ymd[None, :] - g.dob_ymd[lo:hi, None]) // 10000
            return _Value(age, g.dob_valid[lo:hi, None], "int")
        if isinstance(node, Registered):
            covers = g.covers_end[lo:hi]
            if node.at == "period_end" and node.months == 0:
                return _Value(covers, None, "bool")
            since = np.array(
                [
                    _ymd_int(registered_since(p, node.months, node.at))
                    for p in self.owner.periods
                ],
                dtype=np.int64,
            )
            started = g.reg_start_ymd[lo:hi] <= since[None, :]
            return _Value(
                covers & started if node.at == "period_end" else started, None, "bool"
            )
        if isinstance(node, EventAgg):
            return self._event_agg(node)
        if isinstance(node, Compare):
            return self._compare(node)
        if isinstance(node, InList):
            v = self.value(node.operand)
            if v.kind == "str":
                assert v.labels is not None
                wanted = {str(x) for x in node.values}
                hit = np.array([lab in wanted for lab in v.labels] + [False], bool)
                data = hit[v.data]
            else:
                values = [_day(x) if isinstance(x, dt.date) else x for x in node.values]
                data = np.isin(v.data, np.asarray(values))
            return _Value(~data if node.negate else data, v.valid, "bool")
        if isinstance(node, IsNull):
            inner = node.operand
            while isinstance(inner, DateShift):
                inner = inner.operand
            v = self.value(inner)
            valid = (
                np.ones((1, 1), bool) if v.valid is None else np.asarray(v.valid, bool)
            )
            return _Value(valid if node.negate else ~valid, None, "bool")
        if isinstance(node, And | Or):
            items = [self.value(i) for i in node.items]
            is_and = isinstance(node, And)
            true: np.ndarray | None = None
            false: np.ndarray | None = None
            for v in items:
                t = v.data if v.valid is None else v.data & v.valid
                f = ~v.data if v.valid is None else ~v.data & v.valid
                if is_and:
                    true = t if true is None else true & t
                    false = f if false is None else false | f
                else:
                    true = t if true is None else true | t
                    false = f if false is None else false & f
            assert true is not None and false is not None
            return _Value(true, true | false, "bool")
        if isinstance(node, Not):
            v = self.value(node.item)
            return _Value(~v.data, v.valid, "bool")
        if isinstance(node, Coalesce):
            items = [self.value(i) for i in node.items]
            kinds = {v.kind for v in items}
            kind = "float" if "float" in kinds else items[0].kind
            data = np.asarray(items[-1].data)
            valid = items[-1].valid
            for v in reversed(items[:-1]):
                if v.valid is None:
                    data, valid = np.asarray(v.data), None
                    continue
                data = np.where(v.valid, v.data, data)
                valid = v.valid if valid is None else (v.valid | valid)
                if valid is not None and bool(np.all(valid)):
                    valid = None
            if kind == "float":
                data = data.astype(np.float64)
            return _Value(data, valid, kind)
        if isinstance(node, Arith):
            left, right = self.value(node.left), self.value(node.right)
            valid = _and_valid(left.valid, right.valid)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                if node.op == "/":
                    den = right.data.astype(np.float64)
                    nonzero = den != 0
                    out = left.data.astype(np.float64) / np.where(nonzero, den, 1.0)
                    valid = _and_valid(valid, nonzero)
                    return _Value(out, valid, "float")
                a, b = left.data, right.data
                if node.type is Type.FLOAT:
                    a, b = a.astype(np.float64), b.astype(np.float64)
                else:
                    a, b = a.astype(np.int64), b.astype(np.int64)
                out = {"+": np.add, "-": np.subtract, "*": np.multiply}[node.op](a, b)
            return _Value(out, valid, "float" if node.type is Type.FLOAT else "int")
        if isinstance(node, DaysBetween):
            left, right = self.days(node.left), self.days(node.right)
            return _Value(
                left.data - right.data, _and_valid(left.valid, right.valid), "int"
            )
        raise Unsupported(type(node).__name__)

    def _compare(self, node: Compare) -> _Value:
        if isinstance(node.left, DateShift) or isinstance(node.right, DateShift):
            left, right = self.days(node.left), self.days(node.right)
        else:
            left, right = self.value(node.left), self.value(node.right)
        ops = {
            "==": np.equal,
            "!=": np.not_equal,
            "<": np.less,
            "<=": np.less_equal,
            ">": np.greater,
            ">=": np.greater_equal,
        }
        if left.kind == "str" or right.kind == "str":
            if isinstance(node.left, Literal):
                column, literal, op = right, node.left.value, _flip(node.op)
            else:
                column, literal, op = left, node.right, node.op
                literal = literal.value if isinstance(literal, Literal) else None
            if column.kind != "str" or not isinstance(literal, str):
                raise Unsupported("text comparison")
            assert column.labels is not None
            fn = ops[op]
            hit = np.array(
                [bool(fn(lab, literal)) for lab in column.labels] + [False], bool
            )
            return _Value(hit[column.data], column.valid, "bool")
        with np.errstate(invalid="ignore"):
            data = ops[node.op](left.data, right.data)
        return _Value(data, _and_valid(left.valid, right.valid), "bool")

    def _event_agg(self, node: EventAgg) -> _Value:
        window = node.window
        valued = node.agg.needs_value
        if isinstance(window, RelativeWindow):
            rel_key = (node.source, window, valued)
            if rel_key not in self._relatives:
                self._relatives[rel_key] = self._relative(node.source, window, valued)
            rel = self._relatives[rel_key]
            if node.agg not in rel.summaries:
                rel.summaries[node.agg] = self._relative_summary(rel, node.agg)
            return rel.summaries[node.agg]
        key = (node.source, window, valued)
        if key not in self._windows:
            self._windows[key] = self._window(node.source, window, valued)
        found = self._windows[key]
        if node.agg not in found.summaries:
            found.summaries[node.agg] = self._summary(found, node.agg)
        return found.summaries[node.agg]

    def _window(self, source: EventSource, window: Window, valued: bool) -> _Matches:
        """Per patient with events in the chunk and period: the number of events
        in the window and the rows of the first and last one.

        Events are sorted by (patient, day), so with periods in order of their
        end, "events on or before the period end" is a per-patient prefix whose
        length is a cumulative count over period buckets (likewise "before the
        window start"): one `bincount` and one `cumsum`, no search per period.
        """
        ev = self.owner.events(source, valued, self.codelists)
        g = self.grid
        first = ev.patient_start[self.lo : self.hi + 1]
        has = np.flatnonzero(first[1:] > first[:-1])
        e0, e1 = int(first[0]), int(first[-1])
        days = ev.days[e0:e1]
        owner = np.repeat(np.arange(len(has)), np.diff(first)[has])
        order = self.owner.end_order
        before_end = _prefix_counts(owner, days, g.end_day[order], len(has), "left")
        if window.kind is WindowKind.EVER:
            before_start = np.zeros_like(before_end)
        else:
            ws = self.owner.window_days(window, self.definition.period_rule)[order]
            if bool(np.all(np.diff(ws) >= 0)):
                before_start = _prefix_counts(owner, days, ws, len(has), "right")
            else:  # window starts not in period-end order: search per period
                pos_key = (has + self.lo)[:, None] * _DAY_RANGE + _DAY_OFFSET
                found = np.searchsorted(
                    ev.keys[e0:e1], pos_key + ws[None, :], side="left"
                )
                before_start = found - (first[:-1][has] - e0)[:, None]
        base = first[:-1][has][:, None]
        count = np.maximum(before_end - before_start, 0)
        last = base + before_end - 1
        before_start += base
        if not bool(np.all(order == np.arange(g.n_periods))):
            # Back from period-end order to period order (usually the same).
            unorder = np.empty(g.n_periods, dtype=np.int64)
            unorder[order] = np.arange(g.n_periods)
            count, last = count[:, unorder], last[:, unorder]
            before_start = before_start[:, unorder]
        matched = np.zeros(self.shape, dtype=bool)
        matched[has] = count > 0
        return _Matches(
            ev=ev, has=has, count=count, last=last, first=before_start, matched=matched
        )

    def _relative(
        self, source: EventSource, window: RelativeWindow, valued: bool
    ) -> _Related:
        """Events in a window relative to an anchor date, per cell with an anchor.

        As `compile._relative_feature`: days (or calendar months) `lo`..`hi`
        from the anchor, never after the period end, a missing anchor matches
        nothing, and a window relative to an event row of the same table skips
        that row. Events are sorted by (patient, day), so a cell's matches are
        one run of rows found by two binary searches.
        """
        anchor = self.days(window.anchor)
        ok = np.array(self.full(self.live()), dtype=bool)
        if anchor.valid is not None:
            ok &= self.full(anchor.valid)
        flat = np.flatnonzero(ok)
        pos, per = self.cells(flat)
        day = self.full(anchor.data)[ok].astype(np.int64)
        if window.unit == "months":
            lo = _add_months(day, window.lo) if window.lo else day
            hi = _add_months(day, window.hi) if window.hi else day
        else:
            lo, hi = day + window.lo, day + window.hi
        hi = np.minimum(hi, self.grid.end_day[per])
        excludes = self.excludes_self(source)
        ev = self.owner.events(source, valued, self.codelists, excludes)
        bound = (-_DAY_OFFSET, _DAY_RANGE - _DAY_OFFSET - 1)
        base = pos * _DAY_RANGE + _DAY_OFFSET
        i0 = np.searchsorted(ev.keys, base + np.clip(lo, *bound), side="left")
        i1 = np.searchsorted(ev.keys, base + np.clip(hi, *bound), side="right")
        i1 = np.where(hi < lo, i0, np.maximum(i1, i0))
        first, last = i0, i1 - 1
        count = i1 - i0
        own = self.self_rows(ev, flat) if excludes else None
        if own is not None:
            inside = (own >= i0) & (own < i1)
            count = count - inside
            first = np.where(inside & (own == first), first + 1, first)
            last = np.where(inside & (own == last), last - 1, last)
        return _Related(ev, flat, count, first, last, own)

    def _relative_summary(self, m: _Related, agg: Agg) -> _Value:
        """One summary as (cells) from a relative window's matches."""
        hit = m.count > 0
        at = m.flat[hit]
        if agg is Agg.EXISTS:
            data = np.zeros(self.shape, dtype=bool)
            data.reshape(-1)[at] = True
            return _Value(data, None, "bool")
        if agg is Agg.COUNT:
            full = np.zeros(self.shape, dtype=np.int64)
            full.reshape(-1)[m.flat] = m.count
            return _Value(full, None, "int")
        valid = np.zeros(self.shape, dtype=bool)
        valid.reshape(-1)[at] = True
        if agg in _RANGE_AGGS:
            if m.own is not None and bool(
                np.any((m.own >= m.first) & (m.own <= m.last))
            ):
                # The row's own event inside the run: two ranges per cell.
                raise Unsupported("value summary relative to the row's own table")
            assert m.ev.values is not None
            values = np.zeros(self.shape, dtype=np.float64)
            values.reshape(-1)[at] = _range_reduce(
                m.ev.values, m.first[hit], m.last[hit] + 1, agg
            )
            return _Value(values, valid, "float")
        latest = agg in (Agg.LATEST_DATE, Agg.LATEST_VALUE)
        rows = (m.last if latest else m.first)[hit]
        ev = m.ev
        if agg in (Agg.LATEST_DATE, Agg.EARLIEST_DATE):
            days = np.zeros(self.shape, dtype=np.int64)
            days.reshape(-1)[at] = ev.days[rows]
            return _Value(days, valid, "date")
        assert ev.values is not None
        if latest:
            # The latest day's lowest value (QOF tie rule), not the row itself.
            first_of_day = ev.day_first[rows]
            if m.own is not None:
                first_of_day = np.where(
                    first_of_day == m.own[hit], first_of_day + 1, first_of_day
                )
            rows = first_of_day
        values = np.zeros(self.shape, dtype=np.float64)
        values.reshape(-1)[at] = ev.values[rows]
        return _Value(values, valid, "float")

    def _summary(self, m: _Matches, agg: Agg) -> _Value:
        """One summary as (patients x periods) from the window's matches."""
        if agg is Agg.EXISTS:
            return _Value(m.matched, None, "bool")
        if agg is Agg.COUNT:
            full = np.zeros(self.shape, dtype=np.int64)
            full[m.has] = m.count
            return _Value(full, None, "int")
        ev = m.ev
        if agg in _RANGE_AGGS:
            assert ev.values is not None
            values = np.zeros(self.shape, dtype=np.float64)
            ok = m.count > 0
            part = np.zeros(m.count.shape, dtype=np.float64)
            part[ok] = _range_reduce(ev.values, m.first[ok], m.last[ok] + 1, agg)
            values[m.has] = part
            return _Value(values, m.matched, "float")
        latest = agg in (Agg.LATEST_DATE, Agg.LATEST_VALUE)
        rows = np.where(m.count > 0, m.last if latest else m.first, 0)
        if agg in (Agg.LATEST_DATE, Agg.EARLIEST_DATE):
            days = np.zeros(self.shape, dtype=np.int64)
            if len(ev.days):
                days[m.has] = ev.days[rows]
            return _Value(days, m.matched, "date")
        assert ev.values is not None
        values = np.zeros(self.shape, dtype=np.float64)
        if len(ev.values):
            # The latest day's lowest value (QOF tie rule); the earliest day's
            # first row is already its lowest.
            values[m.has] = ev.values[ev.day_first[rows] if latest else rows]
        return _Value(values, m.matched, "float")


_RANGE_AGGS = frozenset({Agg.SUM_VALUE, Agg.MEAN_VALUE, Agg.MIN_VALUE, Agg.MAX_VALUE})


def _range_reduce(
    values: np.ndarray, start: np.ndarray, stop: np.ndarray, agg: Agg
) -> np.ndarray:
    """`agg` of `values[start:stop]` for each (non-empty) range.

    Minimum and maximum are exact. Sums and means add the values in the
    events' (day, value) order; the SQL path's `sum`/`avg` add them in the
    order its hash join delivers them, which is not fixed either, so the two
    can differ in the last bit for values that are not exactly representable
    (tests compare them to 1e-9).
    """
    if not len(start):
        return np.zeros(0, dtype=np.float64)
    padded = np.append(values, 0.0)  # `stop` may be one past the last value
    bounds = np.empty(2 * len(start), dtype=np.int64)
    bounds[0::2], bounds[1::2] = start, stop
    ufunc = {
        Agg.SUM_VALUE: np.add,
        Agg.MEAN_VALUE: np.add,
        Agg.MIN_VALUE: np.minimum,
        Agg.MAX_VALUE: np.maximum,
    }[agg]
    out = ufunc.reduceat(padded, bounds)[0::2]
    if agg is Agg.MEAN_VALUE:
        out = out / (stop - start)
    return out


@dataclass
class _Matches:
    """Events of one source in one window, for the patients of a chunk that
    have any: `count`, `first` and `last` are (those patients x periods)."""

    ev: Events
    has: np.ndarray
    count: np.ndarray
    last: np.ndarray
    first: np.ndarray
    matched: np.ndarray
    summaries: dict[Agg, _Value] = field(default_factory=dict[Agg, _Value])


@dataclass
class _Related:
    """Events of one source in a relative window, for the cells `flat` (flat
    indices into the chunk) whose anchor is known: how many match and the
    rows of the first and last match (the cell's own event `own` skipped)."""

    ev: Events
    flat: np.ndarray
    count: np.ndarray
    first: np.ndarray
    last: np.ndarray
    own: np.ndarray | None
    summaries: dict[Agg, _Value] = field(default_factory=dict[Agg, _Value])


class _RowChunk(_Chunk):
    """Evaluation over the counted events of an event-level indicator: one
    cell per (event, period) row, shaped (rows x 1).

    The event's own columns come from `CountedEvents`; anything that does not
    depend on the row (`expr.row_level`) is evaluated on the patient chunk
    `cells` and read at the row's (patient, period), as the SQL path joins the
    patient-level features to each event row.
    """

    def __init__(
        self,
        cells: _Chunk,
        counted: CountedEvents,
        rows: np.ndarray,
        per: np.ndarray,
    ) -> None:
        super().__init__(
            cells.owner,
            cells.grid,
            cells.definition,
            cells.codelists,
            cells.lo,
            cells.hi,
        )
        self.patients = cells
        self.counted = counted
        self.rows = rows
        self.pos = counted.pos[rows]
        self.per = per
        self.shape = (len(rows), 1)
        events = cells.definition.events
        assert events is not None
        self.table = events.source.table

    def live(self) -> np.ndarray:
        return np.ones((1, 1), dtype=bool)

    def cells(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.pos[flat], self.per[flat]

    def excludes_self(self, source: EventSource) -> bool:
        return source.table == self.table

    def self_rows(self, ev: Events, flat: np.ndarray) -> np.ndarray:
        ids = self.counted.ids
        assert ids is not None
        return ev.rows_of(ids[self.rows[flat]])

    def value(self, node: Node) -> _Value:
        if isinstance(node, Literal):
            return _literal(node)
        if not row_level(node):
            v = self.patients.value(node)
            r, c = self.pos - self.lo, self.per
            data = self.patients.full(v.data)[r, c][:, None]
            valid = (
                None if v.valid is None else self.patients.full(v.valid)[r, c][:, None]
            )
            return _Value(data, valid, v.kind, v.labels)
        if isinstance(node, EventColumn):
            data, valid, labels = self.counted.columns[node.column]
            return _Value(
                data[self.rows][:, None],
                valid[self.rows][:, None],
                _KIND[node.type],
                labels,
            )
        return super().value(node)


@dataclass(frozen=True)
class _EventRows:
    """One chunk of an event-level indicator's rows: the patient position and
    period of each (event, period) row, whether it is in the population (not
    excluded; a mean's value known) and its measures."""

    grid: DenseGrid
    counted: CountedEvents
    rows: np.ndarray
    """The row of `counted` each (event, period) row is."""
    pos: np.ndarray
    per: np.ndarray
    population: np.ndarray
    measures: dict[str, np.ndarray]

    def band_index(self, seg: _Segments) -> np.ndarray:
        """Each row's age band as an index into `seg.bands` (0 without bands)."""
        if len(seg.bands) <= 1:
            return np.zeros(len(self.pos), dtype=np.int64)
        g = self.grid
        band = np.minimum(
            (g.end_ymd[self.per] - g.dob_ymd[self.pos]) // 10000 // 5, N_AGE_BANDS - 1
        )
        band = np.where(g.dob_valid[self.pos], band, int(MISSING_LABEL["age_band"]))
        return band - int(seg.bands[0])


def _constants(
    definition: IndicatorDefinition,
) -> tuple[dict[str, float], dict[str, str]]:
    """Measures that are one literal on every row, and measures equal to
    another (as `compile_indicator`'s `constants` and `aliases`)."""
    vt = definition.value_type
    constants: dict[str, float] = {}
    aliases = {"num_sq": "num"} if vt is ValueType.PROPORTION else {}
    if vt is not ValueType.PROPORTION or definition.exceptions is None:
        constants.update(exc=0.0, den=1.0)
    return constants, aliases


def _excludes_self(definition: IndicatorDefinition, node: EventAgg) -> bool:
    """Whether `node` searches relative to the counted event's row in its own
    table (so the row must not match itself), as `compile._prepare_events`."""
    return (
        definition.unit is Unit.EVENT
        and definition.events is not None
        and isinstance(node.window, RelativeWindow)
        and row_level(node)
        and node.source.table == definition.events.source.table
    )


def _prefix_counts(
    owner: np.ndarray, days: np.ndarray, bounds: np.ndarray, n_rows: int, side: str
) -> np.ndarray:
    """Per row (patient) and bound (ascending): how many of its events are on or
    before the bound (`side="left"`: day <= bound) or before it (`"right"`:
    day < bound)."""
    n_b = len(bounds)
    if side == "left":
        bucket = np.searchsorted(bounds, days, side="left")  # first bound >= day
    else:
        bucket = np.searchsorted(bounds, days, side="right")  # first bound > day
    hist = np.bincount(owner * (n_b + 1) + bucket, minlength=n_rows * (n_b + 1))
    return np.cumsum(hist.reshape(n_rows, n_b + 1), axis=1)[:, :n_b]


def _window_day(period: Period, window: Window, rule: PeriodRule) -> int:
    start = window_start(period, window, rule)
    assert start is not None
    return _day(start)


def _ymd_int(day: dt.date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def _flip(op: str) -> str:
    return {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)


def _literal(node: Literal) -> _Value:
    kind = _KIND[node.type]
    value = node.value
    if value is None:
        return _Value(np.zeros((1, 1), dtype=np.int64), np.zeros((1, 1), bool), kind)
    if kind == "str":
        return _Value(
            np.zeros((1, 1), dtype=np.int64),
            None,
            "str",
            np.asarray([value], dtype=object),
        )
    if isinstance(value, dt.date):
        return _Value(np.full((1, 1), _day(value), dtype=np.int64), None, "date")
    if kind == "bool":
        return _Value(np.full((1, 1), bool(value)), None, "bool")
    if kind == "float":
        return _Value(np.full((1, 1), float(value)), None, "float")
    return _Value(np.full((1, 1), int(value), dtype=np.int64), None, "int")
