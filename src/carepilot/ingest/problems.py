"""Collect validation problems and turn them into one readable `InputDataError`.

Every check reports a *total* count of offending rows (computed in one vectorised
pass) plus a few *examples* (file, row, column, value, expectation). The user sees
a capped list of examples and the total per kind of problem, so a file with a
million bad rows produces a short, useful message rather than a million lines.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from carepilot.errors import InputDataError

DEFAULT_MAX_ERRORS = 50
"""Examples shown by default; `--max-errors` changes it."""

_MAX_VALUE_CHARS = 60


class ProblemKind(StrEnum):
    """What went wrong; the totals in the error message are grouped by kind."""

    EMPTY_FILE = "empty file"
    ENCODING = "not UTF-8"
    STRUCTURE = "malformed CSV row"
    DUPLICATE_COLUMN = "duplicate column"
    MISSING_COLUMN = "missing required column"
    FILE_TYPE = "wrong Parquet column type"
    UNREADABLE = "unreadable file"
    TYPE = "value of the wrong type"
    NULL = "missing value"
    ALLOWED = "value not allowed"
    CODE = "invalid code"
    RANGE = "value out of range"
    FIRST_OF_MONTH = "date not the first of a month"
    DUPLICATE_KEY = "duplicate primary key"
    REFERENCE = "reference to an unknown row"
    ROW_LOGIC = "dates in the wrong order"
    FHIR = "invalid FHIR resource"


@dataclass(frozen=True, slots=True)
class Problem:
    """One offending cell (or file, or row), with where it is and what was expected.

    Attributes:
        kind: the kind of problem.
        file: file name as the user supplied it.
        row: 1-based data row as seen in the file (CSV: the line number, header
            is line 1; Parquet: the row number, first row is 1; FHIR NDJSON: the
            line; FHIR Bundle: the entry number), or None for a
            problem with the whole file.
        column: column name, or None.
        value: the offending value as text, or None.
        expected: what a valid value looks like, and how to fix it.
    """

    kind: ProblemKind
    file: str
    row: int | None
    column: str | None
    value: str | None
    expected: str

    def describe(self) -> str:
        """Render as one line: `file line 7, column `sex`: 'M' - expected ...`."""
        where = self.file
        if self.row is not None:
            where += f" {_row_unit(self.file)} {self.row}"
        if self.column is not None:
            where += f", column `{self.column}`"
        shown = ""
        if self.value is not None:
            value = self.value
            if len(value) > _MAX_VALUE_CHARS:
                value = value[:_MAX_VALUE_CHARS] + "..."
            shown = f" value {value!r}:"
        return f"{where}:{shown} {self.kind.value}; expected {self.expected}"


@dataclass
class ProblemLog:
    """Accumulates problems: totals per kind and a capped list of examples.

    Attributes:
        max_shown: how many examples the final message lists.
    """

    max_shown: int = DEFAULT_MAX_ERRORS
    examples: list[Problem] = field(default_factory=list[Problem])
    totals: Counter[ProblemKind] = field(default_factory=Counter[ProblemKind])

    def add(self, problem: Problem, count: int = 1) -> None:
        """Record one problem that stands for `count` offending rows."""
        self.totals[problem.kind] += count
        self.examples.append(problem)

    def add_examples(
        self, kind: ProblemKind, total: int, examples: list[Problem]
    ) -> None:
        """Record a check that failed `total` times, with a sample of its failures."""
        self.totals[kind] += total
        self.examples.extend(examples)

    @property
    def total(self) -> int:
        return sum(self.totals.values())

    def __bool__(self) -> bool:
        return self.total > 0

    def error(self, source: str, warnings: list[str] | None = None) -> InputDataError:
        """Build the `InputDataError` listing the examples and the totals per kind.

        Warnings (ignored columns, unknown files) are appended because they often
        explain an error: a misspelt column is both "ignored" and "missing".
        """
        files = sorted({p.file for p in self.examples})
        lines = [
            f"the data in {source} failed validation: {self.total} problem(s) in "
            f"{len(files)} file(s) ({', '.join(files)}); nothing was loaded and the "
            "database is unchanged.",
        ]
        shown = sorted(self.examples, key=_sort_key)[: self.max_shown]
        lines += [f"  - {p.describe()}" for p in shown]
        if len(self.examples) > len(shown) or self.total > len(shown):
            lines.append(
                f"  ... showing {len(shown)} of {self.total}; "
                "use --max-errors N to show more."
            )
        lines.append("Problems by kind:")
        lines += [
            f"  {kind.value}: {count}" for kind, count in self.totals.most_common()
        ]
        if warnings:
            lines.append("Warnings:")
            lines += [f"  {w}" for w in warnings]
        lines.append("Fix the files and run the load again.")
        return InputDataError("\n".join(lines))


def _row_unit(file: str) -> str:
    """CSV and NDJSON rows are lines; Bundle rows are entries; Parquet rows are rows."""
    if file.endswith((".csv", ".ndjson")):
        return "line"
    if file.endswith(".json"):
        return "entry"
    return "row"


def _sort_key(problem: Problem) -> tuple[str, int, str]:
    return (problem.file, problem.row or 0, problem.column or "")
