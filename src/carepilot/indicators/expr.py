"""The expression language: typed, immutable nodes that definitions compile to.

Indicator definitions write population, numerator, exclusions and exceptions as
short expressions (parsed by `carepilot.indicators.parse`), e.g.::

    registered(months=3) and age >= 17 and diagnosed(diabetes, resolved=diabetes_res)
    latest_value(hba1c, within=12 months) <= 58

Every expression is evaluated per patient per period. The nodes below are the
whole language; `compile.py` turns them into Ibis and `reference.py` evaluates
them in plain Python, and both follow SQL three-valued logic (a comparison with a
missing value is *unknown*, and unknown counts as false at the top level).

Pure module: no I/O, no database imports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Type(StrEnum):
    """Value types of expressions."""

    BOOL = "bool"
    INT = "int"
    FLOAT = "float"
    STR = "str"
    DATE = "date"

    @property
    def numeric(self) -> bool:
        return self in (Type.INT, Type.FLOAT, Type.BOOL)


class WindowKind(StrEnum):
    """How far back from the period end events count."""

    EVER = "ever"
    """Any date on or before the period end."""
    PERIOD = "period"
    """The indicator's reporting window (set by its period rule)."""
    MONTHS = "months"
    """The last N months up to and including the period end."""
    DAYS = "days"
    """The last N days up to and including the period end."""


@dataclass(frozen=True, slots=True)
class Window:
    """A window of dates ending at the period end (inclusive at both ends)."""

    kind: WindowKind
    length: int = 0

    @property
    def key(self) -> str:
        """Short stable name, used for column names in the periods table."""
        if self.kind in (WindowKind.EVER, WindowKind.PERIOD):
            return self.kind.value
        return f"{self.kind.value[0]}{self.length}"

    def describe(self) -> str:
        if self.kind is WindowKind.EVER:
            return "ever (on or before the period end)"
        if self.kind is WindowKind.PERIOD:
            return "the reporting period"
        return f"the last {self.length} {self.kind.value}"


@dataclass(frozen=True, slots=True)
class EventSource:
    """Rows of one event table that a patient can have.

    Attributes:
        table: data-model table name (clinical_events, medications, apcs, ...).
        date_column: the column that places the event in time.
        codelist: name of the codelist matched against `code_column`, if any.
        code_column: the coded column the codelist applies to.
        filters: extra equality filters ``(column, allowed values)``.
        value_column: numeric column used by value aggregations, if any.
    """

    table: str
    date_column: str
    codelist: str | None = None
    code_column: str | None = None
    filters: tuple[tuple[str, tuple[str | int | float | bool, ...]], ...] = ()
    value_column: str | None = None
    where: Node | None = None
    """Row condition (`where=`) over this table's columns, e.g. `response_date is null`."""
    value_expr: Node | None = None
    """Row arithmetic (`value=`) used instead of `value_column`, e.g. `post - pre`."""
    link: str | None = None
    """A column of this table that references the counted event's id (`link=`, in
    event-level indicators): only rows linked to the current event match, e.g.
    social care packages whose `after_discharge_spell_id` is this spell."""


class Agg(StrEnum):
    """Per patient and period summaries of matching events."""

    EXISTS = "exists"
    COUNT = "count"
    LATEST_DATE = "latest_date"
    EARLIEST_DATE = "earliest_date"
    LATEST_VALUE = "latest_value"
    EARLIEST_VALUE = "earliest_value"
    MEAN_VALUE = "mean_value"
    MIN_VALUE = "min_value"
    MAX_VALUE = "max_value"
    SUM_VALUE = "sum_value"

    @property
    def type(self) -> Type:
        if self is Agg.EXISTS:
            return Type.BOOL
        if self is Agg.COUNT:
            return Type.INT
        if self in (Agg.LATEST_DATE, Agg.EARLIEST_DATE):
            return Type.DATE
        return Type.FLOAT

    @property
    def needs_value(self) -> bool:
        return self.type is Type.FLOAT


