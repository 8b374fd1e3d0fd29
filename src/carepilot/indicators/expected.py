"""External expected-rate tables for recorded-versus-expected indicators.

A prevalence indicator with `value_type: isr` normally takes its expected count
from the national *recorded* age-specific prevalence of the same run. With
`expected: FILE.csv` it takes it instead from an external table of expected
(e.g. modelled true) prevalence by age, optionally by sex and deprivation
quintile, as published by prevalence models (see docs/indicators.md). Each
person in the population contributes their cell's expected probability, so the
expected count is E = sum of those probabilities and the value is
observed / expected x 100 (recorded as a percentage of expected, e.g. the
dementia diagnosis rate).

CSV format (one row per cell; header names fixed, order free)::

    sex,age_from,age_to,imd_quintile,expected_percent
    female,65,69,,1.8
    ...
    male,90,,,28.0

* `age_from`, `age_to`: whole years, inclusive; an empty `age_to` means "and
  over" (only in each group's last band). Within a group bands must not overlap
  or leave gaps.
* `sex` (optional column): `female`, `male`, ... (values of `patients.sex`).
* `imd_quintile` (optional column): 1 (most deprived) to 5 (least), the
  engine's quintile of `patients.imd_decile`.
* `expected_percent`: expected prevalence in percent (0-100).

Every combination of the listed sexes and quintiles must have the same age
bands. People whose cell is not in the table (younger than its first band, a
sex it does not list, missing deprivation when it is by quintile) are left out
of both the observed and the expected count, so write the population to match
the table (e.g. `age >= 65`). Pure module: callers pass the CSV text in.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

from carepilot.errors import DefinitionError
from carepilot.schema import TABLES

MAX_AGE = 120
"""Open-ended bands (`age_to` empty) run to this age."""

_REQUIRED = ("age_from", "age_to", "expected_percent")
_OPTIONAL = ("sex", "imd_quintile")


@dataclass(frozen=True, slots=True)
class ExpectedBand:
    """One cell: ages `age_from`..`age_to` (inclusive) of `sex` and `quintile`
    (None when the table is not split by it), expected prevalence `rate` (0-1)."""

    age_from: int
    age_to: int
    sex: str | None
    quintile: int | None
    rate: float


@dataclass(frozen=True, slots=True)
class ExpectedRates:
    """A validated expected-rate table.

    Attributes:
        path: where it was loaded from (as written in the definition).
        by_sex: whether rates differ by sex (the table has a `sex` column).
        by_quintile: whether rates differ by IMD quintile.
        bands: every cell, in file order.
    """

    path: str
    by_sex: bool
    by_quintile: bool
    bands: tuple[ExpectedBand, ...]

    def rate_for(self, sex: str | None, age: int, quintile: int | None) -> float | None:
        """Expected probability of a person, or None when their cell is absent."""
        for band in self.bands:
            if not band.age_from <= age <= band.age_to:
                continue
            if self.by_sex and band.sex != sex:
                continue
            if self.by_quintile and band.quintile != quintile:
                continue
            return band.rate
        return None

    @property
    def min_age(self) -> int:
        return min(b.age_from for b in self.bands)


def imd_quintile(decile: int | None) -> int | None:
    """Quintile 1-5 of an IMD decile 1-10 (1 = most deprived), as the engine."""
    return None if decile is None else (int(decile) + 1) // 2


def parse_expected(text: str, path: str) -> ExpectedRates:
    """Read and validate an expected-rate CSV.

    Raises:
        DefinitionError: naming the file, row, column, the value found and what
            was expected, for every problem found (up to 20).
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None:
        raise DefinitionError(f"{path}:1: the expected-rate table is empty")
    names = [h.strip() for h in header]
    errors: list[str] = []
    missing = [c for c in _REQUIRED if c not in names]
    unknown = [c for c in names if c not in (*_REQUIRED, *_OPTIONAL)]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s) {', '.join(unknown)}")
        raise DefinitionError(
            f"{path}:1: {'; '.join(parts)}; the header must be "
            f"{','.join(_REQUIRED)} plus optional {', '.join(_OPTIONAL)}"
        )
    col = {n: i for i, n in enumerate(names)}
    by_sex, by_q = "sex" in col, "imd_quintile" in col
    allowed_sex = TABLES["patients"].column("sex").allowed or ()
    bands: list[ExpectedBand] = []
    lines: list[int] = []
    for lineno, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = {n: (row[i].strip() if i < len(row) else "") for n, i in col.items()}

        def bad(
            column: str,
            expected: str,
            _line: int = lineno,
            _cells: dict[str, str] = cells,
        ) -> None:
            errors.append(
                f"{path}:{_line}: column `{column}`: `{_cells[column]}` is not "
                f"{expected}"
            )

        age_from = _int(cells["age_from"])
        if age_from is None or not 0 <= age_from <= MAX_AGE:
            bad("age_from", f"a whole number of years 0-{MAX_AGE}")
        age_to: int | None = MAX_AGE
        if cells["age_to"]:
            age_to = _int(cells["age_to"])
            if age_to is None or not 0 <= age_to <= MAX_AGE:
                bad(
                    "age_to",
                    f"a whole number of years 0-{MAX_AGE} (or empty: and over)",
                )
            elif age_from is not None and age_to < age_from:
                bad("age_to", f"at least age_from ({age_from})")
                age_to = None
        pct = _float(cells["expected_percent"])
        if pct is None or not 0 <= pct <= 100:
            bad("expected_percent", "a percentage from 0 to 100")
        sex: str | None = None
        if by_sex:
            sex = cells["sex"]
            if sex not in allowed_sex:
                bad("sex", f"one of {', '.join(allowed_sex)}")
        quintile: int | None = None
        if by_q:
            quintile = _int(cells["imd_quintile"])
            if quintile is None or not 1 <= quintile <= 5:
                bad("imd_quintile", "a quintile 1 (most deprived) to 5 (least)")
        if age_from is None or age_to is None or pct is None:
            continue
        if not 0 <= pct <= 100:
            continue
        bands.append(ExpectedBand(age_from, age_to, sex, quintile, pct / 100.0))
        lines.append(lineno)
    if not errors and not bands:
        errors.append(f"{path}: the expected-rate table has no rows")
    if not errors:
        errors += _check_coverage(path, bands, lines, by_sex, by_q)
    if errors:
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise DefinitionError("\n".join(errors[:20]) + more)
    return ExpectedRates(path, by_sex, by_q, tuple(bands))


