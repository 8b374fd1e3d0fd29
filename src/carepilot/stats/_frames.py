"""DataFrame plumbing shared by the analyst-facing ``phe_*`` convenience functions.

Checks columns, converts them to float arrays with errors that name the column and
row, and sums numerators/denominators within groups the way PHEindicatormethods does
(a missing value anywhere in a group makes the group's sum missing).
Pure pandas/NumPy: no file, database or web access.
"""

# pandas' inline types are incomplete; this module is the typed boundary for it.
# pyright: reportMissingTypeStubs=false, reportUnknownMemberType=false, reportUnknownVariableType=false, reportUnknownArgumentType=false, reportArgumentType=false

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from carepilot.errors import InputDataError
from carepilot.stats._common import FloatArray


def as_list(columns: str | Sequence[str] | None) -> list[str]:
    """Normalise a column name, a list of names or ``None`` to a list."""
    if columns is None:
        return []
    if isinstance(columns, str):
        return [columns]
    return list(columns)


def require_columns(df: pd.DataFrame, columns: Sequence[str]) -> None:
    """Raise `InputDataError` naming any column that is missing from `df`."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        available = ", ".join(str(c) for c in df.columns)
        raise InputDataError(
            f"column(s) {', '.join(missing)} not found; available columns: {available}"
        )


def numeric_column(df: pd.DataFrame, column: str) -> FloatArray:
    """Return `column` as float64, raising `InputDataError` at the first non-number."""
    require_columns(df, [column])
    series = df[column]
    converted = pd.to_numeric(series, errors="coerce")
    bad = converted.isna().to_numpy() & series.notna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputDataError(
            f"column `{column}` must be numeric; row {row + 1} (1-based, excluding "
            "the header) is not a number"
        )
    return converted.to_numpy(dtype=np.float64, na_value=np.nan)


def check_column_non_negative(values: FloatArray, column: str) -> None:
    """Raise `InputDataError` naming the first row where a count is negative."""
    bad = np.flatnonzero(values < 0)
    if bad.size:
        raise InputDataError(
            f"column `{column}` must be zero or more; row {int(bad[0]) + 1} (1-based) "
            "is negative"
        )


def grouped_sums(
    df: pd.DataFrame, group_by: Sequence[str], columns: Sequence[str]
) -> pd.DataFrame:
    """Sum `columns` within `group_by` groups (order of first appearance).

    A missing value in a group gives a missing sum (R's ``sum`` semantics), so a
    group with incomplete data is reported as missing rather than undercounted.
    """
    require_columns(df, [*group_by, *columns])
    work = df[[*group_by]].copy()
    for column in columns:
        work[column] = numeric_column(df, column)
    if not group_by:
        sums = {c: [float(np.sum(numeric_column(df, c)))] for c in columns}
        return pd.DataFrame(sums)
    grouped = work.groupby(list(group_by), sort=False, dropna=False)
    return grouped[list(columns)].sum(skipna=False).reset_index()


def split_groups(
    df: pd.DataFrame, group_by: Sequence[str]
) -> list[tuple[tuple[object, ...], pd.DataFrame]]:
    """(key, rows) per group in order of first appearance; one item if ungrouped."""
    if not group_by:
        return [((), df)]
    out: list[tuple[tuple[object, ...], pd.DataFrame]] = []
    for key, frame in df.groupby(list(group_by), sort=False, dropna=False):
        out.append((tuple(key), frame))
    return out


def column_values(df: pd.DataFrame, column: str) -> list[object]:
    """The values of `column` as a plain list."""
    require_columns(df, [column])
    return list(df[column].tolist())


def filter_rows(df: pd.DataFrame, mask: npt.NDArray[np.bool_]) -> pd.DataFrame:
    """Rows where `mask` is true, re-indexed from 0."""
    return df.loc[mask].reset_index(drop=True)


def counts_frame(
    data: pd.DataFrame,
    x: str,
    n: str,
    group_by: str | Sequence[str] | None,
    measure: str,
) -> tuple[pd.DataFrame, FloatArray, FloatArray]:
    """Validated (optionally grouped) numerator/denominator columns of `data`.

    Shared by the proportion and rate data-frame functions so both reject bad
    input the same way: missing or non-numeric columns, a negative numerator,
    or a denominator that is not positive (naming the 1-based row).

    Returns:
        The working frame (a copy, or the grouped sums), and the numerator and
        denominator as float arrays.
    """
    groups = as_list(group_by)
    if groups:
        out = grouped_sums(data, groups, [x, n])
    else:
        require_columns(data, [x, n])
        out = data.copy()
    xs = numeric_column(out, x)
    ns = numeric_column(out, n)
    check_column_non_negative(xs, x)
    bad = np.flatnonzero(ns <= 0)
    if bad.size:
        raise InputDataError(
            f"column `{n}` must be greater than zero for a {measure}; row "
            f"{int(bad[0]) + 1} is zero or negative"
        )
    return out, xs, ns
