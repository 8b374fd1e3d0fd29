"""Parse and type-check the expression language (see docs/indicators.md).

Grammar (lowest precedence first)::

    expr    := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | cmp
    cmp     := sum [("=="|"!="|"<"|"<="|">"|">=") sum
                    | ["not"] "in" "[" literal ("," literal)* "]"
                    | "is" ["not"] "null"]
    sum     := term (("+"|"-") (term | NUMBER ("days"|"weeks"|"months"|"years")))*
    term    := unary (("*"|"/") unary)*
    unary   := "-" unary | atom
    atom    := NUMBER | STRING | "true" | "false" | NAME | call | "(" expr ")"
    call    := NAME "(" [arg ("," arg)*] ")"
    arg     := expr | NAME "=" (expr | window | "[" literal, ... "]")
    window  := NUMBER ("months"|"days"|"years") | "ever" | "period"
             | NUMBER ["to" NUMBER] ("days"|"weeks"|"months"|"years")
               ("after"|"before") sum

`where=` and `value=` are row expressions over the searched table's columns;
in an event-level indicator (`unit: event`) the counted event's columns are
names too (`attendance_status == "dna"`, `within=0 to 30 days after
discharge_date`).

Names are resolved and types checked here, against the data model in
`carepilot.schema` and the codelists the definition declares, so that a bad
definition fails before any data is read. Pure module.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass

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
)
from carepilot.schema import TABLES, CodeSystem, ColumnType


class ExprError(Exception):
    """A problem at character `pos` of an expression (converted to DefinitionError)."""

    def __init__(self, pos: int, message: str) -> None:
        super().__init__(message)
        self.pos = pos
        self.message = message


@dataclass(frozen=True, slots=True)
class TableInfo:
    """Default columns of an event table."""

    date: str
    code: str | None
    value: str | None


EVENT_TABLES: dict[str, TableInfo] = {
    "clinical_events": TableInfo("date", "snomedct_code", "numeric_value"),
    "medications": TableInfo("date", "dmd_code", None),
    "apcs": TableInfo("admission_date", "primary_diagnosis", "tariff_cost"),
    "opa": TableInfo("appointment_date", None, "cost"),
    "ec": TableInfo("arrival_date", "primary_diagnosis", "cost"),
    "community_contacts": TableInfo("contact_date", None, "minutes"),
    "ons_deaths": TableInfo("date", "underlying_cause_of_death", None),
    "referrals": TableInfo("referral_date", None, None),
    "social_care_packages": TableInfo("start_date", None, "weekly_cost"),
    "proms": TableInfo("pre_date", None, "post_eq5d_index"),
    "patient_experience": TableInfo("survey_date", None, None),
    "record_access_requests": TableInfo("request_date", None, None),
}
"""Tables that event functions can read, with their default date/code/value columns."""

DEFAULT_TABLE_FOR_SYSTEM: dict[CodeSystem, tuple[str, str]] = {
    CodeSystem.SNOMEDCT: ("clinical_events", "snomedct_code"),
    CodeSystem.DMD: ("medications", "dmd_code"),
    CodeSystem.ICD10: ("apcs", "primary_diagnosis"),
    CodeSystem.OPCS4: ("apcs", "primary_procedure"),
}

_COL_TYPES: dict[ColumnType, Type] = {
    ColumnType.INT: Type.INT,
    ColumnType.FLOAT: Type.FLOAT,
    ColumnType.STR: Type.STR,
    ColumnType.DATE: Type.DATE,
    ColumnType.BOOL: Type.BOOL,
}

PATIENT_COLUMNS: dict[str, Type] = {
    c.name: _COL_TYPES[c.type]
    for c in TABLES["patients"].columns
    if c.name != "patient_id"
}

PRACTICE_COLUMNS = ("practice_code", "pcn_code", "commissioner_code")
"""Organisation attributes of the patient's practice in the period."""

