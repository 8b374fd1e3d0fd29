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
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from carepilot.errors import DefinitionError, UnsupportedOperation
from carepilot.indicators.expected import ExpectedRates
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
    event_aggs,
    row_level,
    walk,
)
from carepilot.indicators.model import IndicatorDefinition, Unit, ValueType
from carepilot.indicators.periods import (
    Period,
    PeriodRule,
    add_months,
    registered_since,
    window_start,
)
from carepilot.schema import TABLES

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

EVENT_PROVIDER = "event_provider_code"
"""Column of event-level patient-level tables: the counted event's provider
(`engine.providers` attributes each event to it)."""

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
    all_regs = tables["practice_registrations"]
    per = periods.select("period_id", "period_start", "period_end")
    # Most patients have one registration: their (patient, period) rows are
    # unique straight from the range join. Only patients with several need the
    # GROUP BY that picks one per period - a hash aggregate over every row was
    # the most expensive step of the grid.
    # The date of birth is joined to the (small) registrations table, not to the
    # (large) grid; registrations of patients missing from `patients` drop out.
    counts = all_regs.group_by("patient_id").aggregate(_n_regs=all_regs.count())
    pats = tables["patients"].select("patient_id", "date_of_birth")
    counted = all_regs.join(counts, "patient_id").join(pats, "patient_id")

    def overlapping(regs: ir.Table) -> ir.Table:
        reg_end = regs.end_date.fill_null(ibis.literal(FAR_FUTURE, "date"))
        return regs.join(
            per,
            [regs.start_date <= per.period_end, reg_end >= per.period_start],
        ).select(
            patient_id=regs.patient_id,
            period_id=per.period_id,
            period_start=per.period_start,
            period_end=per.period_end,
            date_of_birth=regs.date_of_birth,
            # One sortable integer per registration: current at the period end
            # first, then latest start, then highest practice id. A GROUP BY max()
            # of it picks the attributed registration without a window function.
            key=(reg_end >= per.period_end).cast("int64") * _COVERS
            + _ymd(regs.start_date) * _START
            + regs.practice_pseudo_id.cast("int64"),
        )

    single = overlapping(counted.filter(counted._n_regs == 1))
    several = overlapping(counted.filter(counted._n_regs > 1))
    picked = several.group_by(["patient_id", "period_id"]).aggregate(
        key=several.key.max(),
        period_start=several.period_start.max(),
        period_end=several.period_end.max(),
        date_of_birth=several.date_of_birth.max(),
    )
    cols = ["patient_id", "period_id", "period_start", "period_end", "key"]
    cols.append("date_of_birth")
    chosen = ibis.union(single.select(*cols), picked.select(*cols), distinct=False)
    grid = chosen.select(
        chosen.patient_id,
        chosen.period_id,
        chosen.period_start,
        chosen.period_end,
        practice_pseudo_id=chosen.key % _START,
        reg_start_ymd=(chosen.key // _START) % (_COVERS // _START),
        covers_end=(chosen.key // _COVERS) == 1,
        date_of_birth=chosen.date_of_birth,
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


def _days(day: ir.DateValue) -> ir.IntegerValue:
    """A date as a day number (days since 1970-01-01).

    Date differences, shifts and relative windows compare day numbers rather
    than use interval arithmetic, which SQLite (before 3.46) lacks. Ibis's
    `epoch_days` (a DateDelta) is implemented by DuckDB, SQLite and PySpark and
    keeps the SQL shallow (SQLite's parser has a nesting limit).
    """
    return day.epoch_days().cast("int64")


def _add_months(day: ir.DateValue, months: int) -> ir.DateValue:
    """`day` moved by whole calendar months, clamped to the end of a shorter month.

    Built from year/month/day parts, integer arithmetic and a date constructor
    (all portable Ibis operations), because interval arithmetic differs between
    backends: DuckDB clamps 31 January + 1 month to 29 February but SQLite's
    `date(..., '+1 month')` rolls over to 2 March. Same rule as
    `periods.add_months`.
    """
    index = day.year().cast("int64") * 12 + (day.month().cast("int64") - 1 + months)
    year = index // 12
    month = index % 12 + 1
    leap = ((year % 4) == 0) & (((year % 100) != 0) | ((year % 400) == 0))
    # 31, less 1 for April/June/September/November, less 2 or 3 for February.
    last = (
        31
        - month.isin([4, 6, 9, 11]).cast("int64")
        - (month == 2).cast("int64") * (3 - leap.cast("int64"))
    )
    return ibis.date(year, month, ibis.least(day.day().cast("int64"), last))


_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
"""Python's proleptic ordinal of the day-number origin."""


@dataclass(frozen=True, slots=True)
class _FeatureGroup:
    source: EventSource
    window: Window | RelativeWindow
    valued: bool


def _group_of(node: EventAgg) -> _FeatureGroup:
    return _FeatureGroup(node.source, node.window, node.agg.needs_value)


def _source_rows(
    source: EventSource,
    tables: Mapping[str, ir.Table],
    codelists: Mapping[str, Sequence[str]],
) -> ir.Table:
    """Rows of the source's table passing its codelist, filters and `where=`."""
    t = tables[source.table]
    preds: list[ir.BooleanValue] = []
    if source.codelist is not None:
        assert source.code_column is not None
        preds.append(t[source.code_column].isin(list(codelists[source.codelist])))
    for column, values in source.filters:
        preds.append(t[column].isin(list(values)))
    if source.where is not None:
        preds.append(_Ctx(t, {}).bool_(source.where))
    preds.append(t[source.date_column].notnull())
    return t.filter(*preds)


def _event_value(source: EventSource, t: ir.Table) -> ir.Value:
    if source.value_expr is not None:
        return _Ctx(t, {}).value(source.value_expr).cast("float64")
    assert source.value_column is not None
    return t[source.value_column].cast("float64")


def _filtered_events(
    source: EventSource,
    tables: Mapping[str, ir.Table],
    codelists: Mapping[str, Sequence[str]],
    valued: bool,
) -> ir.Table:
    t = _source_rows(source, tables, codelists)
    cols: dict[str, ir.Value] = {
        "patient_id": t.patient_id,
        "d": t[source.date_column],
    }
    if valued:
        cols["v"] = _event_value(source, t)
        return t.select(**cols).filter(lambda e: e.v.notnull())
    return t.select(**cols)


def event_days(
    source: EventSource,
    tables: Mapping[str, ir.Table],
    codelists: Mapping[str, Sequence[str]],
    valued: bool,
    with_id: bool = False,
) -> ir.Table:
    """The source's matching events as `patient_id`, `day` (day number) [, `v`]
    [, `eid`].

    The same rows (codelist, filters, `where=`, non-null date and, when
    `valued`, non-null value) that `_feature_table` and `_relative_feature`
    join; `carepilot.engine.dense` summarises them per period in NumPy instead.
    `with_id` adds the row's primary key as `eid` (the id `_relative_feature`
    uses so that an event never matches itself).
    """
    t = _source_rows(source, tables, codelists)
    cols: dict[str, ir.Value] = {
        "patient_id": t.patient_id.cast("int64"),
        "day": _days(t[source.date_column]),
    }
    if valued:
        cols["v"] = _event_value(source, t)
    if with_id:
        cols["eid"] = t[TABLES[source.table].primary_key[0]]
    ev = t.select(**cols)
    return ev.filter(ev.v.notnull()) if valued else ev


def event_rows(
    source: EventSource,
    tables: Mapping[str, ir.Table],
    codelists: Mapping[str, Sequence[str]],
    columns: Sequence[str],
) -> ir.Table:
    """The rows an event-level indicator counts (`_prepare_events`), as
    `patient_id`, `day` (day number of the source's date) and `columns`."""
    t = _source_rows(source, tables, codelists)
    return t.select(
        patient_id=t.patient_id.cast("int64"),
        day=_days(t[source.date_column]),
        **{c: t[c] for c in columns},
    )


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
    return _summarise(j, ["patient_id", "period_id"], group, aggs, prefix)


def _summarise(
    j: ir.Table,
    keys: list[str],
    group: _FeatureGroup,
    aggs: Sequence[Agg],
    prefix: str,
) -> ir.Table:
    """Per-key summaries of matched events `j` (columns `keys`, `d`, [`v`])."""
    metrics: dict[str, ir.Value] = {}
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
        b = base.select(*keys, dcol).view()
        on_day = (
            j.join(b, [*[j[k] == b[k] for k in keys], j.d == b[dcol]])
            .select(*[j[k] for k in keys], j.v)
            .group_by(keys)
            .aggregate(**{f"{prefix}_{agg}": ibis._.v.min()})
        )
        base = base.left_join(on_day, [base[k] == on_day[k] for k in keys]).select(
            base, on_day[f"{prefix}_{agg}"]
        )
    keep = [c for c in base.columns if not c.startswith("_")]
    return base.select(*keep)


def _relative_feature(
    group: _FeatureGroup,
    aggs: Sequence[Agg],
    prefix: str,
    tables: Mapping[str, ir.Table],
    codelists: Mapping[str, Sequence[str]],
    base: ir.Table,
    keys: list[str],
    anchor: ir.Value | None,
    outer_id: ir.Value | None,
) -> ir.Table:
    """Summaries of events in a window relative to an anchor date, per `keys`.

    `base` has one row per key (patient x period, or event x period in
    event-level indicators) with `patient_id` and `period_end`; `anchor` is the
    anchor date's day number (`_days`), an expression over it, or for a window in
    calendar months the anchor date itself (the bounds are then the anchor moved
    by `lo` and `hi` months). All periods are matched in one range join.
    When the events come from the same table as the outer event row,
    `outer_id` (the row's id) keeps the row from matching itself. With `link=`
    (`source.link`), only rows whose link column equals `outer_id` match, and the
    window may also be `ever` (no anchor: any linked row up to the period end).
    """
    window = group.window
    link = group.source.link
    if not isinstance(window, RelativeWindow):
        # A linked search over every row up to the period end (`within=ever`).
        assert link is not None and outer_id is not None
        a = base.select(
            *keys, _pid=base.patient_id, _pend=base.period_end, _oid=outer_id
        )
        rows = _source_rows(group.source, tables, codelists)
        cols: dict[str, ir.Value] = {
            "_epid": rows.patient_id,
            "d": rows[group.source.date_column],
            "_link": rows[link],
        }
        if group.valued:
            cols["v"] = _event_value(group.source, rows)
        ev = rows.select(**cols)
        if group.valued:
            ev = ev.filter(ev.v.notnull())
        conds = [ev._epid == a._pid, ev._link == a._oid, ev.d <= a._pend]
        picked: dict[str, ir.Value] = {"d": ev.d}
        if group.valued:
            picked["v"] = ev.v
        j = ev.join(a, conds).select(*[a[k] for k in keys], **picked)
        return _summarise(j, keys, group, aggs, prefix)
    assert anchor is not None
    # Day numbers, not shifted dates: integer offsets are exact on every backend.
    a = base.select(
        *keys,
        _pid=base.patient_id,
        _pend=base.period_end,
        _ad=anchor,
        **({"_oid": outer_id} if outer_id is not None else {}),
    ).filter(lambda r: r._ad.notnull())
    if window.unit == "months":
        ad = a._ad
        assert isinstance(ad, ir.DateValue)
        lo, hi = (
            _days(_add_months(ad, n) if n else ad) for n in (window.lo, window.hi)
        )
        a = a.mutate(_lo=lo, _hi=hi)
    else:
        a = a.mutate(_lo=a._ad + window.lo, _hi=a._ad + window.hi)
    rows = _source_rows(group.source, tables, codelists)
    d = rows[group.source.date_column]
    cols: dict[str, ir.Value] = {"_epid": rows.patient_id, "d": d, "_ed": _days(d)}
    pk = TABLES[group.source.table].primary_key
    if link is not None:
        cols["_eid"] = rows[link]
    elif outer_id is not None:
        cols["_eid"] = rows[pk[0]]
    if group.valued:
        cols["v"] = _event_value(group.source, rows)
    ev = rows.select(**cols)
    if group.valued:
        ev = ev.filter(ev.v.notnull())
    conds = [ev._epid == a._pid, ev._ed >= a._lo, ev._ed <= a._hi, ev.d <= a._pend]
    if link is not None:
        assert outer_id is not None
        conds.append(ev._eid == a._oid)  # linked to this event
    elif outer_id is not None:
        conds.append(ev._eid != a._oid)  # an event never matches itself
    picked: dict[str, ir.Value] = {"d": ev.d}
    if group.valued:
        picked["v"] = ev.v
    j = ev.join(a, conds).select(*[a[k] for k in keys], **picked)
    return _summarise(j, keys, group, aggs, prefix)


def _join_features(
    t: ir.Table, keys: list[str], prefix: str, feat: ir.Table
) -> ir.Table:
    feat_cols = [c for c in feat.columns if c.startswith(prefix)]
    return t.left_join(feat, [t[k] == feat[k] for k in keys]).select(
        t, *[feat[c] for c in feat_cols]
    )


def _add_relative_features(
    t: ir.Table,
    aggs: Sequence[EventAgg],
    prefixes: dict[_FeatureGroup, str],
    keys: list[str],
    tables: Mapping[str, ir.Table],
    codelists: Mapping[str, Sequence[str]],
    row_prefix: str = "",
    outer_table: str | None = None,
) -> ir.Table:
    """Join the relative-window summaries `aggs` need to `t`, anchors first.

    An anchor may itself use another relative summary (e.g. a review after the
    earliest diagnosis after a discharge), so groups are added in layers, each
    once every summary its anchor uses is on `t`.
    """
    pending: dict[_FeatureGroup, list[Agg]] = {}
    for a in aggs:
        pending.setdefault(_group_of(a), []).append(a.agg)
    while pending:
        ready = [
            g
            for g in pending
            if not isinstance(g.window, RelativeWindow)
            or all(
                _group_of(n) in prefixes
                for n in walk(g.window.anchor)
                if isinstance(n, EventAgg)
            )
        ]
        if not ready:  # pragma: no cover - anchors cannot refer to themselves
            raise DefinitionError("internal: circular relative windows")
        # Every group of a layer is computed from the same base (not from the
        # table with the previous group joined), so the query grows linearly.
        view = t.view()  # the summaries are joined back onto t itself
        ctx = _Ctx(view, prefixes, row_prefix)
        layer: dict[_FeatureGroup, str] = {}
        for group in ready:
            prefix = f"f{len(prefixes) + len(layer)}"
            window = group.window
            outer_id: ir.Value | None = None
            if outer_table is not None and (
                outer_table == group.source.table or group.source.link is not None
            ):
                outer_id = view[row_prefix + TABLES[outer_table].primary_key[0]]
            anchor: ir.Value | None = None
            if isinstance(window, RelativeWindow):
                anchor = (
                    ctx.value(window.anchor)
                    if window.unit == "months"
                    else ctx.days(window.anchor)
                )
            feat = _relative_feature(
                group,
                pending.pop(group),
                prefix,
                tables,
                codelists,
                view,
                keys,
                anchor,
                outer_id,
            )
            t = _join_features(t, keys, prefix, feat)
            layer[group] = prefix
        prefixes.update(layer)
    return t


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
        population: `patient_level` before the patient attributes are joined
            (`patient_id`, `period_id`, `practice_pseudo_id`, `age` and the
            measures): engines that code the attributes themselves read this.
        constants: measures that are the same literal on every row (e.g.
            `exc` = 0 without exceptions), so aggregations need not read them.
        aliases: measures equal to another measure on every row (`num_sq` of a
            proportion is `num`).
    """

    definition: IndicatorDefinition
    patient_level: ir.Table
    periods: ir.Table
    population: ir.Table | None = None
    constants: Mapping[str, float] = field(default_factory=dict[str, float])
    aliases: Mapping[str, str] = field(default_factory=dict[str, str])


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
    if definition.unit is Unit.EVENT:
        t, ctx, per = _prepare_events(definition, tables, periods, grid, grid_periods)
        population = ibis.literal(True)
    else:
        t, ctx, per = _prepare(
            definition, definition.expressions(), tables, periods, grid, grid_periods
        )
        if definition.expected is not None:
            t = _with_expected_attributes(t, tables)
            ctx = _Ctx(t, ctx.prefixes)
        population = ctx.bool_(definition.population)
    if definition.exclusions is not None:
        population = population & ~ctx.bool_(definition.exclusions)
    vt = definition.value_type
    measures: dict[str, ir.Value] = {}
    constants: dict[str, float] = {}
    aliases: dict[str, str] = {"num_sq": "num"} if vt is ValueType.PROPORTION else {}
    if vt is ValueType.PROPORTION:
        num = ctx.bool_(definition.numerator)
        if definition.exceptions is not None:
            exc = ctx.bool_(definition.exceptions) & ~num
        else:
            exc = ibis.literal(False)
            constants.update(exc=0.0, den=1.0)
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
        constants.update(exc=0.0, den=1.0)
    else:
        value = ctx.value(definition.numerator)
        if definition.numerator.type is Type.BOOL:
            value = value.fill_null(False)
        num = value.cast("float64").fill_null(0.0)
        measures["num"] = num
        measures["exc"] = ibis.literal(0.0)
        measures["den"] = ibis.literal(1.0)
        measures["num_sq"] = num * num
        constants.update(exc=0.0, den=1.0)
        if definition.expected is not None:
            # ISR against an external table: `num_sq` carries each person's
            # expected probability (an ISR has no second moment), so every
            # aggregation path sums E alongside O without a new measure.
            rate = _expected_rate(definition.expected, t)
            population = population & rate.notnull()
            measures["num_sq"] = rate
    keep = ["patient_id", "period_id", "practice_pseudo_id", "age"]
    if EVENT_PROVIDER in t.columns:
        keep.append(EVENT_PROVIDER)
    attrs = [c for c in PATIENT_ATTRIBUTES if c not in ("lsoa_code", "date_of_birth")]
    filtered = t.filter(population).select(
        *keep, **{k: v.cast("float64") for k, v in measures.items()}
    )
    pats = tables["patients"].select("patient_id", *attrs)
    out = filtered.join(pats, "patient_id").select(*keep, *attrs, *measures)
    return CompiledIndicator(definition, out, per, filtered, constants, aliases)


def _with_expected_attributes(t: ir.Table, tables: Mapping[str, ir.Table]) -> ir.Table:
    """`t` with the person's sex and IMD decile as `_x_sex`, `_x_imd`."""
    pats = tables["patients"].select(
        _x_pid=ibis._.patient_id, _x_sex=ibis._.sex, _x_imd=ibis._.imd_decile
    )
    return t.left_join(pats, t.patient_id == pats._x_pid).select(
        t, pats._x_sex, pats._x_imd
    )


def _expected_rate(expected: ExpectedRates, t: ir.Table) -> ir.FloatingValue:
    """Each person's expected probability from the table's cell, null if absent.

    One flat CASE (not nested), so the SQL stays shallow on every backend.
    """
    branches: list[tuple[ir.BooleanValue, ir.Value]] = []
    quintile = (t._x_imd.cast("int64") + 1) // 2
    for band in expected.bands:
        cond = (t.age >= band.age_from) & (t.age <= band.age_to)
        if expected.by_sex:
            cond = cond & (t._x_sex == band.sex)
        if expected.by_quintile:
            cond = cond & (quintile == band.quintile)
        branches.append((cond, ibis.literal(band.rate, "float64")))
    rate = ibis.cases(*branches, else_=ibis.null("float64"))
    assert isinstance(rate, ir.FloatingValue)
    return rate


def _prepare_events(
    definition: IndicatorDefinition,
    tables: Mapping[str, ir.Table],
    periods: Sequence[Period],
    grid: ir.Table | None,
    grid_periods: ir.Table | None,
) -> tuple[ir.Table, _Ctx, ir.Table]:
    """Event-level indicators: one row per counted event x period.

    The patient-level part (population and every patient-level summary the
    expressions use) is built as for patient indicators and filtered to the
    population; the counted events of all periods are range-joined to the
    periods once and attached to it, so each event carries its patient's practice
    and attributes in that period. Summaries relative to the event's own columns
    (e.g. an emergency admission 0-30 days after this spell's discharge) are then
    joined per event.
    """
    events = definition.events
    assert events is not None and isinstance(events.window, Window)
    t, ctx, per = _prepare(
        definition,
        definition.expressions(),
        tables,
        periods,
        grid,
        grid_periods,
        extra_windows=(events.window,),
    )
    patients = t.filter(ctx.bool_(definition.population))
    src = events.source
    codes = {name: cl.codes for name, cl in definition.codelists.items()}
    rows = _source_rows(src, tables, codes)
    row_exprs = [e for e in definition.expressions()[1:]]
    used = {
        n.column for root in row_exprs for n in walk(root) if isinstance(n, EventColumn)
    }
    used |= set(TABLES[src.table].primary_key)
    if TABLES[src.table].has_column("provider_code"):
        used.add("provider_code")  # each event counts for its own provider
    ev = rows.select(
        _epid=rows.patient_id,
        _d=rows[src.date_column],
        **{f"r_{c}": rows[c] for c in sorted(used)},
    )
    conds: list[ir.BooleanValue] = [ev._d <= per.period_end]
    if events.window.kind.value != "ever":
        conds.append(ev._d >= per[f"ws_{events.window.key}"])
    ev = ev.join(per, conds).select(ev, _per=per.period_id)
    out = patients.join(
        ev, [patients.patient_id == ev._epid, patients.period_id == ev._per]
    ).select(patients, *[ev[f"r_{c}"] for c in sorted(used)])
    prefixes = dict(ctx.prefixes)
    row_aggs = [a for a in event_aggs(row_exprs) if row_level(a)]
    if row_aggs:
        pk = TABLES[src.table].primary_key
        out = _add_relative_features(
            out,
            row_aggs,
            prefixes,
            ["period_id", *[f"r_{c}" for c in pk]],
            tables,
            codes,
            row_prefix="r_",
            outer_table=src.table,
        )
    if "r_provider_code" in out.columns:
        out = out.mutate(**{EVENT_PROVIDER: out.r_provider_code.cast("string")})
    return out, _Ctx(out, prefixes, "r_"), per


def _prepare(
    definition: IndicatorDefinition,
    exprs: Sequence[Node],
    tables: Mapping[str, ir.Table],
    periods: Sequence[Period],
    grid: ir.Table | None,
    grid_periods: ir.Table | None,
    extra_windows: Sequence[Window] = (),
) -> tuple[ir.Table, _Ctx, ir.Table]:
    """Grid joined to every feature table the (patient-level parts of the)
    expressions need."""
    nodes = [n for root in exprs for n in walk(root)]
    all_aggs = event_aggs(exprs)
    aggs = [a for a in all_aggs if not row_level(a)]
    relative = [a for a in aggs if isinstance(a.window, RelativeWindow)]
    aggs = [a for a in aggs if isinstance(a.window, Window)]
    windows = [a.window for a in aggs if isinstance(a.window, Window)]
    windows += [*extra_windows]
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
        t = _join_features(t, ["patient_id", "period_id"], prefix, feat)

    prefixes = {g: p for g, (p, _) in features.items()}
    if relative:
        t = _add_relative_features(
            t, relative, prefixes, ["patient_id", "period_id"], tables, codes
        )
    ctx = _Ctx(t, prefixes)
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


def _has_shift(node: Node) -> bool:
    return isinstance(node, DateShift)


class _Ctx:
    """Turns expression nodes into Ibis column expressions over the joined table.

    Event-row columns (`EventColumn`) are read from `row_prefix + column`: the
    event table's own columns inside `where=`/`value=`, `r_<column>` on the
    event-level indicator table.
    """

    def __init__(
        self,
        table: ir.Table,
        prefixes: Mapping[_FeatureGroup, str],
        row_prefix: str = "",
    ) -> None:
        self.t = table
        self.prefixes = prefixes
        self.row_prefix = row_prefix

    def bool_(self, node: Node) -> ir.BooleanValue:
        """A top-level condition: unknown counts as false."""
        value = self.value(node)
        assert isinstance(value, ir.BooleanValue)
        return value.fill_null(False)

    def days(self, node: Node) -> ir.Value:
        """A date-valued node as a day number (shifts become integer offsets)."""
        if isinstance(node, DateShift) and node.months:
            if isinstance(node.operand, Literal):
                assert isinstance(node.operand.value, dt.date)
                moved = add_months(node.operand.value, node.months)
                return ibis.literal(moved.toordinal() - _EPOCH_ORDINAL, "int64")
            date = self.value(node.operand)
            assert isinstance(date, ir.DateValue)
            return _days(_add_months(date, node.months))
        if isinstance(node, DateShift):
            return self.days(node.operand) + node.days
        if isinstance(node, Literal) and isinstance(node.value, dt.date):
            return ibis.literal(node.value.toordinal() - _EPOCH_ORDINAL, "int64")
        return _days(self.value(node))

    def value(self, node: Node) -> ir.Value:  # noqa: C901 - one branch per node type
        t = self.t
        if isinstance(node, Literal):
            if node.value is None:
                return ibis.null(_IBIS_TYPES[node.type])
            return ibis.literal(node.value, _IBIS_TYPES[node.type])
        if isinstance(node, PatientColumn):
            return t[node.column]
        if isinstance(node, EventColumn):
            return t[self.row_prefix + node.column]
        if isinstance(node, Arith):
            left, right = self.value(node.left), self.value(node.right)
            if node.op == "/":
                den = right.cast("float64")
                return ibis.ifelse(
                    den == 0, ibis.null("float64"), left.cast("float64") / den
                )
            if node.type is Type.FLOAT:
                left, right = left.cast("float64"), right.cast("float64")
            return {"+": left + right, "-": left - right, "*": left * right}[node.op]
        if isinstance(node, DateShift):  # pragma: no cover - the parser forbids it
            raise UnsupportedOperation(
                "a shifted date can only be compared or subtracted"
            )
        if isinstance(node, DaysBetween):
            return self.days(node.left) - self.days(node.right)
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
            if _has_shift(node.left) or _has_shift(node.right):
                left, right = self.days(node.left), self.days(node.right)
            else:
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
            inner = node.operand
            while isinstance(
                inner, DateShift
            ):  # a shifted date is missing iff its date is
                inner = inner.operand
            operand = self.value(inner)
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
