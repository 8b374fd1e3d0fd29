"""Plain-Python reference evaluator: the oracle the Ibis compiler is tested against.

It evaluates a definition per patient per period over small in-memory tables
(lists of dicts keyed by data-model column names), written for obviousness, not
speed. It follows SQL three-valued logic exactly as the compiled SQL does: a
comparison involving a missing value is unknown (None); `and`/`or`/`not` follow
Kleene logic; unknown counts as false at the top level. Pure module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from carepilot.errors import UnsupportedOperation
from carepilot.indicators.expected import imd_quintile
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
)
from carepilot.indicators.model import IndicatorDefinition, Unit, ValueType
from carepilot.indicators.periods import (
    Period,
    add_months,
    age_at,
    registered_since,
    window_start,
)
from carepilot.schema import TABLES

Row = Mapping[str, Any]
Tables = Mapping[str, Sequence[Row]]


class _PatientPeriod:
    """Everything needed to evaluate expressions for one patient in one period."""

    def __init__(
        self,
        patient: Row,
        period: Period,
        registration: Row,
        events: Mapping[str, Sequence[Row]],
        definition: IndicatorDefinition,
        practices: Mapping[int, Row],
    ) -> None:
        self.practices = practices
        self.patient = patient
        self.period = period
        self.reg = registration
        self.events = events
        self.defn = definition
        self.row: Row | None = None
        """The current event row (event-level indicators, `where=`, `value=`)."""
        self.row_table: str | None = None

    def eval_row(self, node: Node, row: Row | None, table: str | None) -> Any:
        """Evaluate `node` with `row` (of `table`) as the current event row."""
        saved = (self.row, self.row_table)
        self.row, self.row_table = row, table
        try:
            return self.eval(node)
        finally:
            self.row, self.row_table = saved

    def eval(self, node: Node) -> Any:  # noqa: C901 - one branch per node type
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, EventColumn):
            assert self.row is not None, "event column outside a row context"
            return self.row.get(node.column)
        if isinstance(node, Arith):
            a, b = self.eval(node.left), self.eval(node.right)
            if a is None or b is None:
                return None
            if node.op == "/":
                return None if b == 0 else float(a) / float(b)
            return {"+": a + b, "-": a - b, "*": a * b}[node.op]
        if isinstance(node, DateShift):
            d = self.eval(node.operand)
            if d is None:
                return None
            if node.months:
                return add_months(d, node.months)
            return d + dt.timedelta(days=node.days)
        if isinstance(node, DaysBetween):
            a, b = self.eval(node.left), self.eval(node.right)
            return None if a is None or b is None else (a - b).days
        if isinstance(node, PatientColumn):
            return self.patient.get(node.column)
        if isinstance(node, PeriodDate):
            return (
                self.period.start if node.which == "period_start" else self.period.end
            )
        if isinstance(node, PracticeColumn):
            practice = self.practices.get(self.reg["practice_pseudo_id"], {})
            return practice.get(node.column)
        if isinstance(node, Age):
            on = self.period.end if node.at == "period_end" else self.period.start
            return age_at(self.patient["date_of_birth"], on)
        if isinstance(node, Registered):
            anchor = self.period.end if node.at == "period_end" else self.period.start
            end = self.reg.get("end_date")
            covers = end is None or end >= anchor
            since = registered_since(self.period, node.months, node.at)
            return covers and self.reg["start_date"] <= since
        if isinstance(node, EventAgg):
            return self._event_agg(node)
        if isinstance(node, Compare):
            a, b = self.eval(node.left), self.eval(node.right)
            if a is None or b is None:
                return None
            return {
                "==": a == b,
                "!=": a != b,
                "<": a < b,
                "<=": a <= b,
                ">": a > b,
                ">=": a >= b,
            }[node.op]
        if isinstance(node, InList):
            a = self.eval(node.operand)
            if a is None:
                return None
            return (a in node.values) != node.negate
        if isinstance(node, IsNull):
            return (self.eval(node.operand) is None) != node.negate
        if isinstance(node, And):
            values = [self.eval(i) for i in node.items]
            if any(v is False for v in values):
                return False
            return None if any(v is None for v in values) else True
        if isinstance(node, Or):
            values = [self.eval(i) for i in node.items]
            if any(v is True for v in values):
                return True
            return None if any(v is None for v in values) else False
        if isinstance(node, Not):
            v = self.eval(node.item)
            return None if v is None else not v
        if isinstance(node, Coalesce):
            for item in node.items:
                v = self.eval(item)
                if v is not None:
                    return v
            return None
        raise UnsupportedOperation(  # pragma: no cover - exhaustive above
            f"the reference evaluator has no rule for {type(node).__name__}"
        )

    def matching_rows(self, node: EventAgg) -> list[Row]:
        """The patient's rows of `node.source` in `node.window` (this period)."""
        src = node.source
        end = self.period.end
        start: dt.date | None
        pk = TABLES[src.table].primary_key
        same = (
            self.row
            if self.row is not None and self.row_table == src.table and pk
            else None
        )
        link_id: object = None
        if src.link is not None:
            if self.row is None or self.row_table is None:
                return []
            link_id = self.row.get(TABLES[self.row_table].primary_key[0])
            if link_id is None:
                return []
        if isinstance(node.window, RelativeWindow):
            anchor = self.eval(node.window.anchor)
            if anchor is None:
                return []
            if node.window.unit == "months":
                start = add_months(anchor, node.window.lo)
                end = min(end, add_months(anchor, node.window.hi))
            else:
                start = anchor + dt.timedelta(days=node.window.lo)
                end = min(end, anchor + dt.timedelta(days=node.window.hi))
        else:
            start = window_start(self.period, node.window, self.defn.period_rule)
        codes = (
            set(self.defn.codelists[src.codelist].codes)
            if src.codelist is not None
            else None
        )
        out: list[Row] = []
        for row in self.events.get(src.table, ()):
            d = row.get(src.date_column)
            if d is None or d > end or (start is not None and d < start):
                continue
            if codes is not None and row.get(src.code_column or "") not in codes:
                continue
            if any(row.get(col) not in values for col, values in src.filters):
                continue
            if src.link is not None and row.get(src.link) != link_id:
                continue  # not linked to this event
            if same is not None and all(row[k] == same[k] for k in pk):
                continue  # an event is never its own readmission/review
            if (
                src.where is not None
                and self.eval_row(src.where, row, src.table) is not True
            ):
                continue
            out.append(row)
        return out

    def _event_agg(self, node: EventAgg) -> Any:
        src = node.source
        matches: list[tuple[dt.date, float | None]] = []
        for row in self.matching_rows(node):
            d = row[src.date_column]
            if src.value_expr is not None:
                value = self.eval_row(src.value_expr, row, src.table)
            else:
                value = row.get(src.value_column) if src.value_column else None
            if node.agg.needs_value and value is None:
                continue
            matches.append((d, None if value is None else float(value)))
        agg = node.agg
        if agg is Agg.EXISTS:
            return bool(matches)
        if agg is Agg.COUNT:
            return len(matches)
        if not matches:
            return None
        dates = [d for d, _ in matches]
        values = [v for _, v in matches if v is not None]
        if agg is Agg.LATEST_DATE:
            return max(dates)
        if agg is Agg.EARLIEST_DATE:
            return min(dates)
        if agg is Agg.LATEST_VALUE:
            return min(v for d, v in matches if d == max(dates) and v is not None)
        if agg is Agg.EARLIEST_VALUE:
            return min(v for d, v in matches if d == min(dates) and v is not None)
        if agg is Agg.MEAN_VALUE:
            return sum(values) / len(values)
        if agg is Agg.MIN_VALUE:
            return min(values)
        if agg is Agg.MAX_VALUE:
            return max(values)
        return sum(values)


