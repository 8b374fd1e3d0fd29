"""Tests for `carepilot.disclosure.secondary` on hand-built constraint systems."""

from __future__ import annotations

import numpy as np

from carepilot.disclosure.constraints import Constraints
from carepilot.disclosure.secondary import (
    CellPreference,
    close_lines,
    find_derivable,
    suppress_secondary,
)


def cons(lines: list[tuple[int, list[int]]], n: int) -> Constraints:
    line, cell, margin = [], [], []
    for i, (m, children) in enumerate(lines):
        line += [i] * (1 + len(children))
        cell += [m, *children]
        margin += [True] + [False] * len(children)
    return Constraints(
        np.array(line, dtype=np.int64),
        np.array(cell, dtype=np.int64),
        np.array(margin),
        len(lines),
        n,
    )


def pref(n: int, cost: list[float] | None = None) -> CellPreference:
    return CellPreference(
        cost=np.array(cost if cost else [1.0] * n),
        zero=np.zeros(n, bool),
        total=np.zeros(n, bool),
    )


def test_find_derivable_sees_through_lines_with_two_hidden_cells() -> None:
    # line 0: 0 = 1 + 2 ; line 1: 0 = 1 + 2 + 3 -> cell 3 = line1 - line0 = 0
    c = cons([(0, [1, 2]), (0, [1, 2, 3])], 5)
    hidden = np.array([False, True, True, True, False])
    assert find_derivable(hidden, c).tolist() == [False, False, False, True, False]


def test_close_lines_prefers_children_then_smallest() -> None:
    c = cons([(0, [1, 2, 3])], 4)
    out = close_lines(np.array([False, True, False, False]), c, pref(4, [1, 1, 9, 4]))
    assert out.tolist() == [False, True, False, True]


def test_suppress_secondary_fixes_a_derivable_cell() -> None:
    # cells 1, 2 hidden in both lines, 3 primary only in line 1: 3 is derivable
    # until another child of line 1 (cell 4) is hidden.
    c = cons([(0, [1, 2]), (5, [1, 2, 3, 4])], 6)
    primary = np.array([False, True, True, True, False, False])
    result = suppress_secondary(primary, c, pref(6))
    assert result.hidden[4] and not result.derivable.any()
    assert not find_derivable(result.hidden, c).any()


def test_complements_are_found_beyond_fully_hidden_lines() -> None:
    # t=0 = a=1 + b=2 (all hidden); P1=4 = a + c=3; b = c + P2=5.
    # t = P1 + P2 although every row of t's only line is hidden: a complement
    # must come from a line further away (P1's or P2's).
    c = cons([(0, [1, 2]), (4, [1, 3]), (2, [3, 5])], 6)
    primary = np.array([True, True, True, True, False, False])
    assert find_derivable(primary, c).tolist() == [True] + [False] * 5
    result = suppress_secondary(primary, c, pref(6))
    assert result.hidden.tolist() == [True] * 5 + [False]
    assert not result.derivable.any()
    assert not find_derivable(result.hidden, c).any()


def test_rows_fixed_by_the_structure_alone_stop_the_loop() -> None:
    # cell 3 = line1 - line0 = 0 whatever is hidden: reported, not looped on.
    c = cons([(0, [1, 2]), (0, [1, 2, 3])], 4)
    result = suppress_secondary(np.ones(4, dtype=bool), c, pref(4))
    assert result.derivable.tolist() == [False, False, False, True]
    assert result.rounds == 1