class Node:
    """Base class of expression nodes."""

    __slots__ = ()

    @property
    def type(self) -> Type:  # pragma: no cover - every subclass overrides
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Literal(Node):
    """A constant."""

    value: int | float | str | bool | dt.date | None
    lit_type: Type

    @property
    def type(self) -> Type:
        return self.lit_type


@dataclass(frozen=True, slots=True)
class PatientColumn(Node):
    """A column of the `patients` table (sex, ethnicity, imd_decile, ...)."""

    column: str
    col_type: Type

    @property
    def type(self) -> Type:
        return self.col_type


@dataclass(frozen=True, slots=True)
class PracticeColumn(Node):
    """A column of the `practices` table for the practice the patient is attributed to
    in the period (practice_code, pcn_code, commissioner_code)."""

    column: str

    @property
    def type(self) -> Type:
        return Type.STR


@dataclass(frozen=True, slots=True)
class PeriodDate(Node):
    """`period_start` or `period_end` (last day, inclusive) of the current period."""

    which: str

    @property
    def type(self) -> Type:
        return Type.DATE


@dataclass(frozen=True, slots=True)
class Age(Node):
    """Age in whole years at the period end (or start)."""

    at: str = "period_end"

    @property
    def type(self) -> Type:
        return Type.INT


@dataclass(frozen=True, slots=True)
class Registered(Node):
    """Registered at `at` and continuously, with that practice, for `months` before.

    The registration used is the one the patient is attributed to in the period
    (current at the period end, else the latest one overlapping the period).
    """

    months: int = 0
    at: str = "period_end"

    @property
    def type(self) -> Type:
        return Type.BOOL


@dataclass(frozen=True, slots=True)
class RelativeWindow:
    """Days (or calendar months) `lo`..`hi` (inclusive) from an anchor date:
    `within=10 to 56 days after X`, `within=0 to 1 months after X`.

    `anchor` is a date expression evaluated where the event function is written:
    per patient and period (e.g. `earliest_date(depression, ...)`), or per event row
    in an event-level indicator (e.g. the row's `discharge_date`). Events after the
    period end never count (every indicator is evaluated as at its period end), and
    a missing anchor matches nothing. `before` windows have negative offsets.

    With `unit="months"` the bounds are the anchor moved by `lo` and `hi` calendar
    months, clamped to the end of a shorter month (31 January + 1 month is
    28/29 February), which is how "within one calendar month" is counted in law.
    """

    anchor: Node
    lo: int
    hi: int
    unit: str = "days"
    """`days` or `months`."""

    def describe(self, anchor_text: str) -> str:
        unit = "calendar months" if self.unit == "months" else "days"
        if self.lo >= 0:
            return f"{self.lo} to {self.hi} {unit} after {anchor_text}"
        return f"{-self.hi} to {-self.lo} {unit} before {anchor_text}"


@dataclass(frozen=True, slots=True)
class EventAgg(Node):
    """A summary (`agg`) of the patient's `source` events within `window`."""

    source: EventSource
    window: Window | RelativeWindow
    agg: Agg

    @property
    def type(self) -> Type:
        return self.agg.type


@dataclass(frozen=True, slots=True)
class Compare(Node):
    """`left op right`, op one of == != < <= > >=."""

    op: str
    left: Node
    right: Node

    @property
    def type(self) -> Type:
        return Type.BOOL


@dataclass(frozen=True, slots=True)
class InList(Node):
    """`operand in [values]` (or `not in`)."""

    operand: Node
    values: tuple[int | float | str | bool | dt.date, ...]
    negate: bool = False

    @property
    def type(self) -> Type:
        return Type.BOOL


@dataclass(frozen=True, slots=True)
class IsNull(Node):
    """`operand is null` (or `is not null`): never unknown."""

    operand: Node
    negate: bool = False

    @property
    def type(self) -> Type:
        return Type.BOOL


