"""Compile indicator definitions to Ibis expressions (the only path to SQL).

The plan, for all periods at once:

1. `periods_table`: one row per period with its start, end and the first day of
   every window the indicator uses (dates computed in Python by
   `carepilot.indicators.periods`, so every backend sees identical boundaries).
2. `build_grid`: registrations crossed with the periods ONCE, keeping the
   registrations that overlap each period and, per patient and period, the one
   the patient is attributed to (current at the period end, else the latest
   starting). Joined to `patients` for demographics and age.
3. For every distinct (event source, window) the expressions use, the
   codelist-filtered events are joined to the periods on date ranges and
   aggregated per (patient, period) into one feature table.
4. The grid is left-joined to the feature tables and the expressions become
   column expressions; the result is one row per patient and period in the
   population, with numerator/denominator/exception columns ready to sum.

Nothing here is backend specific: only Ibis operations that the DuckDB and
SQLite backends both implement are used (tested on both). Pure: builds
expressions, executes nothing.
"""

# Ibis's static types are coarser than its runtime API (columns from `t[...]` are
# typed `Column`, which lacks the operators and methods of the concrete value
# types), so pyright cannot check expression building here; the spec, property and
# integration tests check it on two backends instead.
# pyright: reportOperatorIssue=false, reportAttributeAccessIssue=false, reportArgumentType=false, reportCallIssue=false

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from carepilot.errors import DefinitionError, UnsupportedOperation
from carepilot.indicators.expr import (
    Age,
    Agg,
    And,
    Coalesce,
    Compare,
    EventAgg,
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
    Type,
    Window,
    event_aggs,
    walk,
)
from carepilot.indicators.model import IndicatorDefinition, ValueType
from carepilot.indicators.periods import (
    Period,
    PeriodRule,
    registered_since,
    window_start,
)

FAR_FUTURE = dt.date(9999, 12, 31)
"""Stands in for an open registration end date in range joins."""

PATIENT_ATTRIBUTES = (
    "sex",
    "ethnicity",
    "religion",
    "disability",
    "sexual_orientation",
    "gender_identity",
    "imd_decile",
    "rural_urban",
    "lsoa_code",
    "date_of_birth",
)
"""Patient columns breakdowns use. They are not stored on the (cached, large)
grid: each indicator joins them after filtering to its population, and
expressions that use patient columns join just those."""

GRID_COLUMNS = (
    "patient_id",
    "period_id",
    "period_start",
    "period_end",
    "practice_pseudo_id",
    "reg_start_ymd",
    "covers_end",
    "date_of_birth",
    "age",
    "age_at_start",
)

_IBIS_TYPES = {
    Type.BOOL: "boolean",
    Type.INT: "int64",
    Type.FLOAT: "float64",
    Type.STR: "string",
    Type.DATE: "date",
}


def periods_table(
    periods: Sequence[Period],
    windows: Sequence[Window] = (),
    rule: PeriodRule | None = None,
    registered: Sequence[Registered] = (),
) -> ir.Table:
    """A small in-memory table of periods and the first day of each window.

    Columns: ``period_id``, ``period_start``, ``period_end``, ``ws_<window key>``
    for each window (null for `ever`) and ``rs_<months>_<at>`` (latest
    registration start that satisfies each `registered(...)` condition).
    """
    rule = rule or PeriodRule()
    cols: dict[str, list[object]] = {
        "period_id": list(range(len(periods))),
        "period_start": [p.start for p in periods],
        "period_end": [p.end for p in periods],
    }
    fields = [
        pa.field("period_id", pa.int64()),
        pa.field("period_start", pa.date32()),
        pa.field("period_end", pa.date32()),
    ]
    for w in dict.fromkeys(windows):
        cols[f"ws_{w.key}"] = [window_start(p, w, rule) for p in periods]
        fields.append(pa.field(f"ws_{w.key}", pa.date32()))
    for r in dict.fromkeys(registered):
        cols[_reg_col(r)] = [
            _ymd_int(registered_since(p, r.months, r.at)) for p in periods
        ]
        fields.append(pa.field(_reg_col(r), pa.int64()))
    table = pa.Table.from_pydict(cols, schema=pa.schema(fields))
    return ibis.memtable(table)