def _check_coverage(
    path: str,
    bands: Sequence[ExpectedBand],
    lines: Sequence[int],
    by_sex: bool,
    by_q: bool,
) -> list[str]:
    """Bands of each group are contiguous, do not overlap, and are the same in
    every group; every sex x quintile combination is present."""
    errors: list[str] = []
    groups: dict[tuple[str | None, int | None], list[tuple[ExpectedBand, int]]] = {}
    for band, line in zip(bands, lines, strict=True):
        groups.setdefault((band.sex, band.quintile), []).append((band, line))
    sexes = sorted({k[0] for k in groups if k[0] is not None})
    quintiles = sorted({k[1] for k in groups if k[1] is not None})
    for s in sexes if by_sex else [None]:
        for q in quintiles if by_q else [None]:
            if (s, q) not in groups:
                what = ", ".join(
                    part
                    for part in (
                        f"sex={s}" if by_sex else "",
                        f"imd_quintile={q}" if by_q else "",
                    )
                    if part
                )
                errors.append(
                    f"{path}: no rows for {what}; every combination of the listed "
                    "sexes and quintiles needs the full set of age bands"
                )
    shapes: dict[tuple[tuple[int, int], ...], tuple[str | None, int | None]] = {}
    for key, members in groups.items():
        members.sort(key=lambda m: m[0].age_from)
        for (a, la), (b, lb) in zip(members, members[1:], strict=False):
            if b.age_from <= a.age_to:
                errors.append(
                    f"{path}:{lb}: ages {b.age_from}-{b.age_to} overlap row {la} "
                    f"({a.age_from}-{a.age_to}) for {_label(key)}"
                )
            elif b.age_from != a.age_to + 1:
                errors.append(
                    f"{path}:{lb}: column `age_from`: `{b.age_from}` leaves ages "
                    f"{a.age_to + 1}-{b.age_from - 1} without a rate for "
                    f"{_label(key)}; expected {a.age_to + 1}"
                )
        shapes.setdefault(tuple((m[0].age_from, m[0].age_to) for m in members), key)
    if len(shapes) > 1 and not errors:
        keys = list(shapes.values())
        errors.append(
            f"{path}: the age bands differ between {_label(keys[0])} and "
            f"{_label(keys[1])}; every group needs the same bands"
        )
    return errors


def _label(key: tuple[str | None, int | None]) -> str:
    parts = [f"sex={key[0]}" if key[0] is not None else ""]
    parts.append(f"imd_quintile={key[1]}" if key[1] is not None else "")
    return ", ".join(p for p in parts if p) or "the table"


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
