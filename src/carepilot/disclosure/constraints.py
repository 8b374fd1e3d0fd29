"""The additive structure of an indicator results table, as linear constraints.

An attacker who sees the published rows of a results table also knows how the rows
add up. Two kinds of "line" (a set of rows tied by one linear equation) exist:

* breakdown lines: for one indicator, version, period and area, the categories of a
  breakdown (``sex``, ``age_band`` ...) add up to the ``total`` row. The ``total``
  row is shared by every breakdown of the area, which links the breakdowns;
* hierarchy lines: for one indicator, version, period, breakdown and category, the
  child areas of a parent area (practice → pcn → commissioner → national) add up
  to the parent row.

Every count column (numerator, denominator, exceptions) obeys the same equations,
so one incidence structure serves them all: line ``l`` says
``margin - sum(children) = 0``. Lines are only built when the margin row is in
the table (without it the sum is unknown to the attacker too).

Pure module: NumPy and pandas only.
"""

# pyright: reportMissingTypeStubs=false
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from carepilot.disclosure import _frame
from carepilot.errors import ConfigError, InputDataError

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

GROUP_COLUMNS: tuple[str, ...] = (
    "indicator_id",
    "indicator_version",
    "period_start",
    "period_end",
)
"""Columns that separate independent tables (present ones are used)."""

KEY_COLUMNS: tuple[str, ...] = (
    "area_type",
    "area_code",
    "parent_area_code",
    "breakdown",
    "category",
)
"""Columns needed to find the additive structure."""

TOTAL_BREAKDOWN = "total"


@dataclass(frozen=True, slots=True)
class Constraints:
    """Incidence lists of the additive lines of a table (COO form).

    Entry ``j`` says row ``cell[j]`` belongs to line ``line[j]``, as its margin
    (total or parent row) when ``margin[j]`` is True, else as a child.

    Attributes:
        line: Line id of each entry, ``0 .. n_lines - 1``.
        cell: Row position (0-based, in table order) of each entry.
        margin: Whether the row is the line's margin.
        n_lines: Number of lines.
        n_cells: Number of rows in the table.
    """

    line: IntArray
    cell: IntArray
    margin: BoolArray
    n_lines: int
    n_cells: int

    @property
    def sign(self) -> NDArray[np.float64]:
        """Coefficient of each entry in ``margin - sum(children) = 0``."""
        return np.where(self.margin, 1.0, -1.0)


def _parent_types(hierarchy: tuple[tuple[str, str], ...]) -> dict[str, str]:
    parents: dict[str, str] = {}
    for child, parent in hierarchy:
        if child in parents and parents[child] != parent:
            raise ConfigError(
                f"disclosure hierarchy: area type `{child}` has two parent types "
                f"(`{parents[child]}` and `{parent}`); give each child type one parent"
            )
        parents[child] = parent
    return parents