def _reg_col(r: Registered) -> str:
    return f"rs_{r.months}_{r.at}"


def build_grid(tables: Mapping[str, ir.Table], periods: ir.Table) -> ir.Table:
    """One row per patient and period they were registered in at some point.

    Args:
        tables: the data-model tables (at least `patients` and
            `practice_registrations`) on one backend.
        periods: a `periods_table` (only id/start/end are used).

    Returns:
        The grid with columns `GRID_COLUMNS`.
    """
    regs = tables["practice_registrations"]
    per = periods.select("period_id", "period_start", "period_end")
    reg_end = regs.end_date.fill_null(ibis.literal(FAR_FUTURE, "date"))
    joined = regs.join(
        per,
        [regs.start_date <= per.period_end, reg_end >= per.period_start],
    ).select(
        patient_id=regs.patient_id,
        period_id=per.period_id,
        period_start=per.period_start,
        period_end=per.period_end,
        # One sortable integer per registration: current at the period end first,
        # then latest start, then highest practice id. A GROUP BY max() of it picks
        # the attributed registration without a window function (much faster).
        key=(reg_end >= per.period_end).cast("int64") * _COVERS
        + _ymd(regs.start_date) * _START
        + regs.practice_pseudo_id.cast("int64"),
    )
    chosen = joined.group_by(["patient_id", "period_id"]).aggregate(
        key=joined.key.max(),
        period_start=joined.period_start.max(),
        period_end=joined.period_end.max(),
    )
    pats = tables["patients"]
    grid = chosen.join(pats, chosen.patient_id == pats.patient_id).select(
        chosen.patient_id,
        chosen.period_id,
        chosen.period_start,
        chosen.period_end,
        practice_pseudo_id=chosen.key % _START,
        reg_start_ymd=(chosen.key // _START) % (_COVERS // _START),
        covers_end=(chosen.key // _COVERS) == 1,
        date_of_birth=pats.date_of_birth,
    )
    return grid.mutate(
        age=_age(grid.date_of_birth, grid.period_end),
        age_at_start=_age(grid.date_of_birth, grid.period_start),
    )


_COVERS = 10**15
_START = 10**7
"""Practice ids must be below 10**7; keys stay below 2**53 so that backends
whose MOD works in floating point (SQLite) stay exact."""


def _ymd(day: ir.DateValue) -> ir.IntegerValue:
    """A date as the integer yyyymmdd (order-preserving, backend-neutral).

    64-bit from the start: it is multiplied into the registration key, and
    Spark's date parts are 32-bit integers whose overflow is an error (ANSI)."""
    ymd = day.year().cast("int64") * 10000 + day.month() * 100 + day.day()
    return ymd.cast("int64")


def _ymd_int(day: dt.date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def _age(dob: ir.DateValue, on: ir.DateValue) -> ir.IntegerValue:
    before = (on.month() * 100 + on.day()) < (dob.month() * 100 + dob.day())
    return (on.year() - dob.year() - before.cast("int64")).cast("int64")


@dataclass(frozen=True, slots=True)
class _FeatureGroup:
    source: EventSource
    window: Window
    valued: bool


def _group_of(node: EventAgg) -> _FeatureGroup:
    return _FeatureGroup(node.source, node.window, node.agg.needs_value)


def _filtered_events(
    source: EventSource,
    tables: Mapping[str, ir.Table],
    codelists: Mapping[str, Sequence[str]],
    valued: bool,
) -> ir.Table:
    t = tables[source.table]
    preds: list[ir.BooleanValue] = []
    if source.codelist is not None:
        assert source.code_column is not None
        preds.append(t[source.code_column].isin(list(codelists[source.codelist])))
    for column, values in source.filters:
        preds.append(t[column].isin(list(values)))
    if valued:
        assert source.value_column is not None
        preds.append(t[source.value_column].notnull())
    if preds:
        t = t.filter(*preds)
    cols: dict[str, ir.Value] = {
        "patient_id": t.patient_id,
        "d": t[source.date_column],
    }
    if valued:
        assert source.value_column is not None
        cols["v"] = t[source.value_column].cast("float64")
    return t.select(**cols).filter(lambda e: e.d.notnull())


def _feature_table(
    group: _FeatureGroup,
    aggs: Sequence[Agg],
    prefix: str,
    tables: Mapping[str, ir.Table],
    codelists: Mapping[str, Sequence[str]],
    periods: ir.Table,
) -> ir.Table:
    ev = _filtered_events(group.source, tables, codelists, group.valued)
    conds: list[ir.BooleanValue] = [ev.d <= periods.period_end]
    ws = f"ws_{group.window.key}"
    if group.window.kind.value != "ever":
        conds.append(ev.d >= periods[ws])
    cols: dict[str, ir.Value] = {
        "patient_id": ev.patient_id,
        "period_id": periods.period_id,
        "d": ev.d,
    }
    if group.valued:
        cols["v"] = ev.v
    j = ev.join(periods, conds).select(**cols)
    metrics: dict[str, ir.Value] = {}
    keys = ["patient_id", "period_id"]
    if not group.valued:
        metrics[f"{prefix}_n"] = j.count()
        if Agg.LATEST_DATE in aggs:
            metrics[f"{prefix}_{Agg.LATEST_DATE}"] = j.d.max()
        if Agg.EARLIEST_DATE in aggs:
            metrics[f"{prefix}_{Agg.EARLIEST_DATE}"] = j.d.min()
        return j.group_by(keys).aggregate(**metrics)
    needs_latest = Agg.LATEST_VALUE in aggs
    needs_earliest = Agg.EARLIEST_VALUE in aggs
    if needs_latest:
        metrics["_max_d"] = j.d.max()
    if needs_earliest:
        metrics["_min_d"] = j.d.min()
    for agg, fn in (
        (Agg.MEAN_VALUE, j.v.mean),
        (Agg.MIN_VALUE, j.v.min),
        (Agg.MAX_VALUE, j.v.max),
        (Agg.SUM_VALUE, j.v.sum),
    ):
        if agg in aggs:
            metrics[f"{prefix}_{agg}"] = fn()
    if not metrics:  # pragma: no cover - valued groups always have an agg
        raise DefinitionError("internal: empty feature group")
    base = j.group_by(keys).aggregate(**metrics)
    for flag, agg, dcol in (
        (needs_latest, Agg.LATEST_VALUE, "_max_d"),
        (needs_earliest, Agg.EARLIEST_VALUE, "_min_d"),
    ):
        if not flag:
            continue
        # Ties on the same day: the lowest value counts (QOF convention for BP).
        b = base.select("patient_id", "period_id", dcol).view()
        on_day = (
            j.join(
                b,
                [
                    j.patient_id == b.patient_id,
                    j.period_id == b.period_id,
                    j.d == b[dcol],
                ],
            )
            .select(j.patient_id, j.period_id, j.v)
            .group_by(["patient_id", "period_id"])
            .aggregate(**{f"{prefix}_{agg}": ibis._.v.min()})
        )
        base = base.left_join(
            on_day,
            [
                base.patient_id == on_day.patient_id,
                base.period_id == on_day.period_id,
            ],
        ).select(base, on_day[f"{prefix}_{agg}"])
    keep = [c for c in base.columns if not c.startswith("_")]
    return base.select(*keep)


@dataclass(frozen=True)
class CompiledIndicator:
    """Ibis expressions for one indicator over all periods.

    Attributes:
        definition: the definition compiled.
        patient_level: one row per patient and period in the (non-excluded)
            population, with columns `period_id`, `practice_pseudo_id`, the
            patient attributes, `age`, and the measures `num` (numerator
            contribution), `den` (denominator contribution), `exc`
            (personalised care adjustment) and `num_sq` (for means).
        periods: the periods table used.
    """

    definition: IndicatorDefinition
    patient_level: ir.Table
    periods: ir.Table


def compile_indicator(
    definition: IndicatorDefinition,
    tables: Mapping[str, ir.Table],
    periods: Sequence[Period],
    grid: ir.Table | None = None,
    grid_periods: ir.Table | None = None,
) -> CompiledIndicator:
    """Compile a definition into one patient-level Ibis expression.

    Args:
        definition: the indicator.
        tables: data-model tables on the target backend.
        periods: reporting periods (all evaluated in the same query).
        grid: a prebuilt (possibly cached) `build_grid` result to reuse across
            indicators; built here when None.
        grid_periods: the periods table the grid was built from.

    Returns:
        The compiled indicator.
    """
    t, ctx, per = _prepare(
        definition, definition.expressions(), tables, periods, grid, grid_periods
    )
    population = ctx.bool_(definition.population)
    if definition.exclusions is not None:
        population = population & ~ctx.bool_(definition.exclusions)
    vt = definition.value_type
    measures: dict[str, ir.Value] = {}
    if vt is ValueType.PROPORTION:
        num = ctx.bool_(definition.numerator)
        if definition.exceptions is not None:
            exc = ctx.bool_(definition.exceptions) & ~num
        else:
            exc = ibis.literal(False)
        measures["num"] = num.cast("float64")
        measures["exc"] = exc.cast("float64")
        measures["den"] = 1.0 - exc.cast("float64")
        measures["num_sq"] = num.cast("float64")
    elif vt is ValueType.MEAN:
        value = ctx.value(definition.numerator).cast("float64")
        population = population & value.notnull()
        measures["num"] = value
        measures["exc"] = ibis.literal(0.0)
        measures["den"] = ibis.literal(1.0)
        measures["num_sq"] = value * value
    else:
        value = ctx.value(definition.numerator)
        if definition.numerator.type is Type.BOOL:
            value = value.fill_null(False)
        num = value.cast("float64").fill_null(0.0)
        measures["num"] = num
        measures["exc"] = ibis.literal(0.0)
        measures["den"] = ibis.literal(1.0)
        measures["num_sq"] = num * num
    keep = ["patient_id", "period_id", "practice_pseudo_id", "age"]
    attrs = [c for c in PATIENT_ATTRIBUTES if c not in ("lsoa_code", "date_of_birth")]
    filtered = t.filter(population).select(
        *keep, **{k: v.cast("float64") for k, v in measures.items()}
    )
    pats = tables["patients"].select("patient_id", *attrs)
    out = filtered.join(pats, "patient_id").select(*keep, *attrs, *measures)
    return CompiledIndicator(definition, out, per)


def _prepare(
    definition: IndicatorDefinition,
    exprs: Sequence[Node],
    tables: Mapping[str, ir.Table],
    periods: Sequence[Period],
    grid: ir.Table | None,
    grid_periods: ir.Table | None,
) -> tuple[ir.Table, _Ctx, ir.Table]:
    """Grid joined to every feature table the expressions need."""
    nodes = [n for root in exprs for n in walk(root)]
    aggs = event_aggs(exprs)
    windows = [a.window for a in aggs]
    regs = [
        n
        for n in nodes
        if isinstance(n, Registered) and (n.months > 0 or n.at != "period_end")
    ]
    per = periods_table(periods, windows, definition.period_rule, regs)
    if grid is None:
        grid = build_grid(tables, grid_periods if grid_periods is not None else per)
    codes = {name: cl.codes for name, cl in definition.codelists.items()}

    groups: dict[_FeatureGroup, list[Agg]] = {}
    for a in aggs:
        groups.setdefault(_group_of(a), []).append(a.agg)
    features: dict[_FeatureGroup, tuple[str, ir.Table]] = {}
    for i, (group, group_aggs) in enumerate(groups.items()):
        prefix = f"f{i}"
        features[group] = (
            prefix,
            _feature_table(group, group_aggs, prefix, tables, codes, per),
        )

    t = grid
    used = sorted(
        {n.column for n in nodes if isinstance(n, PatientColumn)} - set(t.columns)
    )
    if used:
        pats = tables["patients"].select("patient_id", *used)
        t = t.join(pats, "patient_id")
    org = sorted({n.column for n in nodes if isinstance(n, PracticeColumn)})
    if org:
        prac = tables["practices"].select("practice_pseudo_id", *org)
        t = t.left_join(prac, t.practice_pseudo_id == prac.practice_pseudo_id).select(
            t, *[prac[c] for c in org]
        )
    if regs:
        extra = per.select("period_id", *[_reg_col(r) for r in dict.fromkeys(regs)])
        t = t.join(extra, "period_id")
    for prefix, feat in features.values():
        feat_cols = [c for c in feat.columns if c.startswith(prefix)]
        t = t.left_join(
            feat,
            [t.patient_id == feat.patient_id, t.period_id == feat.period_id],
        ).select(t, *[feat[c] for c in feat_cols])

    ctx = _Ctx(t, {g: p for g, (p, _) in features.items()})
    return t, ctx, per


def compile_expressions(
    definition: IndicatorDefinition,
    expressions: Mapping[str, Node],
    tables: Mapping[str, ir.Table],
    periods: Sequence[Period],
) -> ir.Table:
    """Values of arbitrary expressions for every patient and period on the grid.

    Used by spec tests and debugging: columns `patient_id`, `period_id` and one
    column per named expression (unknown stays null).
    """
    t, ctx, _ = _prepare(
        definition, list(expressions.values()), tables, periods, None, None
    )
    return t.select(
        "patient_id",
        "period_id",
        **{name: ctx.value(node) for name, node in expressions.items()},
    )


class _Ctx:
    """Turns expression nodes into Ibis column expressions over the joined table."""

    def __init__(self, table: ir.Table, prefixes: Mapping[_FeatureGroup, str]) -> None:
        self.t = table
        self.prefixes = prefixes

    def bool_(self, node: Node) -> ir.BooleanValue:
        """A top-level condition: unknown counts as false."""
        value = self.value(node)
        assert isinstance(value, ir.BooleanValue)
        return value.fill_null(False)

    def value(self, node: Node) -> ir.Value:  # noqa: C901 - one branch per node type
        t = self.t
        if isinstance(node, Literal):
            if node.value is None:
                return ibis.null(_IBIS_TYPES[node.type])
            return ibis.literal(node.value, _IBIS_TYPES[node.type])
        if isinstance(node, PatientColumn):
            return t[node.column]
        if isinstance(node, PeriodDate):
            return t[node.which]
        if isinstance(node, PracticeColumn):
            return t[node.column]
        if isinstance(node, Age):
            return t.age if node.at == "period_end" else t.age_at_start
        if isinstance(node, Registered):
            if node.at == "period_end" and node.months == 0:
                return t.covers_end
            # Overlapping registrations always cover the period start, so only
            # the start date matters there; at the end, `covers_end` too.
            started = t.reg_start_ymd <= t[_reg_col(node)]
            return t.covers_end & started if node.at == "period_end" else started
        if isinstance(node, EventAgg):
            prefix = self.prefixes[_group_of(node)]
            if node.agg is Agg.EXISTS:
                return t[f"{prefix}_n"].notnull()
            if node.agg is Agg.COUNT:
                return t[f"{prefix}_n"].fill_null(0)
            return t[f"{prefix}_{node.agg}"]
        if isinstance(node, Compare):
            left, right = self.value(node.left), self.value(node.right)
            ops = {
                "==": left.__eq__,
                "!=": left.__ne__,
                "<": left.__lt__,
                "<=": left.__le__,
                ">": left.__gt__,
                ">=": left.__ge__,
            }
            return ops[node.op](right)
        if isinstance(node, InList):
            operand = self.value(node.operand)
            values = list(node.values)
            return operand.notin(values) if node.negate else operand.isin(values)
        if isinstance(node, IsNull):
            operand = self.value(node.operand)
            return operand.notnull() if node.negate else operand.isnull()
        if isinstance(node, And):
            out = self.value(node.items[0])
            for item in node.items[1:]:
                out = out & self.value(item)
            return out
        if isinstance(node, Or):
            out = self.value(node.items[0])
            for item in node.items[1:]:
                out = out | self.value(item)
            return out
        if isinstance(node, Not):
            return ~self.value(node.item)
        if isinstance(node, Coalesce):
            return ibis.coalesce(*[self.value(i) for i in node.items])
        raise UnsupportedOperation(  # pragma: no cover - exhaustive above
            f"expression node {type(node).__name__} cannot be compiled to Ibis"
        )