EVENT_FUNCTIONS: dict[str, Agg] = {
    "has": Agg.EXISTS,
    "count": Agg.COUNT,
    "latest_date": Agg.LATEST_DATE,
    "earliest_date": Agg.EARLIEST_DATE,
    "latest_value": Agg.LATEST_VALUE,
    "earliest_value": Agg.EARLIEST_VALUE,
    "mean_value": Agg.MEAN_VALUE,
    "min_value": Agg.MIN_VALUE,
    "max_value": Agg.MAX_VALUE,
    "sum_value": Agg.SUM_VALUE,
}
OTHER_FUNCTIONS = ("diagnosed", "died", "registered", "date", "coalesce")
NAMES = ("age", "age_at_start", "period_start", "period_end", "alive", "registered")

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>\d+(?:\.\d+)?)
    | (?P<string>"[^"]*"|'[^']*')
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,|=|\+|-|\*|/)
    )""",
    re.VERBOSE,
)
_CODELIST_FUNCTIONS = {*EVENT_FUNCTIONS, "diagnosed", "died"}
_KEYWORDS = {"and", "or", "not", "in", "is", "null", "true", "false"}
_WINDOW_UNITS = {"month": 1, "months": 1, "year": 12, "years": 12, "day": 0, "days": 0}
_DAY_UNITS = {"day": 1, "days": 1, "week": 7, "weeks": 7}
"""Day units of relative windows and date shifts."""
_MONTH_UNITS = {"month": 1, "months": 1, "year": 12, "years": 12}
"""Calendar-month units of relative windows and date shifts (end-of-month clamped)."""
_ROW_ARGS = ("where", "value")


@dataclass(frozen=True, slots=True)
class _Deferred:
    """Tokens of a `where=`/`value=` argument, parsed once the table is known."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    """Split `text` into tokens, raising ExprError at the first bad character."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            bad = len(text[pos:]) - len(text[pos:].lstrip()) + pos
            raise ExprError(bad, f"unexpected character `{text[bad]}`")
        kind = match.lastgroup or "op"
        start = match.start(kind)
        value = match.group(kind)
        if kind == "name" and value in _KEYWORDS:
            kind = "kw"
        tokens.append(Token(kind, value, start))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def _suggest(name: str, options: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
    return f"; did you mean `{close[0]}`?" if close else ""


class Parser:
    """Recursive-descent parser producing resolved, type-checked nodes."""

    def __init__(
        self,
        text: str,
        codelists: Mapping[str, CodeSystem],
        row_table: str | None = None,
    ) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.codelists = codelists
        self.row_table = row_table
        """Table whose columns are names (the current event row), if any."""
        self.row_only = False
        """True inside `where=`/`value=`: only the row's columns may be used."""

    # -- token helpers ---------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def accept(self, text: str) -> Token | None:
        if self.tok.text == text and self.tok.kind in ("op", "kw"):
            self.i += 1
            return self.tokens[self.i - 1]
        return None

    def expect(self, text: str) -> Token:
        tok = self.accept(text)
        if tok is None:
            found = self.tok.text or "the end of the expression"
            raise ExprError(self.tok.pos, f"expected `{text}` but found `{found}`")
        return tok

    # -- grammar -----------------------------------------------------------------------
    def parse(self) -> Node:
        node = self.expr()
        if self.tok.kind != "end":
            raise ExprError(
                self.tok.pos,
                f"unexpected `{self.tok.text}`; combine conditions with `and` / `or`",
            )
        return node

    def expr(self) -> Node:
        start = self.tok.pos
        items = [self.and_()]
        while self.accept("or"):
            items.append(self.and_())
        if len(items) == 1:
            return items[0]
        for item in items:
            self._need_bool(item, start, "`or`")
        return Or(tuple(items))

    def and_(self) -> Node:
        start = self.tok.pos
        items = [self.not_()]
        while self.accept("and"):
            items.append(self.not_())
        if len(items) == 1:
            return items[0]
        for item in items:
            self._need_bool(item, start, "`and`")
        return And(tuple(items))

    def not_(self) -> Node:
        tok = self.accept("not")
        if tok is not None:
            item = self.not_()
            self._need_bool(item, tok.pos, "`not`")
            return Not(item)
        return self.cmp()

    def cmp(self) -> Node:
        start = self.tok.pos
        left = self.sum_()
        op = self.tok.text if self.tok.kind == "op" else ""
        if op in ("==", "!=", "<", "<=", ">", ">="):
            self.i += 1
            right = self.sum_()
            left, right = self._coerce_pair(left, right, start)
            if op not in ("==", "!=") and left.type in (Type.BOOL, Type.STR):
                raise ExprError(
                    start, f"`{op}` needs numbers or dates, not {left.type.value}"
                )
            return Compare(op, left, right)
        negate = False
        if self.tok.text == "not" and self.tokens[self.i + 1].text == "in":
            self.i += 1
            negate = True
        if self.accept("in"):
            if left.type is Type.DATE:
                raise ExprError(start, "compare dates with < <= > >=, not `in`")
            values = self.literal_list()
            checked = tuple(self._coerce_value(left, v, start) for v, _ in values)
            return InList(left, checked, negate)
        if self.accept("is"):
            neg = self.accept("not") is not None
            self.expect("null")
            return IsNull(left, neg)
        if isinstance(left, DateShift):
            raise ExprError(
                start,
                "a moved date can only be compared or subtracted, e.g. "
                "`response_date <= request_date + 1 month`",
            )
        return left

    def sum_(self) -> Node:
        left = self.term()
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            op_tok = self.tok
            self.i += 1
            nxt = self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else None
            if self.tok.kind == "number" and nxt is not None and nxt.kind == "name":
                if nxt.text in _DAY_UNITS or nxt.text in _WINDOW_UNITS:
                    left = self._shift(left, op_tok, self.tok, nxt)
                    continue
            right = self.term()
            left = self._arith(op_tok, left, right)
        return left

    def _shift(self, left: Node, op_tok: Token, num: Token, unit: Token) -> Node:
        if left.type is not Type.DATE:
            raise ExprError(
                op_tok.pos,
                f"only dates can be moved by {unit.text}, not a {left.type.value} value",
            )
        if "." in num.text:
            raise ExprError(num.pos, f"move dates by a whole number of {unit.text}")
        self.i += 2
        n = int(num.text)
        sign = 1 if op_tok.text == "+" else -1
        if unit.text in _DAY_UNITS:
            return DateShift(left, sign * n * _DAY_UNITS[unit.text])
        if unit.text not in _MONTH_UNITS:
            raise ExprError(  # pragma: no cover - the caller only passes units
                unit.pos, f"unknown unit `{unit.text}`"
            )
        if isinstance(left, DateShift):
            raise ExprError(
                op_tok.pos,
                "a date can be moved by calendar months only before any other "
                "shift: write the months first, e.g. `request_date + 1 month + 3 "
                "days`",
            )
        return DateShift(left, 0, months=sign * n * _MONTH_UNITS[unit.text])

    def _arith(self, op_tok: Token, left: Node, right: Node) -> Node:
        op = op_tok.text
        if op == "-" and left.type is Type.DATE and right.type is Type.DATE:
            return DaysBetween(left, right)
        numeric = (Type.INT, Type.FLOAT)
        if left.type in numeric and right.type in numeric:
            return Arith(op, left, right)
        if Type.DATE in (left.type, right.type):
            raise ExprError(
                op_tok.pos,
                "dates take `+ N days`, `- N months` (or weeks, years) and "
                "`date - date` (whole days between them); e.g. "
                "`response_date - request_date <= 30`",
            )
        raise ExprError(
            op_tok.pos,
            f"`{op}` needs numbers, not {left.type.value} and {right.type.value}",
        )

    def term(self) -> Node:
        left = self.unary()
        while self.tok.kind == "op" and self.tok.text in ("*", "/"):
            op_tok = self.tok
            self.i += 1
            right = self.unary()
            left = self._arith(op_tok, left, right)
        return left

    def unary(self) -> Node:
        tok = self.tok
        if tok.kind == "op" and tok.text == "-":
            self.i += 1
            item = self.unary()
            if isinstance(item, Literal) and isinstance(item.value, (int, float)):
                if not isinstance(item.value, bool):
                    return Literal(-item.value, item.type)
            if item.type not in (Type.INT, Type.FLOAT):
                raise ExprError(tok.pos, f"cannot negate a {item.type.value} value")
            return Arith("-", Literal(0, Type.INT), item)
        return self.atom()

    def literal_list(self) -> list[tuple[int | float | str | bool, int]]:
        self.expect("[")
        values: list[tuple[int | float | str | bool, int]] = []
        while True:
            tok = self.tok
            lit = self.atom()
            if not isinstance(lit, Literal) or lit.value is None:
                raise ExprError(tok.pos, "lists may contain only numbers or text")
            assert not isinstance(lit.value, dt.date)
            values.append((lit.value, tok.pos))
            if not self.accept(","):
                break
        self.expect("]")
        return values

    def atom(self) -> Node:
        tok = self.tok
        if tok.kind == "number":
            self.i += 1
            if "." in tok.text:
                return Literal(float(tok.text), Type.FLOAT)
            return Literal(int(tok.text), Type.INT)
        if tok.kind == "string":
            self.i += 1
            return Literal(tok.text[1:-1], Type.STR)
        if tok.kind == "kw" and tok.text in ("true", "false"):
            self.i += 1
            return Literal(tok.text == "true", Type.BOOL)
        if self.accept("("):
            node = self.expr()
            self.expect(")")
            return node
        if tok.kind == "name":
            self.i += 1
            if self.tok.text == "(":
                return self.call(tok)
            return self.name(tok)
        found = tok.text or "the end of the expression"
        raise ExprError(tok.pos, f"expected a value or condition but found `{found}`")

    def name(self, tok: Token) -> Node:
        n = tok.text
        if self.row_table is not None and TABLES[self.row_table].has_column(n):
            col = TABLES[self.row_table].column(n)
            return EventColumn(self.row_table, n, _COL_TYPES[col.type])
        if self.row_only:
            assert self.row_table is not None
            cols = list(TABLES[self.row_table].column_names)
            raise ExprError(
                tok.pos,
                f"`{n}` is not a column of `{self.row_table}`{_suggest(n, cols)}; "
                f"`where=` and `value=` see only the row's columns ({', '.join(cols)})",
            )
        if n == "age":
            return Age("period_end")
        if n == "age_at_start":
            return Age("period_start")
        if n in ("period_start", "period_end"):
            return PeriodDate(n)
        if n == "registered":
            return Registered(0, "period_end")
        if n == "alive":
            src = EventSource("ons_deaths", "date")
            return Not(EventAgg(src, Window(WindowKind.EVER), Agg.EXISTS))
        if n in PATIENT_COLUMNS:
            return PatientColumn(n, PATIENT_COLUMNS[n])
        if n in PRACTICE_COLUMNS:
            return PracticeColumn(n)
        if n in EVENT_FUNCTIONS or n in OTHER_FUNCTIONS[:2]:
            raise ExprError(tok.pos, f"`{n}` is a function: write `{n}(...)`")
        options = [*NAMES, *PATIENT_COLUMNS, *PRACTICE_COLUMNS]
        if self.row_table is not None:
            options += list(TABLES[self.row_table].column_names)
        owners = [t for t in EVENT_TABLES if TABLES[t].has_column(n)]
        if owners and self.row_table is None:
            raise ExprError(
                tok.pos,
                f"`{n}` is a column of {', '.join(f'`{t}`' for t in owners)}: event "
                "columns are names only inside `where=`/`value=` of an event "
                "function, or in an event-level indicator (`unit: event`) whose "
                "`events:` come from that table",
            )
        raise ExprError(
            tok.pos,
            f"unknown name `{n}`{_suggest(n, options)} "
            f"(names are: {', '.join(options)}; codelists are used inside "
            "functions such as has(...))",
        )

    # -- calls ------------------------------------------------------------------------
    def call(self, name_tok: Token) -> Node:
        fn = name_tok.text
        if self.row_only and fn not in ("date", "coalesce"):
            raise ExprError(
                name_tok.pos,
                f"`{fn}(...)` cannot be used inside `where=`/`value=`, which see one "
                "row at a time; to relate events to each other make the indicator "
                "event-level (`unit: event`) and use `within=... after <column>`",
            )
        self.expect("(")
        positional: list[tuple[Token, Node | None]] = []
        keywords: dict[str, tuple[Token, object]] = {}
        if not self.accept(")"):
            while True:
                tok = self.tok
                if tok.kind == "name" and self.tokens[self.i + 1].text == "=":
                    self.i += 2
                    if tok.text in keywords:
                        raise ExprError(tok.pos, f"argument `{tok.text}` given twice")
                    keywords[tok.text] = (tok, self.kwarg_value(tok.text))
                else:
                    if keywords:
                        raise ExprError(
                            tok.pos, "positional arguments must come before name=value"
                        )
                    bare = tok.kind == "name" and self.tokens[self.i + 1].text in (
                        ",",
                        ")",
                    )
                    if bare and (
                        tok.text in self.codelists or fn in _CODELIST_FUNCTIONS
                    ):
                        self.i += 1
                        positional.append((tok, None))
                    else:
                        positional.append((tok, self.expr()))
                if not self.accept(","):
                    break
            self.expect(")")
        if fn in EVENT_FUNCTIONS:
            return self.event_call(name_tok, EVENT_FUNCTIONS[fn], positional, keywords)
        if fn == "diagnosed":
            return self.diagnosed(name_tok, positional, keywords)
        if fn == "died":
            keywords.setdefault("table", (name_tok, "ons_deaths"))
            keywords.setdefault("within", (name_tok, Window(WindowKind.PERIOD)))
            return self.event_call(name_tok, Agg.EXISTS, positional, keywords)
        if fn == "registered":
            return self.registered(name_tok, positional, keywords)
        if fn == "date":
            return self.date_literal(name_tok, positional, keywords)
        if fn == "coalesce":
            return self.coalesce(name_tok, positional, keywords)
        options = [*EVENT_FUNCTIONS, *OTHER_FUNCTIONS]
        raise ExprError(
            name_tok.pos,
            f"unknown function `{fn}`{_suggest(fn, options)} "
            f"(functions are: {', '.join(options)})",
        )

    def kwarg_value(self, key: str) -> object:
        tok = self.tok
        if key == "within":
            return self.window()
        if key in _ROW_ARGS:
            return self._skip_argument()
        if self.tok.text == "[":
            return tuple(v for v, _ in self.literal_list())
        if tok.kind == "name" and self.tokens[self.i + 1].text != "(":
            self.i += 1
            return tok.text
        node = self.unary()
        if not isinstance(node, Literal):
            raise ExprError(tok.pos, f"`{key}=` takes a name, number or text")
        return node.value

    def _skip_argument(self) -> _Deferred:
        start = self.i
        depth = 0
        while True:
            tok = self.tok
            if tok.kind == "end":
                break
            if tok.kind == "op" and tok.text in ("(", "["):
                depth += 1
            elif tok.kind == "op" and tok.text in (")", "]"):
                if depth == 0:
                    break
                depth -= 1
            elif tok.kind == "op" and tok.text == "," and depth == 0:
                break
            self.i += 1
        if self.i == start:
            raise ExprError(self.tok.pos, "expected an expression after `=`")
        return _Deferred(start, self.i)

    def row_expression(self, deferred: _Deferred, table: str) -> Node:
        """Parse a deferred `where=`/`value=` argument over `table`'s rows."""
        saved = (self.i, self.row_table, self.row_only)
        self.i, self.row_table, self.row_only = deferred.start, table, True
        try:
            node = self.expr()
            if self.i != deferred.end:
                raise ExprError(
                    self.tok.pos, f"unexpected `{self.tok.text}` in a row expression"
                )
        finally:
            self.i, self.row_table, self.row_only = saved
        return node

    def window(self) -> Window | RelativeWindow:
        tok = self.tok
        if tok.kind == "name" and tok.text in ("ever", "period"):
            self.i += 1
            return Window(WindowKind(tok.text))
        if tok.kind == "number" and "." not in tok.text:
            relative = self._relative_window()
            if relative is not None:
                return relative
            unit = self.tokens[self.i + 1]
            if unit.kind == "name" and unit.text in _WINDOW_UNITS:
                self.i += 2
                n = int(tok.text)
                if n <= 0:
                    raise ExprError(tok.pos, "a window must be at least 1 day or month")
                if _WINDOW_UNITS[unit.text] == 0:
                    return Window(WindowKind.DAYS, n)
                return Window(WindowKind.MONTHS, n * _WINDOW_UNITS[unit.text])
        raise ExprError(
            tok.pos,
            "bad window: write e.g. `within=12 months`, `within=90 days`, "
            "`within=5 years`, `within=period`, `within=ever` or "
            "`within=10 to 56 days after earliest_date(...)`",
        )

    def _relative_window(self) -> RelativeWindow | None:
        """`N [to M] days|weeks after|before <date>`, or None if not relative."""
        first = self.tok
        j = self.i + 1
        second: Token | None = None
        if self.tokens[j].kind == "name" and self.tokens[j].text == "to":
            second = self.tokens[j + 1]
            if second.kind != "number" or "." in second.text:
                raise ExprError(second.pos, "write a range as `10 to 56 days after X`")
            j += 2
        unit, rel = self.tokens[j], self.tokens[j + 1]
        if not (rel.kind == "name" and rel.text in ("after", "before")):
            if second is not None:
                raise ExprError(
                    first.pos,
                    "a range of days needs an anchor: `within=10 to 56 days after X` "
                    "(or `before X`)",
                )
            return None
        if unit.kind != "name" or (
            unit.text not in _DAY_UNITS and unit.text not in _MONTH_UNITS
        ):
            raise ExprError(
                unit.pos,
                "windows relative to a date are in days, weeks, months or years, "
                "e.g. `within=0 to 30 days after discharge_date` or "
                "`within=1 month after request_date`",
            )
        in_months = unit.text in _MONTH_UNITS
        mult = _MONTH_UNITS[unit.text] if in_months else _DAY_UNITS[unit.text]
        unit_name = "months" if in_months else "days"
        lo = int(first.text) * mult if second is not None else 0
        hi = int((second or first).text) * mult
        if hi < lo:
            raise ExprError(first.pos, f"the range {lo} to {hi} {unit_name} is empty")
        self.i = j + 2
        anchor_tok = self.tok
        anchor = self.sum_()
        if anchor.type is not Type.DATE:
            raise ExprError(
                anchor_tok.pos,
                f"`{rel.text}` needs a date (e.g. `earliest_date(...)` or a date "
                f"column), not a {anchor.type.value} value",
            )
        if in_months and isinstance(anchor, DateShift):
            raise ExprError(
                anchor_tok.pos,
                "a window in calendar months needs a plain date as its anchor, not a "
                "shifted one; widen the window instead (e.g. `within=1 to 2 months "
                "after X`)",
            )
        if rel.text == "before":
            lo, hi = -hi, -lo
        return RelativeWindow(anchor, lo, hi, "months" if in_months else "days")

    def event_call(
        self,
        name_tok: Token,
        agg: Agg,
        positional: list[tuple[Token, Node | None]],
        keywords: dict[str, tuple[Token, object]],
    ) -> EventAgg:
        fn = name_tok.text
        if len(positional) > 1:
            raise ExprError(positional[1][0].pos, f"`{fn}` takes at most one codelist")
        codelist: str | None = None
        if positional:
            tok, node = positional[0]
            if node is not None or tok.text not in self.codelists:
                options = list(self.codelists)
                raise ExprError(
                    tok.pos,
                    f"`{tok.text}` is not a codelist declared under `codelists:`"
                    f"{_suggest(tok.text, options)} (declared: "
                    f"{', '.join(options) or 'none'})",
                )
            codelist = tok.text
        window_arg = keywords.pop("within", None)
        if window_arg is None:
            raise ExprError(
                name_tok.pos,
                f"`{fn}` needs a window, e.g. `{fn}(..., within=12 months)` "
                "(or within=ever / within=period)",
            )
        window = window_arg[1]
        assert isinstance(window, (Window, RelativeWindow))
        if isinstance(window, RelativeWindow) and row_level(window.anchor):
            assert self.row_table is not None
            if not TABLES[self.row_table].primary_key:
                raise ExprError(
                    window_arg[0].pos,
                    f"rows of `{self.row_table}` have no id column, so other events "
                    "cannot be matched to each row; count these events per patient "
                    "instead (`unit: patient`)",
                )
        table_arg = keywords.pop("table", None)
        table: str | None = str(table_arg[1]) if table_arg else None
        code_arg = keywords.pop("code", None)
        code_col: str | None = str(code_arg[1]) if code_arg else None
        if table is None:
            if codelist is None:
                raise ExprError(
                    name_tok.pos,
                    f"`{fn}` needs a codelist or `table=` (one of "
                    f"{', '.join(EVENT_TABLES)})",
                )
            system = self.codelists[codelist]
            if system not in DEFAULT_TABLE_FOR_SYSTEM:
                raise ExprError(
                    name_tok.pos,
                    f"codelist `{codelist}` is {system.value}; say which table to "
                    "search with `table=`",
                )
            table, default_code = DEFAULT_TABLE_FOR_SYSTEM[system]
            code_col = code_col or default_code
        if table not in EVENT_TABLES:
            pos = table_arg[0].pos if table_arg else name_tok.pos
            raise ExprError(
                pos,
                f"`{table}` is not an event table{_suggest(table, list(EVENT_TABLES))}"
                f" (event tables: {', '.join(EVENT_TABLES)})",
            )
        info = EVENT_TABLES[table]
        schema = TABLES[table]
        date_arg = keywords.pop("date", None)
        date_col = str(date_arg[1]) if date_arg else info.date
        self._check_column(table, date_col, Type.DATE, date_arg, name_tok)
        if codelist is not None:
            code_col = code_col or info.code
            if code_col is None:
                raise ExprError(
                    name_tok.pos,
                    f"table `{table}` has no coded column; drop the codelist or "
                    "use `code=<column>`",
                )
            self._check_column(table, code_col, Type.STR, code_arg, name_tok)
            expected = schema.column(code_col).code_system
            system = self.codelists[codelist]
            if expected is not None and expected != system:
                raise ExprError(
                    positional[0][0].pos,
                    f"codelist `{codelist}` holds {system.value} codes but "
                    f"`{table}.{code_col}` holds {expected.value} codes; use a "
                    f"{expected.value} codelist or another table",
                )
        value_arg = keywords.pop("value", None)
        value_col: str | None = None
        value_expr: Node | None = None
        if agg.needs_value:
            if value_arg is None:
                value_col = info.value
                if value_col is None:
                    raise ExprError(
                        name_tok.pos,
                        f"`{fn}` needs a numeric column: table `{table}` has no "
                        "default; add `value=<column>` (or arithmetic on columns, "
                        "e.g. `value=post_eq5d_index - pre_eq5d_index`)",
                    )
                self._check_column(table, value_col, Type.FLOAT, None, name_tok)
            else:
                deferred = value_arg[1]
                assert isinstance(deferred, _Deferred)
                node = self.row_expression(deferred, table)
                if isinstance(node, EventColumn):
                    value_col = node.column
                    self._check_column(
                        table, value_col, Type.FLOAT, value_arg, name_tok
                    )
                elif node.type in (Type.INT, Type.FLOAT):
                    value_expr = node
                else:
                    raise ExprError(
                        value_arg[0].pos,
                        f"`value=` must be a number per row, not a {node.type.value} "
                        "value (dates: `value=discharge_date - admission_date`)",
                    )
        elif value_arg is not None:
            raise ExprError(value_arg[0].pos, f"`{fn}` does not use `value=`")
        where_arg = keywords.pop("where", None)
        where: Node | None = None
        if where_arg is not None:
            deferred = where_arg[1]
            assert isinstance(deferred, _Deferred)
            where = self.row_expression(deferred, table)
            if where.type is not Type.BOOL:
                raise ExprError(
                    where_arg[0].pos,
                    f"`where=` must be a condition on the row, not a "
                    f"{where.type.value} value; e.g. `where=response_date is null`",
                )
        link = self._link(table, keywords.pop("link", None), window)
        filters: list[tuple[str, tuple[str | int | float | bool, ...]]] = []
        for key, (tok, raw) in sorted(keywords.items()):
            if not schema.has_column(key):
                raise ExprError(
                    tok.pos,
                    f"`{key}` is not a column of `{table}`"
                    f"{_suggest(key, list(schema.column_names))} (columns: "
                    f"{', '.join(schema.column_names)})",
                )
            col = schema.column(key)
            values = raw if isinstance(raw, tuple) else (raw,)
            checked: list[str | int | float | bool] = []
            for v in values:
                if not isinstance(v, (str, int, float, bool)):
                    raise ExprError(tok.pos, f"`{key}=` takes a value or a list")
                if col.type is ColumnType.STR and not isinstance(v, str):
                    raise ExprError(tok.pos, f"`{table}.{key}` holds text; quote it")
                if col.allowed is not None and v not in col.allowed:
                    raise ExprError(
                        tok.pos,
                        f"`{v}` is not an allowed value of `{table}.{key}`"
                        f"{_suggest(str(v), col.allowed)} (allowed: "
                        f"{', '.join(col.allowed)})",
                    )
                checked.append(v)
            filters.append((key, tuple(checked)))
        source = EventSource(
            table=table,
            date_column=date_col,
            codelist=codelist,
            code_column=code_col if codelist else None,
            filters=tuple(filters),
            value_column=value_col,
            where=where,
            value_expr=value_expr,
            link=link,
        )
        return EventAgg(source, window, agg)

    def _link(
        self,
        table: str,
        arg: tuple[Token, object] | None,
        window: Window | RelativeWindow,
    ) -> str | None:
        """Check `link=<column>`: a column of `table` referencing the counted event."""
        if arg is None:
            return None
        tok, raw = arg
        row_table = self.row_table
        if row_table is None or self.row_only:
            raise ExprError(
                tok.pos,
                "`link=` matches rows to the counted event, so it only works in "
                "an event-level indicator (`unit: event`), in `numerator`, "
                "`exclusions` or `exceptions`",
            )
        pk = TABLES[row_table].primary_key
        target = f"{row_table}.{pk[0]}" if len(pk) == 1 else None
        linking = [c.name for c in TABLES[table].columns if c.references == target]
        column = str(raw)
        if target is None or not linking:
            raise ExprError(
                tok.pos,
                f"no column of `{table}` refers to a `{row_table}` row, so its rows "
                "cannot be linked to the counted event",
            )
        if column not in linking:
            raise ExprError(
                tok.pos,
                f"`{table}.{column}` does not refer to the counted `{row_table}` "
                f"row; columns that do: {', '.join(linking)}",
            )
        if isinstance(window, Window) and window.kind is not WindowKind.EVER:
            raise ExprError(
                tok.pos,
                "a linked search needs `within=ever` (any linked row up to the "
                "period end) or a window relative to the event, e.g. "
                "`within=0 to 90 days after discharge_date`",
            )
        return column

    def _check_column(
        self,
        table: str,
        column: str,
        want: Type,
        arg: tuple[Token, object] | None,
        name_tok: Token,
    ) -> None:
        schema = TABLES[table]
        pos = arg[0].pos if arg else name_tok.pos
        if not schema.has_column(column):
            raise ExprError(
                pos,
                f"`{column}` is not a column of `{table}`"
                f"{_suggest(column, list(schema.column_names))}",
            )
        have = _COL_TYPES[schema.column(column).type]
        ok = have == want or (want is Type.FLOAT and have is Type.INT)
        if not ok:
            options = [
                c.name
                for c in schema.columns
                if _COL_TYPES[c.type] == want
                or (want is Type.FLOAT and c.type is ColumnType.INT)
            ]
            raise ExprError(
                pos,
                f"`{table}.{column}` is {have.value}, not {want.value}; "
                f"{want.value} columns are: {', '.join(options)}",
            )

    def diagnosed(
        self,
        name_tok: Token,
        positional: list[tuple[Token, Node | None]],
        keywords: dict[str, tuple[Token, object]],
    ) -> Node:
        resolved = keywords.pop("resolved", None)
        keywords.setdefault("within", (name_tok, Window(WindowKind.EVER)))
        has = self.event_call(name_tok, Agg.EXISTS, positional, dict(keywords))
        if resolved is None:
            return has
        res_name = str(resolved[1])
        if res_name not in self.codelists:
            raise ExprError(
                resolved[0].pos,
                f"`resolved=` must name a declared codelist, not `{res_name}`"
                f"{_suggest(res_name, list(self.codelists))}",
            )
        dx_latest = EventAgg(has.source, has.window, Agg.LATEST_DATE)
        res = self.event_call(
            name_tok,
            Agg.LATEST_DATE,
            [(Token("name", res_name, resolved[0].pos), None)],
            {k: v for k, v in keywords.items() if k == "within"},
        )
        return And((has, Or((IsNull(res), Compare(">=", dx_latest, res)))))

    def registered(
        self,
        name_tok: Token,
        positional: list[tuple[Token, Node | None]],
        keywords: dict[str, tuple[Token, object]],
    ) -> Node:
        if positional:
            raise ExprError(
                positional[0][0].pos, "write `registered(months=N)` with a name"
            )
        months = keywords.pop("months", (name_tok, 0))[1]
        at = keywords.pop("at", (name_tok, "period_end"))[1]
        if keywords:
            key, (tok, _) = next(iter(keywords.items()))
            raise ExprError(
                tok.pos, f"`registered` takes `months=` and `at=`, not `{key}=`"
            )
        if not isinstance(months, int) or isinstance(months, bool) or months < 0:
            raise ExprError(name_tok.pos, "`months=` must be a whole number >= 0")
        if at not in ("period_end", "period_start"):
            raise ExprError(
                name_tok.pos, "`at=` must be `period_end` or `period_start`"
            )
        return Registered(months, str(at))

    def date_literal(
        self,
        name_tok: Token,
        positional: list[tuple[Token, Node | None]],
        keywords: dict[str, tuple[Token, object]],
    ) -> Node:
        if len(positional) != 1 or keywords:
            raise ExprError(name_tok.pos, 'write a date as date("2024-03-31")')
        node = positional[0][1]
        if not isinstance(node, Literal) or not isinstance(node.value, str):
            raise ExprError(positional[0][0].pos, 'write a date as date("2024-03-31")')
        return Literal(self._parse_date(node.value, positional[0][0].pos), Type.DATE)

    def coalesce(
        self,
        name_tok: Token,
        positional: list[tuple[Token, Node | None]],
        keywords: dict[str, tuple[Token, object]],
    ) -> Node:
        items = [n for _, n in positional if n is not None]
        if len(items) < 2 or keywords or len(items) != len(positional):
            raise ExprError(name_tok.pos, "coalesce takes two or more values")
        first = items[0]
        out = [first]
        for item in items[1:]:
            _, b = self._coerce_pair(first, item, name_tok.pos)
            out.append(b)
        return Coalesce(tuple(out))

    # -- typing helpers ---------------------------------------------------------------
    @staticmethod
    def _parse_date(text: str, pos: int) -> dt.date:
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ExprError(pos, f"`{text}` is not a date like 2024-03-31") from None

    def _need_bool(self, node: Node, pos: int, what: str) -> None:
        if node.type is not Type.BOOL:
            raise ExprError(
                pos,
                f"{what} combines conditions, but one side is a {node.type.value} "
                "value; compare it, e.g. `latest_value(...) <= 58`",
            )

    def _coerce_pair(self, left: Node, right: Node, pos: int) -> tuple[Node, Node]:
        if isinstance(right, Literal) and right.type is Type.STR:
            right = Literal(self._coerce_value(left, right.value, pos), left.type)
        elif isinstance(left, Literal) and left.type is Type.STR:
            left = Literal(self._coerce_value(right, left.value, pos), right.type)
        lt, rt = left.type, right.type
        numeric = {Type.INT, Type.FLOAT}
        if lt != rt and not (lt in numeric and rt in numeric):
            raise ExprError(
                pos, f"cannot compare a {lt.value} value with a {rt.value} value"
            )
        return left, right

    def _coerce_value(self, node: Node, value: object, pos: int) -> str | int | float:
        t = node.type
        if t is Type.DATE and isinstance(value, str):
            return self._parse_date(value, pos)  # type: ignore[return-value]
        if t is Type.STR:
            if not isinstance(value, str):
                raise ExprError(pos, f"compare text with quoted text, not `{value}`")
            if isinstance(node, (PatientColumn, EventColumn)):
                table = node.table if isinstance(node, EventColumn) else "patients"
                allowed = TABLES[table].column(node.column).allowed
                if allowed is not None and value not in allowed:
                    raise ExprError(
                        pos,
                        f'"{value}" is not a value of `{node.column}`'
                        f"{_suggest(value, allowed)} (values: {', '.join(allowed)})",
                    )
            return value
        if t in (Type.INT, Type.FLOAT) and isinstance(value, (int, float)):
            return value
        raise ExprError(pos, f"`{value}` cannot be compared with a {t.value} value")


def parse_expression(
    text: str, codelists: Mapping[str, CodeSystem], row_table: str | None = None
) -> Node:
    """Parse and type-check one expression.

    Args:
        text: the expression text.
        codelists: declared codelist names and their code systems.
        row_table: in event-level indicators, the table of the counted events
            (its columns become names).

    Returns:
        The resolved expression tree.

    Raises:
        ExprError: with the character offset of the problem.
    """
    if not text.strip():
        raise ExprError(0, "the expression is empty")
    return Parser(text, codelists, row_table).parse()


_EVENTS_PREFIX = "count("


def parse_events(text: str, codelists: Mapping[str, CodeSystem]) -> EventAgg:
    """Parse the `events:` key of an event-level indicator.

    It is written like the arguments of `count(...)`: a codelist and/or `table=`,
    filters, `where=` and a `within=` window relative to the period, e.g.
    ``table=opa, attendance_status=["attended", "dna"], within=period``.
    """
    if not text.strip():
        raise ExprError(0, "the events are empty; e.g. `table=opa, within=period`")
    try:
        node = Parser(f"{_EVENTS_PREFIX}{text})", codelists).parse()
    except ExprError as exc:
        raise ExprError(
            min(max(exc.pos - len(_EVENTS_PREFIX), 0), len(text)), exc.message
        ) from None
    assert isinstance(node, EventAgg)
    if isinstance(node.window, RelativeWindow):
        raise ExprError(
            0,
            "the counted events need a window ending at the period end, e.g. "
            "`within=period`",
        )
    return node
