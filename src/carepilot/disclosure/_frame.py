"""Typed boundary between the disclosure package and pandas / SciPy sparse.

pandas and scipy.sparse ship without complete type information, which pyright's
strict mode reports on every call. All calls into them are kept in this one small
module, whose functions have precise NumPy signatures, so the rest of the package
is checked strictly.
"""
# pyright: reportUnknownMemberType=false, reportUnknownVariableType=false
# pyright: reportUnknownArgumentType=false, reportMissingTypeStubs=false
# pyright: reportUnknownParameterType=false, reportUnknownLambdaType=false

from __future__ import annotations

import ctypes
import logging
import os
import sys
import threading
from collections.abc import Callable, Generator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import lsqr

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]
ObjArray = NDArray[Any]


def columns(frame: pd.DataFrame) -> list[str]:
    """Column names of ``frame``."""
    return [str(c) for c in frame.columns]


def copy_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Deep copy, so the caller's table is never modified."""
    return frame.copy(deep=True)


def take(frame: pd.DataFrame, mask: BoolArray) -> pd.DataFrame:
    """Rows of ``frame`` where ``mask`` is True (a copy, index kept)."""
    return frame.loc[mask].copy()


def float_column(frame: pd.DataFrame, name: str) -> FloatArray:
    """Column as a writable float64 copy, nulls (and non-numbers) as NaN."""
    values = pd.Series(pd.to_numeric(frame[name], errors="coerce"))
    return np.array(values.to_numpy(dtype=float, na_value=np.nan), dtype=np.float64)


def str_column(frame: pd.DataFrame, name: str) -> ObjArray:
    """Column as an object array of ``str`` (nulls become ``None``)."""
    series = frame[name]
    out = series.astype(str).to_numpy(dtype=object).copy()
    out[series.isna().to_numpy()] = None
    return out


def str_codes(frame: pd.DataFrame, *names: str) -> tuple[list[IntArray], ObjArray]:
    """Integer codes of columns compared as text (``str(value)``), -1 for nulls.

    The columns share one code space (a parent code in one column gets the code of
    the same text in another). Same equality as `str_column`, but each column is
    factorised in its own dtype and only the distinct values become text.

    Returns:
        (codes of each column, the text of each code).
    """
    raws: list[IntArray] = []
    texts: list[ObjArray] = []
    for name in names:
        raw, uniques = pd.factorize(frame[name])
        raws.append(np.asarray(raw, dtype=np.int64))
        texts.append(pd.Series(uniques, dtype=object).astype(str).to_numpy(object))
    merged, text = pd.factorize(np.concatenate(texts) if texts else np.array([]))
    merged = np.asarray(merged, dtype=np.int64)
    codes: list[IntArray] = []
    offset = 0
    for raw, uniq in zip(raws, texts, strict=True):
        lookup = np.r_[merged[offset : offset + len(uniq)], -1]
        codes.append(np.asarray(lookup[raw], dtype=np.int64))  # -1 -> last: null
        offset += len(uniq)
    return codes, np.asarray(text, dtype=object)


def bool_column(frame: pd.DataFrame, name: str) -> BoolArray:
    """Column as bool, nulls as False."""
    series = frame[name].astype(object)
    return np.array(series.fillna(False).astype(bool).to_numpy(), dtype=bool)


def object_column(frame: pd.DataFrame, name: str) -> ObjArray:
    """Column as an object array, nulls as ``None``."""
    series = frame[name].astype(object)
    out = series.to_numpy(dtype=object).copy()
    out[series.isna().to_numpy()] = None
    return out


def notna_column(frame: pd.DataFrame, name: str) -> BoolArray:
    """True where the column is not null."""
    return np.asarray(frame[name].notna().to_numpy(), dtype=bool)


def is_null(values: ObjArray) -> BoolArray:
    """True where an object array holds None / NaN / NA."""
    return np.asarray(pd.isna(values), dtype=bool)


def set_float(frame: pd.DataFrame, name: str, values: FloatArray) -> None:
    """Replace a column with float64 values (NaN = null)."""
    frame[name] = values


def set_bool(frame: pd.DataFrame, name: str, values: BoolArray) -> None:
    """Replace a column with bool values."""
    frame[name] = values


def set_object(frame: pd.DataFrame, name: str, values: ObjArray) -> None:
    """Replace a column with an object column (``None`` = null)."""
    frame[name] = pd.Series(list(values), index=frame.index, dtype=object)


def result_column(stats: pd.DataFrame, rows: pd.DataFrame, name: str) -> ObjArray:
    """Column ``name`` of a `ValueFn` result aligned on ``rows``' index."""
    return stats[name].reindex(rows.index).to_numpy(dtype=object)


def group_ids(frame: pd.DataFrame, names: list[str]) -> IntArray:
    """Integer id of each row's combination of ``names`` (first-seen order)."""
    if not names or len(frame) == 0:
        return np.zeros(len(frame), dtype=np.int64)
    ids = frame.groupby(names, sort=False, dropna=False).ngroup()
    return np.asarray(ids.to_numpy(), dtype=np.int64)


def factorize(values: NDArray[Any]) -> tuple[IntArray, NDArray[Any]]:
    """Hash-based codes (first-seen order) and the unique values."""
    codes, uniques = pd.factorize(values)
    return np.asarray(codes, dtype=np.int64), np.asarray(uniques)


def index_of(haystack: NDArray[Any], needles: NDArray[Any]) -> IntArray:
    """Position of each needle in a unique ``haystack``, -1 where absent."""
    return np.asarray(pd.Index(haystack).get_indexer(pd.Index(needles)), dtype=np.int64)


