"""Secondary (complementary) cell suppression over additive lines.

Given the rows already hidden (primary suppression) and the additive lines of the
table (`carepilot.disclosure.constraints`), hide further rows until no hidden row
can be recovered exactly from the published rows.

The method has two stages, repeated until nothing changes:

1. **Line closing** (vectorised): a line with exactly one hidden row gives that row
   away by subtraction, so one more row of the line is hidden. The candidate is
   chosen deterministically by, in order: not the line's margin (hiding a total or
   parent row spreads to every breakdown or to the grand-parent); not a ``total``
   breakdown row; non-zero counts (a hidden zero protects nothing in one
   direction); the number of still-open lines it would close at once (so two open
   lines share one complement, forming the classic 2 x 2 rectangle); the smallest
   cost (denominator); then row order.
2. **Exact audit** (linear algebra): even when every line has two or more hidden
   rows, several lines together can pin a row (for example a rectangle of hidden
   cells joined to another by a single cell). A hidden row ``i`` is derivable from
   the published rows exactly when the unit vector ``e_i`` lies in the row space of
   the constraint matrix restricted to hidden rows, i.e. when every vector of that
   matrix's null space is zero at ``i``. The null space is computed per connected
   component of hidden rows (SVD). Each derivable row gets one more complement from
   one of its lines, and stage 1 runs again.

Both stages only add hidden rows, so the loop ends. A row that stays derivable
with every row of its lines hidden is derivable from the structure alone (e.g. a
category that must be zero); this is reported, not looped on.

Guarantee (checked by the property tests with an LP attacker): after the loop no
hidden row is a linear function of published rows, so with non-negative counts and
all hidden counts positive, each hidden count has a feasible interval of positive
width. Protection against attackers with outside knowledge (e.g. knowing one
patient's record) is not claimed.

Pure module: NumPy, pandas and SciPy only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from carepilot.disclosure import _frame
from carepilot.disclosure.constraints import Constraints

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]

DENSE_LIMIT = 60
"""Largest component (hidden rows) audited by dense SVD; larger ones use LSQR."""

_NULL_TOL = 1e-9


@dataclass(frozen=True, slots=True)
class CellPreference:
    """Per-row attributes used to choose complementary rows (lower is preferred).

    Attributes:
        cost: Size of the row (e.g. denominator); smaller is hidden first.
        zero: Whether a sensitive count of the row is zero.
        total: Whether the row is a ``total`` breakdown row.
    """

    cost: FloatArray
    zero: BoolArray
    total: BoolArray


@dataclass(frozen=True, slots=True)
class SecondaryResult:
    """Outcome of secondary suppression.

    Attributes:
        hidden: All hidden rows (primary and secondary).
        secondary: Rows hidden by this step only.
        derivable: Hidden rows that stay derivable from the table structure alone.
        rounds: Number of line-closing + audit rounds run.
    """

    hidden: BoolArray
    secondary: BoolArray
    derivable: BoolArray
    rounds: int


def _pick(
    entries: IntArray,
    cons: Constraints,
    pref: CellPreference,
    need: IntArray,
) -> IntArray:
    """Choose one candidate row per line among incidence entries ``entries``."""
    lines = cons.line[entries]
    cells = cons.cell[entries]
    order = np.lexsort(
        (
            cells,
            np.nan_to_num(pref.cost[cells], nan=np.inf),
            -need[cells],
            pref.zero[cells],
            pref.total[cells],
            cons.margin[entries],
            lines,
        )
    )
    _, first = np.unique(lines[order], return_index=True)
    return np.unique(cells[order[first]])


def close_lines(
    hidden: BoolArray, cons: Constraints, pref: CellPreference
) -> BoolArray:
    """Hide rows until no line has exactly one hidden row (stage 1).

    Args:
        hidden: Rows hidden so far; not modified.
        cons: Additive lines of the table.
        pref: Preferences for choosing complements.

    Returns:
        The new hidden mask (a superset of ``hidden``).
    """
    hidden = hidden.copy()
    while True:
        in_hidden = hidden[cons.cell]
        n_hidden = np.bincount(cons.line, weights=in_hidden, minlength=cons.n_lines)
        open_line = n_hidden == 1
        if not open_line.any():
            return hidden
        candidate = open_line[cons.line] & ~in_hidden
        need = np.bincount(cons.cell[candidate], minlength=cons.n_cells).astype(
            np.int64
        )
        picked = _pick(np.flatnonzero(candidate), cons, pref, need)
        hidden[picked] = True


def _null_support_dense(block: FloatArray) -> BoolArray:
    """True for columns where some null-space vector of ``block`` is non-zero."""
    svd = np.linalg.svd(block, full_matrices=True)
    s: FloatArray = np.asarray(svd.S, dtype=np.float64)
    vt: FloatArray = np.asarray(svd.Vh, dtype=np.float64)
    rank = int((s > _NULL_TOL * max(1.0, float(s[0]) if s.size else 1.0)).sum())
    null: FloatArray = np.asarray(vt[rank:], dtype=np.float64)
    if null.shape[0] == 0:
        return np.zeros(int(block.shape[1]), dtype=np.bool_)
    norms: FloatArray = np.sqrt((null * null).sum(axis=0))
    return np.asarray(norms > 1e-7, dtype=np.bool_)


def find_derivable(hidden: BoolArray, cons: Constraints) -> BoolArray:
    """Hidden rows that a linear attacker recovers exactly (stage 2 audit).

    Args:
        hidden: Hidden rows.
        cons: Additive lines of the table.

    Returns:
        Mask of hidden rows that lie in no null-space vector of the constraint
        matrix restricted to hidden rows. Hidden rows in no line are not derivable.
    """
    derivable = np.zeros(cons.n_cells, dtype=bool)
    touch = hidden[cons.cell]
    if not touch.any():
        return derivable
    ent = np.flatnonzero(touch)
    hid_cells, col = np.unique(cons.cell[ent], return_inverse=True)
    used_lines, row = np.unique(cons.line[ent], return_inverse=True)
    row = row.astype(np.int64)
    col = col.astype(np.int64)
    sign = cons.sign[ent]
    m, k = len(used_lines), len(hid_cells)
    _, cell_label = _frame.components(row, col, m, k)
    sizes = np.bincount(cell_label)
    ent_label = cell_label[col]
    large = sizes[ent_label] > DENSE_LIMIT
    if large.any():
        # one sparse probe over every large component at once (block diagonal)
        rows_l, r_local = np.unique(row[large], return_inverse=True)
        cols_l, c_local = np.unique(col[large], return_inverse=True)
        free = _frame.null_support_sparse(
            r_local.astype(np.int64),
            c_local.astype(np.int64),
            sign[large],
            len(rows_l),
            len(cols_l),
            seed=len(cols_l),
        )
        derivable[hid_cells[cols_l[~free]]] = True
    # small components: exact null space by dense SVD, one block at a time
    small = np.flatnonzero(~large)
    order = small[np.argsort(ent_label[small], kind="stable")]
    labels_sorted = ent_label[order]
    starts = np.flatnonzero(np.r_[True, labels_sorted[1:] != labels_sorted[:-1]])
    ends = np.r_[starts[1:], len(order)]
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        sel = order[start:end]
        rows_c, r_local = np.unique(row[sel], return_inverse=True)
        cols_c, c_local = np.unique(col[sel], return_inverse=True)
        block = _frame.dense_block(
            r_local.astype(np.int64),
            c_local.astype(np.int64),
            sign[sel],
            len(rows_c),
            len(cols_c),
        )
        free = _null_support_dense(block)
        derivable[hid_cells[cols_c[~free]]] = True
    return derivable


def _extend(
    derivable: BoolArray, hidden: BoolArray, cons: Constraints, pref: CellPreference
) -> IntArray:
    """One extra complement for each derivable row, from one of its lines."""
    in_line_of_derivable = (
        np.bincount(cons.line, weights=derivable[cons.cell], minlength=cons.n_lines) > 0
    )
    candidate = in_line_of_derivable[cons.line] & ~hidden[cons.cell]
    if not candidate.any():
        return np.zeros(0, dtype=np.int64)
    need = np.bincount(cons.cell[candidate], minlength=cons.n_cells).astype(np.int64)
    picked = _pick(np.flatnonzero(candidate), cons, pref, need)
    # one complement per derivable row is enough to reopen it; keep the best ones
    return picked[: max(1, int(derivable.sum()))]


def suppress_secondary(
    primary: BoolArray, cons: Constraints, pref: CellPreference, max_rounds: int = 1000
) -> SecondaryResult:
    """Run line closing and the exact audit until no hidden row is derivable.

    Args:
        primary: Rows hidden before secondary suppression (primary or upstream).
        cons: Additive lines of the table.
        pref: Preferences for choosing complements.
        max_rounds: Safety stop for the outer loop.

    Returns:
        The final hidden mask and diagnostics.
    """
    hidden = close_lines(primary, cons, pref)
    rounds = 1
    derivable = find_derivable(hidden, cons)
    while derivable.any() and rounds < max_rounds:
        extra = _extend(derivable, hidden, cons, pref)
        if len(extra) == 0:
            break
        hidden[extra] = True
        hidden = close_lines(hidden, cons, pref)
        derivable = find_derivable(hidden, cons)
        rounds += 1
    if derivable.any():
        logger.warning(
            "secondary suppression: %d hidden rows remain derivable from the table "
            "structure alone",
            int(derivable.sum()),
        )
    return SecondaryResult(
        hidden=hidden,
        secondary=hidden & ~primary,
        derivable=derivable,
        rounds=rounds,
    )
