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
   component of hidden rows (dense SVD, batched by shape, for small components;
   an LSQR probe for large ones). Each derivable row gets one more complement from
   one of its lines, or, when every row of its lines is already hidden, from the
   nearest line (reached through hidden rows) that still has a published row;
   then stage 1 runs again. Only components that gained hidden rows are audited
   again, and only the parts of the table that still have derivable rows.

Both stages only add hidden rows, so the loop ends. A row that stays derivable
with every row of its component hidden is derivable from the structure alone (e.g.
a category that must be zero); this is reported, not looped on.

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

_RESTRICT_ROUNDS = True
"""Run rounds after the first on the unresolved parts only (tests switch it off
to check that the result is the same)."""


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


_PAD = 4
"""Small blocks are padded to a multiple of this many rows and columns, so that
equal-shape blocks share one batched SVD call (zero rows and columns change no
null-space support)."""

_BATCH_CELLS = 1 << 20
"""Upper bound on matrix entries per batched SVD call (bounds memory)."""


def _local_index(labels: IntArray) -> IntArray:
    """Position of each item among the items with its label, in item order."""
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    lengths = np.diff(np.r_[starts, len(order)])
    local = np.empty(len(labels), dtype=np.int64)
    local[order] = np.arange(len(order), dtype=np.int64) - np.repeat(starts, lengths)
    return local