def first_duplicate(values: NDArray[Any]) -> int | None:
    """Position of the first repeated value, or None if all are unique."""
    dup = pd.Index(values).duplicated()
    where = np.flatnonzero(dup)
    return int(where[0]) if len(where) else None


def group_median(values: FloatArray, groups: IntArray) -> FloatArray:
    """Per-row median of ``values`` (NaN ignored) within its group."""
    series = pd.Series(values)
    return np.asarray(
        series.groupby(groups).transform("median").to_numpy(dtype=float), dtype=float
    )


def group_any(mask: BoolArray, groups: IntArray) -> BoolArray:
    """Per-row: is ``mask`` True anywhere in the row's group."""
    hits = np.bincount(groups, weights=mask.astype(float), minlength=len(mask))
    return hits[groups] > 0


def components(
    row: IntArray, col: IntArray, n_rows: int, n_cols: int
) -> tuple[IntArray, IntArray]:
    """Connected components of the bipartite graph of a sparse pattern.

    Returns:
        (component of each row, component of each column).
    """
    a = sp.csr_matrix((np.ones(len(row)), (row, col)), shape=(n_rows, n_cols))
    graph = sp.bmat([[None, a], [a.T, None]], format="csr")
    _, labels = connected_components(graph, directed=False)
    labels = np.asarray(labels, dtype=np.int64)
    return labels[:n_rows], labels[n_rows:]


def dense_block(
    row: IntArray, col: IntArray, data: FloatArray, n_rows: int, n_cols: int
) -> FloatArray:
    """Dense matrix from COO triplets (duplicates summed)."""
    out = np.zeros((n_rows, n_cols))
    np.add.at(out, (row, col), data)
    return out


def null_support_sparse(
    row: IntArray,
    col: IntArray,
    data: FloatArray,
    n_rows: int,
    n_cols: int,
    seed: int,
) -> BoolArray:
    """Columns touched by the null space of a large sparse matrix (LSQR probe).

    ``w = z - A^T y``, with ``y`` the least-squares solution of ``A^T y = z``, is
    the projection of a random ``z`` on the null space of ``A``; ``w_i`` is
    non-zero (with probability 1) exactly when column ``i`` is touched. Near-zero
    entries count as untouched, which can only add suppression.
    """
    at = sp.csr_matrix((data, (col, row)), shape=(n_cols, n_rows))
    a = at.T.tocsr()
    rng = np.random.default_rng(seed)
    support = np.zeros(n_cols, dtype=bool)
    for _ in range(3):
        z = rng.standard_normal(n_cols)
        y = lsqr(at, z, atol=1e-15, btol=1e-15, iter_lim=50 * n_cols)[0]
        w = np.asarray(z - at @ y, dtype=float)
        residual = float(np.abs(a @ w).max())
        if residual > 1e-9:
            logger.warning(
                "disclosure audit: LSQR stopped with normal residual %.1e on %d "
                "hidden rows; treating unresolved rows as derivable",
                residual,
                n_cols,
            )
        support |= np.abs(w) > 1e-6
    return support


_SET_LOCAL = "openblas_set_num_threads_local"
_blas_setters: dict[str, Callable[[int], int] | None] = {}


def _openblas_thread_setters() -> list[Callable[[int], int]]:
    """`openblas_set_num_threads_local` of every OpenBLAS loaded in the process.

    NumPy and SciPy wheels each bundle their own OpenBLAS; they are found in the
    process's memory map (Linux) and looked up once per library. Elsewhere, or for
    another BLAS, the list is empty.
    """
    if not sys.platform.startswith("linux"):
        return []
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = {
                line.split()[-1]
                for line in maps
                if "openblas" in line.rsplit("/", 1)[-1].lower()
            }
    except OSError:
        return []
    for path in sorted(paths - _blas_setters.keys()):
        setter: Callable[[int], int] | None = None
        try:
            lib = ctypes.CDLL(path, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
            fn = getattr(lib, _SET_LOCAL, None)
            if fn is not None:
                fn.argtypes = [ctypes.c_int]
                fn.restype = ctypes.c_int
                setter = fn
        except OSError:
            setter = None
        _blas_setters[path] = setter
    return [f for p in sorted(paths) if (f := _blas_setters.get(p)) is not None]


_blas_lock = threading.Lock()
_blas_depth = 0
_blas_saved: list[tuple[Callable[[int], int], int]] = []


@contextmanager
def single_threaded_blas() -> Generator[None, None, None]:
    """Limit OpenBLAS to one thread inside the block.

    Why: the audit makes thousands of small LAPACK calls (an SVD per small
    component) and LSQR takes vector norms at every step. A multi-threaded
    OpenBLAS wakes its worker threads for each call and, on a busy machine,
    spins waiting for them: a 98,613-row engine table took 13.4 s CPU with the
    default threads and 1.2 s with one, on 2 shared cores (load average 5).

    `openblas_set_num_threads_local` (OpenBLAS >= 0.3.27) returns the previous
    count, which is restored when the last concurrent caller leaves (a lock and
    a depth count, so overlapping callers cannot leave BLAS at one thread). In
    OpenBLAS's pthreads builds the setting is process-wide despite its name:
    other threads' BLAS calls run on one thread meanwhile (slower, never
    different). Without the function (another BLAS, an older OpenBLAS, not
    Linux) nothing changes: the results are the same, only slower.
    """
    global _blas_depth
    with _blas_lock:
        if _blas_depth == 0:
            _blas_saved[:] = [(f, f(1)) for f in _openblas_thread_setters()]
        _blas_depth += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_depth -= 1
            if _blas_depth == 0:
                for setter, count in reversed(_blas_saved):
                    setter(count)
                _blas_saved.clear()