def attributed_registration(registrations: Sequence[Row], period: Period) -> Row | None:
    """The registration a patient is attributed to in `period`, if any.

    Among registrations overlapping the period: the one current at the period
    end, else the latest starting; ties go to the higher practice id.
    """
    best: tuple[tuple[int, dt.date, int], Row] | None = None
    for reg in registrations:
        end = reg.get("end_date")
        if reg["start_date"] > period.end or (end is not None and end < period.start):
            continue
        key = (
            int(end is None or end >= period.end),
            reg["start_date"],
            reg["practice_pseudo_id"],
        )
        if best is None or key > best[0]:
            best = (key, reg)
    return None if best is None else best[1]


def evaluate_expression(
    node: Node,
    definition: IndicatorDefinition,
    tables: Tables,
    periods: Sequence[Period],
) -> dict[tuple[int, int], Any]:
    """Evaluate one expression for every registered patient and period.

    Returns:
        ``{(patient_id, period_index): value}`` for each patient with a
        registration overlapping the period (value None when unknown).
    """
    out: dict[tuple[int, int], Any] = {}
    for ctx, pid, i in _contexts(definition, tables, periods):
        out[(pid, i)] = ctx.eval(node)
    return out


def _contexts(
    definition: IndicatorDefinition, tables: Tables, periods: Sequence[Period]
) -> list[tuple[_PatientPeriod, int, int]]:
    regs: dict[int, list[Row]] = {}
    for reg in tables.get("practice_registrations", ()):
        regs.setdefault(reg["patient_id"], []).append(reg)
    events: dict[int, dict[str, list[Row]]] = {}
    for name, rows in tables.items():
        if name in ("patients", "practice_registrations"):
            continue
        for row in rows:
            if "patient_id" in row:
                events.setdefault(row["patient_id"], {}).setdefault(name, []).append(
                    row
                )
    practices = {p["practice_pseudo_id"]: p for p in tables.get("practices", ())}
    out: list[tuple[_PatientPeriod, int, int]] = []
    for patient in tables.get("patients", ()):
        pid = patient["patient_id"]
        for i, period in enumerate(periods):
            reg = attributed_registration(regs.get(pid, []), period)
            if reg is None:
                continue
            ctx = _PatientPeriod(
                patient, period, reg, events.get(pid, {}), definition, practices
            )
            out.append((ctx, pid, i))
    return out