@dataclass(frozen=True, slots=True)
class And(Node):
    """All operands are true (three-valued)."""

    items: tuple[Node, ...]

    @property
    def type(self) -> Type:
        return Type.BOOL


@dataclass(frozen=True, slots=True)
class Or(Node):
    """At least one operand is true (three-valued)."""

    items: tuple[Node, ...]

    @property
    def type(self) -> Type:
        return Type.BOOL


@dataclass(frozen=True, slots=True)
class Not(Node):
    """Negation (unknown stays unknown)."""

    item: Node

    @property
    def type(self) -> Type:
        return Type.BOOL


@dataclass(frozen=True, slots=True)
class Coalesce(Node):
    """The first operand that is not missing."""

    items: tuple[Node, ...]

    @property
    def type(self) -> Type:
        return self.items[0].type


@dataclass(frozen=True, slots=True)
class EventColumn(Node):
    """A column of the current event row.

    Used inside `where=` / `value=` (the searched table's row) and, in event-level
    indicators (`unit: event`), for the column of the counted event.
    """

    table: str
    column: str
    col_type: Type

    @property
    def type(self) -> Type:
        return self.col_type


@dataclass(frozen=True, slots=True)
class Arith(Node):
    """`left op right` for numbers, op one of + - * /; `/` is always decimal and
    division by zero is missing (as in SQL with a guard, on every backend)."""

    op: str
    left: Node
    right: Node

    @property
    def type(self) -> Type:
        if self.op == "/" or Type.FLOAT in (self.left.type, self.right.type):
            return Type.FLOAT
        return Type.INT


@dataclass(frozen=True, slots=True)
class DateShift(Node):
    """A date moved by whole days (`request_date + 30 days`) or calendar months
    (`request_date + 1 month`).

    Months are calendar months clamped to the end of a shorter month (31 January
    + 1 month is 28 or 29 February; 31 March - 1 month is 28/29 February), the
    rule for "within one calendar month" deadlines. Exactly one of `days` and
    `months` is non-zero; the parser only moves a plain date by months (not an
    already shifted one), so month arithmetic never needs a shifted date's value.
    """

    operand: Node
    days: int
    months: int = 0

    @property
    def type(self) -> Type:
        return Type.DATE


@dataclass(frozen=True, slots=True)
class DaysBetween(Node):
    """`left - right` for two dates: the whole days from `right` to `left`."""

    left: Node
    right: Node

    @property
    def type(self) -> Type:
        return Type.INT


def walk(node: Node) -> list[Node]:
    """Return `node` and all its descendants, parents first.

    Relative-window anchors are descended into (they are evaluated in the
    enclosing context); `where=`/`value=` row expressions are not (they are
    evaluated on the searched table's rows).
    """
    out: list[Node] = [node]
    children: tuple[Node, ...] = ()
    if isinstance(node, (Compare, Arith, DaysBetween)):
        children = (node.left, node.right)
    elif isinstance(node, DateShift):
        children = (node.operand,)
    elif isinstance(node, EventAgg) and isinstance(node.window, RelativeWindow):
        children = (node.window.anchor,)
    elif isinstance(node, (InList, IsNull)):
        children = (node.operand,)
    elif isinstance(node, (And, Or, Coalesce)):
        children = node.items
    elif isinstance(node, Not):
        children = (node.item,)
    for child in children:
        out.extend(walk(child))
    return out


def row_level(node: Node) -> bool:
    """Whether `node` depends on the current event row (an `EventColumn`, or an
    event summary linked to the row with `link=`)."""
    return any(
        isinstance(n, EventColumn)
        or (isinstance(n, EventAgg) and n.source.link is not None)
        for n in walk(node)
    )


def event_aggs(nodes: Sequence[Node]) -> list[EventAgg]:
    """Return the distinct event summaries used anywhere in `nodes`, in order."""
    seen: dict[EventAgg, None] = {}
    for root in nodes:
        for node in walk(root):
            if isinstance(node, EventAgg):
                seen.setdefault(node, None)
    return list(seen)
