"""Codelists in OpenCodelists CSV format (`code,term`), checked against their system.

Pure module: callers pass the CSV text in.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from carepilot.errors import DefinitionError
from carepilot.schema import CodeSystem
from carepilot.schema.codes import CODE_EXPECTATIONS, is_valid_code


@dataclass(frozen=True, slots=True)
class Codelist:
    """A named set of codes of one code system.

    Attributes:
        name: name the definition uses for it.
        path: where it was loaded from (as written in the definition).
        system: code system of every code.
        codes: the codes, sorted (stable SQL and reproducible output).
    """

    name: str
    path: str
    system: CodeSystem
    codes: tuple[str, ...]


def parse_codelist(
    text: str, *, name: str, path: str, system: CodeSystem, column: str = "code"
) -> Codelist:
    """Read a codelist CSV and check every code's format.

    Args:
        text: CSV text with a header row containing `column`.
        name: codelist name in the definition.
        path: file path for messages.
        system: the code system every code must belong to.
        column: header of the code column (OpenCodelists uses `code`; dm+d
            downloads sometimes use `dmd_id`).

    Returns:
        The codelist.

    Raises:
        DefinitionError: missing column, empty list, or codes not in `system`
            (up to five offending lines are named).
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None:
        raise DefinitionError(f"{path}:1: codelist `{name}` is empty")
    header = [h.strip() for h in header]
    if column not in header:
        raise DefinitionError(
            f"{path}:1: codelist `{name}` has no `{column}` column (columns: "
            f"{', '.join(header)}); OpenCodelists CSVs start with `code,term`, or "
            "set `column:` in the definition"
        )
    idx = header.index(column)
    codes: set[str] = set()
    bad: list[str] = []
    for lineno, row in enumerate(reader, start=2):
        if not row or idx >= len(row) or not row[idx].strip():
            continue
        code = row[idx].strip()
        if not is_valid_code(system, code):
            bad.append(f"{path}:{lineno}: `{code}`")
            continue
        codes.add(code)
    if bad:
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise DefinitionError(
            f"codelist `{name}` ({path}) has codes that are not {system.value}: "
            f"{'; '.join(bad[:5])}{more}. Expected {CODE_EXPECTATIONS[system]}; "
            "check the `system:` of the codelist or fix the codes"
        )
    if not codes:
        raise DefinitionError(f"{path}: codelist `{name}` contains no codes")
    return Codelist(name, path, system, tuple(sorted(codes)))
