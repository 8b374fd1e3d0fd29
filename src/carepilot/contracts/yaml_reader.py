"""Read YAML-shaped contract data with errors that name the file, line and field.

`compose(text, source)` parses YAML keeping each field's line and the exact text
of numbers (so ``2.5`` becomes Decimal('2.5'), never a float). `Reader` converts
and checks values, turning any problem into a `DefinitionError` like
``contract.yaml, line 41: `quality.indicators[1].upper`: ...; fix: ...``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import yaml

from carepilot.contracts.model import (
    FieldError,
)
from carepilot.errors import DefinitionError

T = TypeVar("T")
_E = TypeVar("_E", bound=str)


class Reader:
    """Plain data plus the line of every field path, for error messages."""

    def __init__(self, source: str, lines: dict[str, int]) -> None:
        self.source = source
        self.lines = lines

    def line_of(self, path: str) -> int | None:
        probe = path
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else ""
        return self.lines.get("")

    def error(self, path: str, problem: str, fix: str) -> DefinitionError:
        line = self.line_of(path)
        where = f"{self.source}, line {line}" if line else self.source
        return DefinitionError(f"{where}: `{path}`: {problem}; fix: {fix}")

    def mapping(
        self,
        value: Any,
        path: str,
        allowed: Iterable[str],
        required: Iterable[str] = (),
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(
                path,
                "is not a mapping of fields",
                "write `field: value` lines under it",
            )
        data: dict[str, Any] = value
        allowed_set = set(allowed)
        for key in data:
            if key not in allowed_set:
                close = difflib.get_close_matches(str(key), sorted(allowed_set), n=1)
                hint = (
                    f"did you mean `{close[0]}`?"
                    if close
                    else f"allowed fields: {', '.join(sorted(allowed_set))}"
                )
                raise self.error(join(path, str(key)), "unknown field", hint)
        for key in required:
            if key not in data or data[key] is None:
                raise self.error(
                    join(path, key),
                    "is missing",
                    f"add `{key}:` under `{path or 'the top level'}`",
                )
        return data

    def decimal(self, value: Any, path: str) -> Decimal:
        if isinstance(value, bool) or value is None:
            raise self.error(path, "is not a number", "write a number such as 2.5")
        try:
            return Decimal(
                str(value).replace("_", "").replace(",", "").strip().rstrip("%")
            )
        except InvalidOperation:
            raise self.error(
                path, f"`{value}` is not a number", "write a number such as 2.5"
            ) from None

    def opt_decimal(
        self, data: dict[str, Any], key: str, path: str, default: Decimal | None = None
    ) -> Decimal | None:
        value = data.get(key)
        return default if value is None else self.decimal(value, join(path, key))

    def integer(self, value: Any, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise self.error(path, "is not a whole number", "write e.g. 2009")
        try:
            return int(value)
        except ValueError:
            raise self.error(
                path, f"`{value}` is not a whole number", "write e.g. 2009"
            ) from None

    def text(self, value: Any, path: str) -> str:
        if value is None or isinstance(value, (dict, list)):
            raise self.error(path, "is not text", "write a single value")
        return str(value)

    def day(self, value: Any, path: str) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise self.error(
                path, f"`{value}` is not a date", "write YYYY-MM-DD"
            ) from None

    def boolean(self, value: Any, path: str) -> bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise self.error(path, f"`{value}` is not true/false", "write true or false")

    def choice(
        self, enum: Callable[[str], _E], options: Iterable[str], value: Any, path: str
    ) -> _E:
        try:
            return enum(str(value))
        except ValueError:
            raise self.error(
                path, f"`{value}` is not allowed", f"use one of {', '.join(options)}"
            ) from None

    def items(self, value: Any, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(path, "is not a list", "write one `- item` per line")
        return list(value)

    def build(self, path: str, factory: Callable[[], T]) -> T:
        try:
            return factory()
        except FieldError as exc:
            full = exc.within(path)
            raise self.error(full.field, full.problem, full.fix) from None


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --- YAML with line numbers -----------------------------------------------------------


def walk(node: yaml.Node, path: str, lines: dict[str, int], source: str) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            sub = join(path, key)
            if key in out:
                raise DefinitionError(
                    f"{source}, line {key_node.start_mark.line + 1}: `{sub}`: "
                    "appears twice; fix: keep one"
                )
            lines[sub] = key_node.start_mark.line + 1
            out[key] = walk(value_node, sub, lines, source)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            walk(item, f"{path}[{i}]", lines, source)
            for i, item in enumerate(node.value)
        ]
    assert isinstance(node, yaml.ScalarNode)
    if node.tag.endswith(":float") or node.tag.endswith(":int"):
        return node.value  # keep the text: converted to Decimal/int by the reader
    return yaml.SafeLoader("").construct_object(node)


def compose(text: str, source: str) -> tuple[Any, dict[str, int]]:
    """Parse YAML `text` into plain data plus the line of every field path.

    Raises:
        DefinitionError: on a syntax error (with its line), an empty document or a
            duplicated key.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        raise DefinitionError(
            f"{source}{line}: not valid YAML ({getattr(exc, 'problem', exc)}); fix the syntax"
        ) from None
    if root is None:
        raise DefinitionError(
            f"{source}: the file is empty; fix: write a contract (see docs/contracts.md)"
        )
    lines: dict[str, int] = {}
    return walk(root, "", lines, source), lines