def evaluate_indicator(
    definition: IndicatorDefinition, tables: Tables, periods: Sequence[Period]
) -> list[dict[str, Any]]:
    """Patient-level rows exactly like `CompiledIndicator.patient_level`.

    Returns:
        One dict per patient and period in the population with `patient_id`,
        `period_id`, `practice_pseudo_id`, `num`, `den`, `exc`, `num_sq`.
    """
    rows: list[dict[str, Any]] = []
    for ctx, pid, i in _contexts(definition, tables, periods):
        if ctx.eval(definition.population) is not True:
            continue
        if definition.unit is Unit.EVENT:
            assert definition.events is not None
            table = definition.events.source.table
            for event in ctx.matching_rows(definition.events):
                row = _measure_row(ctx, definition, event, table)
                if row is not None:
                    # The counted event's provider (None if the table has none).
                    row["event_provider_code"] = event.get("provider_code")
                    rows.append({"patient_id": pid, "period_id": i, **row})
            continue
        row = _measure_row(ctx, definition, None, None)
        if row is not None:
            rows.append({"patient_id": pid, "period_id": i, **row})
    return rows


def _measure_row(
    ctx: _PatientPeriod,
    definition: IndicatorDefinition,
    event: Row | None,
    table: str | None,
) -> dict[str, Any] | None:
    """num/den/exc of one patient (or one of their events), None if left out."""
    vt = definition.value_type
    if (
        definition.exclusions is not None
        and ctx.eval_row(definition.exclusions, event, table) is True
    ):
        return None
    raw = ctx.eval_row(definition.numerator, event, table)
    exc = 0.0
    if vt is ValueType.PROPORTION:
        num = 1.0 if raw is True else 0.0
        if definition.exceptions is not None and num == 0.0:
            exc = (
                1.0
                if ctx.eval_row(definition.exceptions, event, table) is True
                else 0.0
            )
    elif vt is ValueType.MEAN:
        if raw is None:
            return None
        num = float(raw)
    elif definition.numerator.type is Type.BOOL:
        num = 1.0 if raw is True else 0.0
    else:
        num = 0.0 if raw is None else float(raw)
    num_sq = num * num
    if definition.expected is not None:
        # ISR against an external table: num_sq is the expected probability.
        rate = definition.expected.rate_for(
            ctx.patient.get("sex"),
            age_at(ctx.patient["date_of_birth"], ctx.period.end),
            imd_quintile(ctx.patient.get("imd_decile")),
        )
        if rate is None:
            return None  # no cell: out of observed and expected alike
        num_sq = rate
    return {
        "practice_pseudo_id": ctx.reg["practice_pseudo_id"],
        "num": num,
        "den": 1.0 - exc,
        "exc": exc,
        "num_sq": num_sq,
    }