def _null_free_batched(
    row: IntArray,
    col: IntArray,
    sign: FloatArray,
    row_comp: IntArray,
    col_comp: IntArray,
) -> tuple[IntArray, BoolArray]:
    """Null-space support of many small blocks, by batched dense SVD.

    Args:
        row, col, sign: Entries (global row and column ids) of the blocks.
        row_comp, col_comp: Block of every global row and column id.

    Returns:
        (the distinct column ids of the entries, whether each is touched by a
        null-space vector of its block): the same answer as one SVD per block
        with rows and columns in id order, as zero padding changes no support.
    """
    present = np.zeros(len(row_comp), dtype=bool)
    present[row] = True
    rows = np.flatnonzero(present)
    present = np.zeros(len(col_comp), dtype=bool)
    present[col] = True
    cols = np.flatnonzero(present)
    n_comp = int(max(row_comp.max(), col_comp.max())) + 1
    k = np.bincount(col_comp[cols], minlength=n_comp)
    m = np.bincount(row_comp[rows], minlength=n_comp)
    width = -(-k // _PAD) * _PAD
    height = np.maximum(-(-m // _PAD) * _PAD, width)
    # batches: blocks of one shape, at most _BATCH_CELLS entries per call
    in_use = np.flatnonzero(k > 0)
    by_shape = in_use[np.lexsort((in_use, height[in_use], width[in_use]))]
    shape = width[by_shape] * (int(height.max()) + 1) + height[by_shape]
    rank_in_shape = _local_index(shape)
    per_call = np.maximum(1, _BATCH_CELLS // (width[by_shape] * height[by_shape]))
    chunk = rank_in_shape // per_call
    new_batch = np.r_[True, (shape[1:] != shape[:-1]) | (chunk[1:] != chunk[:-1])]
    batch = np.full(n_comp, -1, dtype=np.int64)
    batch[by_shape] = np.cumsum(new_batch) - 1
    slot = np.zeros(n_comp, dtype=np.int64)
    slot[by_shape] = rank_in_shape % per_call
    row_local = np.zeros(len(row_comp), dtype=np.int64)
    col_local = np.zeros(len(col_comp), dtype=np.int64)
    row_local[rows] = _local_index(row_comp[rows])
    col_local[cols] = _local_index(col_comp[cols])
    # entries and columns grouped by batch
    ent_comp = col_comp[col]
    ent_order = np.argsort(batch[ent_comp], kind="stable")
    ent_bounds = np.searchsorted(
        batch[ent_comp][ent_order], np.arange(int(batch.max()) + 2)
    )
    col_order = cols[np.argsort(batch[col_comp[cols]], kind="stable")]
    col_bounds = np.searchsorted(
        batch[col_comp[col_order]], np.arange(int(batch.max()) + 2)
    )
    first_comp = by_shape[new_batch]
    free_of_col = np.zeros(len(col_comp), dtype=bool)
    for b, comp in enumerate(first_comp.tolist()):
        sel = ent_order[ent_bounds[b] : ent_bounds[b + 1]]
        w, h = int(width[comp]), int(height[comp])
        n_blocks = int(slot[col_comp[col[sel]]].max()) + 1
        stack = np.zeros((n_blocks, h, w))
        np.add.at(
            stack,
            (slot[ent_comp[sel]], row_local[row[sel]], col_local[col[sel]]),
            sign[sel],
        )
        svd = np.linalg.svd(stack, full_matrices=False)
        s: FloatArray = np.asarray(svd.S, dtype=np.float64)
        vt: FloatArray = np.asarray(svd.Vh, dtype=np.float64)
        tol = _NULL_TOL * np.maximum(1.0, s[:, 0])
        rank = (s > tol[:, None]).sum(axis=1)
        null_row = np.arange(w)[None, :] >= rank[:, None]
        norms = np.sqrt((vt * vt * null_row[:, :, None]).sum(axis=1))
        batch_cols = col_order[col_bounds[b] : col_bounds[b + 1]]
        free_of_col[batch_cols] = (
            norms[slot[col_comp[batch_cols]], col_local[batch_cols]] > 1e-7
        )
    return cols, free_of_col[cols]


def find_derivable(
    hidden: BoolArray,
    cons: Constraints,
    *,
    changed: BoolArray | None = None,
    known: BoolArray | None = None,
) -> BoolArray:
    """Hidden rows that a linear attacker recovers exactly (stage 2 audit).

    A component's verdict depends only on its own hidden rows and their lines,
    and components only grow or merge as rows are hidden, so a component with
    no row in ``changed`` is the same component as in the audit that produced
    ``known`` and keeps that verdict.

    Args:
        hidden: Hidden rows.
        cons: Additive lines of the table.
        changed: Rows hidden since the audit that gave ``known`` (with ``known``).
        known: That audit's result.

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
    row_label, cell_label = _frame.components(row, col, m, k)
    n_comp = int(cell_label.max()) + 1
    stale = np.ones(n_comp, dtype=bool)
    if changed is not None and known is not None:
        stale[:] = False
        stale[cell_label[changed[hid_cells]]] = True
        kept = ~stale[cell_label]
        derivable[hid_cells[kept]] = known[hid_cells[kept]]
    sizes = np.bincount(cell_label, minlength=n_comp)
    ent_label = cell_label[col]
    todo = stale[ent_label]
    large = todo & (sizes[ent_label] > DENSE_LIMIT)
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
    small = todo & ~large
    if small.any():
        cols_s, free_s = _null_free_batched(
            row[small], col[small], sign[small], row_label, cell_label
        )
        derivable[hid_cells[cols_s[~free_s]]] = True
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


def _restrict(
    cons: Constraints, pref: CellPreference, keep: BoolArray
) -> tuple[Constraints, CellPreference]:
    """The lines and preferences of the rows ``keep`` (closed under lines).

    Rows and lines are renumbered in their original order, so every choice
    (which breaks ties by row order) is the same as on the whole table.
    """
    ent = keep[cons.cell]
    new_cell = np.cumsum(keep) - 1
    lines_used = np.zeros(cons.n_lines, dtype=bool)
    lines_used[cons.line[ent]] = True
    new_line = np.cumsum(lines_used) - 1
    sub = Constraints(
        line=new_line[cons.line[ent]],
        cell=new_cell[cons.cell[ent]],
        margin=cons.margin[ent],
        n_lines=int(lines_used.sum()),
        n_cells=int(keep.sum()),
    )
    sub_pref = CellPreference(
        cost=pref.cost[keep], zero=pref.zero[keep], total=pref.total[keep]
    )
    return sub, sub_pref


def _extend_nearby(
    derivable: BoolArray, hidden: BoolArray, cons: Constraints, pref: CellPreference
) -> IntArray:
    """Complements for derivable rows whose own lines are all hidden.

    Such a row can still be a combination of published rows further away in its
    component (e.g. a practice's `intersex` row pinned through PCN, commissioner
    and national lines whose other rows are published). The search widens one
    step at a time, through hidden rows, from the derivable rows' lines to the
    lines of the hidden rows they share, until some line has a published row;
    complements are chosen there as in `_extend`. Empty when the whole component
    is hidden: then the row is fixed by the structure alone (e.g. a category
    that must be zero) and hiding more cannot help.
    """
    reach = derivable.copy()
    while True:
        lines = np.bincount(cons.line, weights=reach[cons.cell], minlength=cons.n_lines)
        touched = lines > 0
        candidate = touched[cons.line] & ~hidden[cons.cell]
        if candidate.any():
            need = np.bincount(cons.cell[candidate], minlength=cons.n_cells).astype(
                np.int64
            )
            picked = _pick(np.flatnonzero(candidate), cons, pref, need)
            return picked[: max(1, int(derivable.sum()))]
        on_touched = np.bincount(
            cons.cell, weights=touched[cons.line], minlength=cons.n_cells
        )
        grown = reach | (hidden & (on_touched > 0))
        if (grown == reach).all():
            return np.zeros(0, dtype=np.int64)
        reach = grown


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
    with _frame.single_threaded_blas():
        hidden = close_lines(primary, cons, pref)
        derivable = find_derivable(hidden, cons)
        rounds = 1
        if derivable.any():
            # Later rounds only touch the parts of the table (sets of rows tied by
            # lines, e.g. one indicator x period) that still have derivable rows:
            # the other parts have no open line and no derivable row, and no line
            # joins two parts, so working on the rest alone gives the same result.
            _, part = _frame.components(
                cons.line, cons.cell, cons.n_lines, cons.n_cells
            )
            where = np.arange(cons.n_cells, dtype=np.int64)
            sub, sub_pref = cons, pref
            hidden = hidden.copy()
            sub_hidden, sub_derivable = hidden.copy(), derivable
            while sub_derivable.any() and rounds < max_rounds:
                keep = np.isin(part, np.unique(part[sub_derivable]))
                if _RESTRICT_ROUNDS and not keep.all():
                    hidden[where] = sub_hidden  # the parts left behind are final
                    sub, sub_pref = _restrict(sub, sub_pref, keep)
                    where, part = where[keep], part[keep]
                    sub_hidden, sub_derivable = sub_hidden[keep], sub_derivable[keep]
                extra = _extend(sub_derivable, sub_hidden, sub, sub_pref)
                if len(extra) == 0:
                    extra = _extend_nearby(sub_derivable, sub_hidden, sub, sub_pref)
                if len(extra) == 0:
                    break
                before = sub_hidden.copy()
                sub_hidden[extra] = True
                sub_hidden = close_lines(sub_hidden, sub, sub_pref)
                sub_derivable = find_derivable(
                    sub_hidden, sub, changed=sub_hidden & ~before, known=sub_derivable
                )
                rounds += 1
            hidden[where] = sub_hidden
            derivable = np.zeros(cons.n_cells, dtype=bool)
            derivable[where] = sub_derivable
    if derivable.any():
        logger.warning(
            "secondary suppression: %d hidden rows remain derivable after %d rounds "
            "(from the table structure alone unless max_rounds stopped the loop)",
            int(derivable.sum()),
            rounds,
        )
    return SecondaryResult(
        hidden=hidden,
        secondary=hidden & ~primary,
        derivable=derivable,
        rounds=rounds,
    )
