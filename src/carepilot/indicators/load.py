"""Read indicator definitions from YAML text into `IndicatorDefinition`s.

Validation happens in three layers, all before any data is read: YAML syntax,
the document's shape (pydantic, at this boundary only), and the expressions and
codelists (names, types, code systems). Every problem is reported with the file
and line to edit and a hint, and all problems of a file are reported together.

Pure module: codelist files are read through the `read_text` callable the
caller supplies.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from carepilot.errors import DefinitionError
from carepilot.indicators.codelists import Codelist, parse_codelist
from carepilot.indicators.expected import ExpectedRates, parse_expected
from carepilot.indicators.expr import EventAgg, Type
from carepilot.indicators.model import (
    BREAKDOWN_NAMES,
    DEFAULT_MULTIPLIER,
    IndicatorDefinition,
    Polarity,
    Unit,
    ValueType,
)
from carepilot.indicators.parse import ExprError, parse_events, parse_expression
from carepilot.indicators.periods import PeriodRule
from carepilot.indicators.yamlsource import Located, Path, load_yaml
from carepilot.schema import CodeSystem

ReadText = Callable[[str], "str | None"]
"""Returns the text of a codelist file given its path as written, or None if absent."""

_SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")


class _RawCodelist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    path: str
    system: CodeSystem = CodeSystem.SNOMEDCT
    column: str = "code"


class _RawDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    version: int = Field(ge=1)
    title: str = Field(min_length=1)
    description: str = ""
    rationale: str = ""
    domain: str = Field(min_length=1)
    value_type: ValueType
    multiplier: float | None = Field(default=None, gt=0)
    polarity: Polarity
    period: str = "as_at_end"
    target: float | None = None
    target_minimum: float | None = None
    reference: str | None = None
    codelists: dict[str, str | _RawCodelist] = Field(default_factory=dict)
    population: str
    numerator: str
    exclusions: str | None = None
    exceptions: str | None = None
    breakdowns: list[str] | None = None
    unit: Unit = Unit.PATIENT
    events: str | None = None
    expected: str | None = None

    @field_validator("id")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not _SLUG.match(v):
            raise ValueError(
                "must be a slug: lower-case letters and digits joined by - or _ "
                "(e.g. dm-hba1c-58)"
            )
        return v

    @field_validator("period")
    @classmethod
    def _period(cls, v: str) -> str:
        PeriodRule.parse(v)
        return v


_EXPR_FIELDS = ("population", "numerator", "exclusions", "exceptions")


def load_definition(text: str, source: str, read_text: ReadText) -> IndicatorDefinition:
    """Parse, validate and resolve one indicator definition.

    Args:
        text: YAML text of the definition.
        source: its file name, used in messages.
        read_text: returns a codelist file's text given the path written in the
            definition (None when it does not exist).

    Returns:
        The validated definition.

    Raises:
        DefinitionError: listing every problem found, each as ``file:line: ...``.
    """
    doc = load_yaml(text, source)
    if not isinstance(doc.data, dict):
        raise DefinitionError(
            f"{source}:1: an indicator definition is a mapping of keys such as "
            "`id:`, `title:`, `population:`, `numerator:`"
        )
    try:
        raw = _RawDefinition.model_validate(doc.data)
    except ValidationError as exc:
        raise DefinitionError(_pydantic_message(exc, doc)) from None

    errors: list[str] = []
    codelists: dict[str, Codelist] = {}
    for name, spec in raw.codelists.items():
        spec = spec if isinstance(spec, _RawCodelist) else _RawCodelist(path=spec)
        where = doc.where(("codelists", name))
        content = read_text(spec.path)
        if content is None:
            errors.append(
                f"{where}: codelist `{name}`: file `{spec.path}` not found; paths are "
                "relative to the definition file or a codelists directory"
            )
            continue
        try:
            codelists[name] = parse_codelist(
                content,
                name=name,
                path=spec.path,
                system=spec.system,
                column=spec.column,
            )
        except DefinitionError as exc:
            errors.append(f"{where}: {exc}")

    systems = {
        n: (c.system if n in codelists else CodeSystem.SNOMEDCT)
        for n, c in codelists.items()
    }
    for name, spec in raw.codelists.items():
        if name not in systems:
            declared = (
                spec.system if isinstance(spec, _RawCodelist) else CodeSystem.SNOMEDCT
            )
            systems[name] = declared
    parsed: dict[str, Any] = {}
    events, row_table, unit_errors = _events(doc, raw, systems)
    errors += unit_errors
    for key in _EXPR_FIELDS:
        text_value: str | None = getattr(raw, key)
        if text_value is None:
            continue
        try:
            # In event-level indicators everything but the population is per event.
            table = row_table if key != "population" else None
            parsed[key] = parse_expression(text_value, systems, table)
        except ExprError as exc:
            errors.append(
                f"{_expr_where(doc, (key,), text_value, exc.pos)}: {key}: {exc.message}"
            )

    vt = raw.value_type
    errors += _check_types(doc, parsed, vt)
    if raw.exceptions is not None and vt is not ValueType.PROPORTION:
        errors.append(
            f"{doc.where(('exceptions',))}: exceptions (personalised care "
            "adjustments) apply only to proportions; remove them or use "
            "`value_type: proportion`"
        )
    errors += _check_breakdowns(doc, raw.breakdowns)
    expected, expected_errors = _expected(doc, raw, read_text)
    errors += expected_errors
    errors += _check_goal(doc, raw)
    if errors:
        raise DefinitionError("\n".join(errors))
    return IndicatorDefinition(
        id=raw.id,
        version=raw.version,
        title=raw.title,
        description=raw.description.strip(),
        rationale=raw.rationale.strip(),
        domain=raw.domain,
        value_type=vt,
        multiplier=raw.multiplier
        if raw.multiplier is not None
        else DEFAULT_MULTIPLIER[vt],
        polarity=raw.polarity,
        period_rule=PeriodRule.parse(raw.period),
        population=parsed["population"],
        numerator=parsed["numerator"],
        exclusions=parsed.get("exclusions"),
        exceptions=parsed.get("exceptions"),
        codelists=codelists,
        target=raw.target,
        target_minimum=raw.target_minimum,
        source=source,
        reference=raw.reference,
        lines={str(p[0]): line for p, line in doc.lines.items() if len(p) == 1},
        breakdowns=tuple(dict.fromkeys(["total", *raw.breakdowns]))
        if raw.breakdowns is not None
        else None,
        unit=raw.unit,
        events=events,
        expected=expected,
    )


def _expected(
    doc: Located, raw: _RawDefinition, read_text: ReadText
) -> tuple[ExpectedRates | None, list[str]]:
    """The external expected-rate table (`expected:`), or errors."""
    if raw.expected is None:
        return None, []
    where = doc.where(("expected",))
    if raw.value_type is not ValueType.ISR:
        return None, [
            f"{where}: `expected:` gives the expected rates of a recorded-versus-"
            f"expected ratio; it needs `value_type: isr`, not {raw.value_type.value}"
        ]
    content = read_text(raw.expected)
    if content is None:
        return None, [
            f"{where}: expected-rate table `{raw.expected}` not found; paths are "
            "relative to the definition file, a --codelists directory or the "
            "shipped library (`expected/...`)"
        ]
    try:
        return parse_expected(content, raw.expected), []
    except DefinitionError as exc:
        return None, [
            f"{where}: expected-rate table: {line}" for line in str(exc).splitlines()
        ]


def _check_goal(doc: Located, raw: _RawDefinition) -> list[str]:
    """`target_minimum` (Fingertips' amber band) needs a target and a direction,
    and lies on the worse side of the target."""
    low = raw.target_minimum
    if low is None:
        return []
    where = doc.where(("target_minimum",))
    if raw.target is None:
        return [f"{where}: `target_minimum` needs `target` (the goal it is below)"]
    if raw.polarity is Polarity.HIGHER_IS_BETTER and not low < raw.target:
        return [
            f"{where}: target_minimum {low:g} must be below target {raw.target:g} "
            "(higher is better: values between them meet the minimum, not the goal)"
        ]
    if raw.polarity is Polarity.LOWER_IS_BETTER and not low > raw.target:
        return [
            f"{where}: target_minimum {low:g} must be above target {raw.target:g} "
            "(lower is better: values between them meet the minimum, not the goal)"
        ]
    if raw.polarity is Polarity.NO_JUDGEMENT:
        return [
            f"{where}: `target_minimum` needs a polarity (higher_is_better or "
            "lower_is_better) to say which side of the goal is worse"
        ]
    return []


def _check_breakdowns(doc: Located, breakdowns: list[str] | None) -> list[str]:
    """Each listed breakdown must be one the engine reports."""
    errors: list[str] = []
    for i, name in enumerate(breakdowns or []):
        if name not in BREAKDOWN_NAMES:
            errors.append(
                f"{doc.where(('breakdowns', i))}: unknown breakdown `{name}`; "
                f"choose from {', '.join(BREAKDOWN_NAMES)}"
            )
    return errors


_EVENT_VALUE_TYPES = (
    ValueType.PROPORTION,
    ValueType.MEAN,
    ValueType.COUNT,
    ValueType.CRUDE_RATE,
)


def _events(
    doc: Located, raw: _RawDefinition, systems: dict[str, CodeSystem]
) -> tuple[EventAgg | None, str | None, list[str]]:
    """The counted events of an event-level indicator (and its table), or errors."""
    if raw.unit is Unit.PATIENT:
        if raw.events is not None:
            return (
                None,
                None,
                [
                    f"{doc.where(('events',))}: `events:` needs `unit: event` (the "
                    "denominator counts these events instead of patients)"
                ],
            )
        return None, None, []
    if raw.events is None:
        return (
            None,
            None,
            [
                f"{doc.where(('unit',))}: `unit: event` needs `events:`, the events "
                "counted, written like count(...)'s arguments, e.g. "
                '`events: table=opa, attendance_status=["attended", "dna"], '
                "within=period`"
            ],
        )
    errors: list[str] = []
    if raw.value_type not in _EVENT_VALUE_TYPES:
        errors.append(
            f"{doc.where(('unit',))}: `unit: event` works with "
            f"{', '.join(v.value for v in _EVENT_VALUE_TYPES)}, not "
            f"{raw.value_type.value} (standardisation is by person)"
        )
    try:
        events = parse_events(raw.events, systems)
    except ExprError as exc:
        where = _expr_where(doc, ("events",), raw.events, exc.pos)
        return None, None, [*errors, f"{where}: events: {exc.message}"]
    return events, events.source.table, errors


def _check_types(doc: Located, parsed: dict[str, Any], vt: ValueType) -> list[str]:
    errors: list[str] = []
    for key in ("population", "exclusions", "exceptions"):
        node = parsed.get(key)
        if node is not None and node.type is not Type.BOOL:
            errors.append(
                f"{doc.where((key,))}: {key} must be a condition (true/false per "
                f"patient) but is a {node.type.value} value; compare it, e.g. "
                "`count(...) >= 1`"
            )
    num = parsed.get("numerator")
    if num is None:
        return errors
    if vt is ValueType.PROPORTION and num.type is not Type.BOOL:
        errors.append(
            f"{doc.where(('numerator',))}: a proportion's numerator must be a "
            f"condition, not a {num.type.value} value; for counts of events use "
            "`value_type: crude_rate`"
        )
    elif vt is ValueType.MEAN and not num.type.numeric:
        errors.append(
            f"{doc.where(('numerator',))}: a mean's numerator is the per-patient "
            f"number to average, not a {num.type.value} value"
        )
    elif vt in (ValueType.CRUDE_RATE, ValueType.COUNT):
        # Totals of whole-number values (bed days: `sum_value(..., value=discharge
        # - admission)`) are counts too, so FLOAT is accepted here.
        if num.type not in (Type.BOOL, Type.INT, Type.FLOAT):
            errors.append(
                f"{doc.where(('numerator',))}: a {vt.value} numerator counts people "
                f"(a condition), events (`count(...)`) or a total (`sum_value(...)`), "
                f"not a {num.type.value} value"
            )
    elif vt in (ValueType.DSR, ValueType.ISR):
        if num.type not in (Type.BOOL, Type.INT):
            errors.append(
                f"{doc.where(('numerator',))}: a {vt.value} numerator counts people "
                f"(a condition) or events (`count(...)`), not a {num.type.value} value"
            )
    return errors


def _expr_where(doc: Located, path: Path, text: str, pos: int) -> str:
    line = doc.line(path)
    if path in doc.block_scalars:
        line += 1 + text[:pos].count("\n")
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"{doc.source}:{line} (column {col} of the expression)"


def _pydantic_message(exc: ValidationError, doc: Located) -> str:
    lines: list[str] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        path: Path = tuple(p for p in loc if isinstance(p, (str, int)))
        # pydantic adds union member names (e.g. `str`, `_RawCodelist`) to the path.
        clean: list[str | int] = []
        for p in path:
            if p in ("str", "_RawCodelist", "float", "int"):
                continue
            clean.append(p)
        key = ".".join(str(p) for p in clean) or "document"
        msg = err["msg"]
        if err["type"] == "missing":
            hint = f"add `{clean[-1]}:`" if clean else "add it"
            lines.append(f"{doc.where(tuple(clean[:-1]))}: `{key}` is required; {hint}")
        elif err["type"] == "extra_forbidden":
            allowed = (
                ", ".join(_RawDefinition.model_fields)
                if len(clean) == 1
                else "path, system, column"
            )
            lines.append(
                f"{doc.where(tuple(clean))}: unknown key `{key}` (allowed: {allowed})"
            )
        else:
            lines.append(f"{doc.where(tuple(clean))}: `{key}`: {msg}")
    return "\n".join(dict.fromkeys(lines))