def build_constraints(
    frame: pd.DataFrame, hierarchy: tuple[tuple[str, str], ...]
) -> Constraints:
    """Find the breakdown and hierarchy lines of a results table.

    Args:
        frame: Results table with `KEY_COLUMNS` (and any `GROUP_COLUMNS`).
        hierarchy: (child area type, parent area type) pairs that are additive.

    Returns:
        The incidence structure; row positions refer to ``frame``'s order.

    Raises:
        InputDataError: If two rows share indicator, version, period, area,
            breakdown and category.
        ConfigError: If the hierarchy gives a child type two parent types.
    """
    n = len(frame)
    parent_of = _parent_types(hierarchy)
    names = _frame.columns(frame)
    group = _frame.group_ids(frame, [c for c in GROUP_COLUMNS if c in names])
    (area_type,), type_text = _frame.str_codes(frame, "area_type")
    (area_code, parent_code), code_text = _frame.str_codes(
        frame, "area_code", "parent_area_code"
    )
    (breakdown,), breakdown_text = _frame.str_codes(frame, "breakdown")
    (category,), category_text = _frame.str_codes(frame, "category")
    for column, codes in (
        ("area_type", area_type),
        ("area_code", area_code),
        ("breakdown", breakdown),
        ("category", category),
    ):
        if (codes < 0).any():
            raise InputDataError(
                f"results table: column `{column}` is empty at row "
                f"{int(np.flatnonzero(codes < 0)[0])}; every row needs an area type, "
                "area code, breakdown and category"
            )
    n_codes = max(len(code_text), 1)
    n_categories = max(len(category_text), 1)
    area_id, areas = _frame.factorize(area_type * n_codes + area_code)
    bc_id, bcs = _frame.factorize(breakdown * n_categories + category)
    breakdown_id = breakdown
    n_areas = max(len(areas), 1)
    n_bc = max(len(bcs), 1)

    def text_code(texts: NDArray[np.object_], text: str) -> int:
        hits = np.flatnonzero(texts == text)
        return int(hits[0]) if len(hits) else -1

    def row_key(g: IntArray, a: IntArray, b: IntArray) -> IntArray:
        return (g * n_areas + a) * n_bc + b

    keys = row_key(group, area_id, bc_id)
    dup = _frame.first_duplicate(keys)
    if dup is not None:
        raise InputDataError(
            "results table: more than one row for the same indicator, version, "
            f"period, area_type, area_code, breakdown and category (first repeat at "
            f"row {dup}); aggregate or de-duplicate the rows before release"
        )

    lines: list[IntArray] = []
    cells: list[IntArray] = []
    margins: list[BoolArray] = []
    n_lines = 0
    positions = np.arange(n, dtype=np.int64)
    total_code = text_code(breakdown_text, TOTAL_BREAKDOWN)
    all_code = text_code(category_text, "all")
    is_total = breakdown == total_code

    # Breakdown lines: categories of one breakdown add up to the area's total row.
    total_bc = -1
    if total_code >= 0 and all_code >= 0:
        total_bc = int(
            _frame.index_of(
                bcs, np.array([total_code * n_categories + all_code], dtype=np.int64)
            )[0]
        )
    if total_bc >= 0:
        child = positions[~is_total]
        margin_pos = _frame.index_of(
            keys, row_key(group[child], area_id[child], np.full(len(child), total_bc))
        )
        found = margin_pos >= 0
        child, margin_pos = child[found], margin_pos[found]
        n_breakdowns = int(breakdown_id.max()) + 1 if n else 1
        line_key = margin_pos * n_breakdowns + breakdown_id[child]
        line_codes, line_uniques = _frame.factorize(line_key)
        line_of = line_codes + n_lines
        lines += [line_of, np.arange(len(line_uniques), dtype=np.int64) + n_lines]
        cells += [child, np.asarray(line_uniques, dtype=np.int64) // n_breakdowns]
        margins += [np.zeros(len(child), bool), np.ones(len(line_uniques), bool)]
        n_lines += len(line_uniques)

    # Hierarchy lines: child areas add up to their parent, category by category.
    for child_type, parent_type in parent_of.items():
        child_code = text_code(type_text, child_type)
        parent_type_code = text_code(type_text, parent_type)
        if child_code < 0 or parent_type_code < 0:
            continue
        child = positions[(area_type == child_code) & (parent_code >= 0)]
        if len(child) == 0:
            continue
        parent_id = _frame.index_of(
            areas, parent_type_code * n_codes + parent_code[child]
        )
        ok = parent_id >= 0
        child, parent_id = child[ok], parent_id[ok]
        margin_pos = _frame.index_of(
            keys, row_key(group[child], parent_id, bc_id[child])
        )
        found = margin_pos >= 0
        child, margin_pos = child[found], margin_pos[found]
        line_codes, line_uniques = _frame.factorize(margin_pos)
        lines += [
            line_codes + n_lines,
            np.arange(len(line_uniques), dtype=np.int64) + n_lines,
        ]
        cells += [child, np.asarray(line_uniques, dtype=np.int64)]
        margins += [np.zeros(len(child), bool), np.ones(len(line_uniques), bool)]
        n_lines += len(line_uniques)

    if not lines:
        empty = np.zeros(0, dtype=np.int64)
        return Constraints(empty, empty, np.zeros(0, bool), 0, n)
    return Constraints(
        line=np.concatenate(lines),
        cell=np.concatenate(cells),
        margin=np.concatenate(margins),
        n_lines=n_lines,
        n_cells=n,
    )
