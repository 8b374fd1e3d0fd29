"""The secondary-suppression algorithm as it was before the speed work (reference).

A frozen copy of `carepilot.disclosure.secondary` (and of `build_constraints`) at
commit 8dd5e6d (whole-table
rounds, one dense SVD per small component, one LSQR probe over all large ones),
kept so that tests and ``benchmarks/disclosure.py`` can check that the faster
implementation gives identical output. ``reference_release`` is `release` with
this algorithm in place of the current one.
"""

from __future__ import annotations

import importlib
import logging

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import lsqr

from carepilot.disclosure import _frame
from carepilot.disclosure.constraints import (
    GROUP_COLUMNS,
    TOTAL_BREAKDOWN,
    Constraints,
    _parent_types,  # pyright: ignore[reportPrivateUsage]
)
from carepilot.disclosure.policy import DisclosurePolicy
from carepilot.disclosure.secondary import CellPreference, SecondaryResult
from carepilot.errors import InputDataError

_release_module = importlib.import_module("carepilot.disclosure.release")

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]

DENSE_LIMIT = 60
"""Largest component (hidden rows) audited by dense SVD; larger ones use LSQR."""

_NULL_TOL = 1e-9


def _components(row, col, n_rows, n_cols):  # type: ignore[no-untyped-def]
    a = sp.csr_matrix((np.ones(len(row)), (row, col)), shape=(n_rows, n_cols))
    graph = sp.bmat([[None, a], [a.T, None]], format="csr")
    _, labels = connected_components(graph, directed=False)
    labels = np.asarray(labels, dtype=np.int64)
    return labels[:n_rows], labels[n_rows:]


def _dense_block(row, col, data, n_rows, n_cols):  # type: ignore[no-untyped-def]
    out = np.zeros((n_rows, n_cols))
    np.add.at(out, (row, col), data)
    return out


def _null_support_sparse(row, col, data, n_rows, n_cols, seed):  # type: ignore[no-untyped-def]
    at = sp.csr_matrix((data, (col, row)), shape=(n_cols, n_rows))
    rng = np.random.default_rng(seed)
    support = np.zeros(n_cols, dtype=bool)
    for _ in range(3):
        z = rng.standard_normal(n_cols)
        y = lsqr(at, z, atol=1e-15, btol=1e-15, iter_lim=50 * n_cols)[0]
        w = np.asarray(z - at @ y, dtype=float)
        support |= np.abs(w) > 1e-6
    return support


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
    _, cell_label = _components(row, col, m, k)
    sizes = np.bincount(cell_label)
    ent_label = cell_label[col]
    large = sizes[ent_label] > DENSE_LIMIT
    if large.any():
        # one sparse probe over every large component at once (block diagonal)
        rows_l, r_local = np.unique(row[large], return_inverse=True)
        cols_l, c_local = np.unique(col[large], return_inverse=True)
        free = _null_support_sparse(
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
        block = _dense_block(
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


def reference_release(table: pd.DataFrame, policy: DisclosurePolicy) -> pd.DataFrame:
    """`carepilot.disclosure.release` with the reference constraints and secondary
    suppression."""
    saved = {
        name: getattr(_release_module, name)
        for name in ("suppress_secondary", "build_constraints")
    }
    setattr(_release_module, "suppress_secondary", suppress_secondary)  # noqa: B010
    setattr(_release_module, "build_constraints", reference_build_constraints)  # noqa: B010
    try:
        return _release_module.release(table, policy)
    finally:
        for name, fn in saved.items():
            setattr(_release_module, name, fn)


def reference_build_constraints(
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
    area_type = _frame.str_column(frame, "area_type")
    area_code = _frame.str_column(frame, "area_code")
    parent_code = _frame.str_column(frame, "parent_area_code")
    breakdown = _frame.str_column(frame, "breakdown")
    category = _frame.str_column(frame, "category")
    area_id, areas = _frame.factorize(area_type + "\x1f" + area_code)
    bc_id, bcs = _frame.factorize(breakdown + "\x1f" + category)
    breakdown_id, _ = _frame.factorize(breakdown)
    n_areas = max(len(areas), 1)
    n_bc = max(len(bcs), 1)

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
    is_total = breakdown == TOTAL_BREAKDOWN

    # Breakdown lines: categories of one breakdown add up to the area's total row.
    total_bc = int(
        _frame.index_of(bcs, np.array([TOTAL_BREAKDOWN + "\x1fall"], dtype=object))[0]
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
        child = positions[
            (area_type == child_type) & _frame.notna_column(frame, "parent_area_code")
        ]
        if len(child) == 0:
            continue
        parent_key = (parent_type + "\x1f") + parent_code[child]
        parent_id = _frame.index_of(areas, parent_key)
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
