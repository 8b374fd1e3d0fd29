"""Input checks shared by the estimators.

Each check raises `InputDataError` or `InsufficientDataError` with a message
that names the column or condition, what was expected and how to fix it; never
patient values. Pure module.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from carepilot.errors import InputDataError, InsufficientDataError


def require_columns(
    data: pd.DataFrame, columns: Iterable[str | None], what: str
) -> None:
    """Fail if any named column is missing from ``data``.

    Raises:
        InputDataError: naming the missing columns and listing those present.
    """
    wanted = [c for c in columns if c is not None]
    missing = [c for c in wanted if c not in data.columns]
    if missing:
        shown = ", ".join(map(str, list(data.columns)[:30]))
        raise InputDataError(
            f"{what}: column(s) {', '.join(repr(m) for m in missing)} not found in "
            f"the data; columns present: {shown}. Pass the right column names "
            "(e.g. --unit/--time/--outcome/--treated)."
        )


def numeric_column(data: pd.DataFrame, column: str, what: str) -> pd.Series:
    """Return ``data[column]`` as float, failing on text that is not a number."""
    try:
        return pd.to_numeric(data[column], errors="raise").astype(float)
    except (TypeError, ValueError) as exc:
        raise InputDataError(
            f"{what}: column {column!r} must be numeric but holds non-numeric "
            "values; recode it (e.g. 0/1 for a treatment flag) and retry."
        ) from exc


def binary_column(data: pd.DataFrame, column: str, what: str) -> pd.Series:
    """Return a 0/1 column as int, failing on anything else."""
    values = numeric_column(data, column, what)
    if values.isna().any():
        raise InputDataError(
            f"{what}: column {column!r} has {int(values.isna().sum())} missing "
            "value(s); a treatment/group flag must be 0 or 1 on every row."
        )
    bad = ~values.isin([0.0, 1.0])
    if bad.any():
        raise InputDataError(
            f"{what}: column {column!r} must be 0/1 but {int(bad.sum())} row(s) "
            "hold other values; recode it as 1 = treated, 0 = comparator."
        )
    return values.astype(int)


def drop_missing(
    data: pd.DataFrame, columns: Sequence[str], what: str, notes: list[str]
) -> pd.DataFrame:
    """Drop rows with missing values in ``columns`` and note how many went."""
    keep = data[list(columns)].notna().all(axis=1)
    dropped = int((~keep).sum())
    if dropped:
        notes.append(f"{what}: dropped {dropped} row(s) with missing values.")
    out = data.loc[keep]
    if out.empty:
        raise InsufficientDataError(
            f"{what}: no rows left after dropping rows with missing values in "
            f"{', '.join(columns)}."
        )
    return out


def check_full_rank(x: np.ndarray, names: Sequence[str], what: str) -> None:
    """Fail if the design matrix is rank deficient (collinear covariates).

    The message lists a column that is a linear combination of the others, so
    the user knows which covariate to drop.

    Raises:
        InputDataError: when ``rank(x) < x.shape[1]``.
    """
    if x.shape[1] == 0:
        return
    rank = np.linalg.matrix_rank(x)
    if rank >= x.shape[1]:
        return
    culprits: list[str] = []
    for j in range(x.shape[1]):
        others = np.delete(x, j, axis=1)
        if np.linalg.matrix_rank(others) == rank:
            culprits.append(str(names[j]))
    raise InputDataError(
        f"{what}: collinear covariates - the design matrix has rank {rank} but "
        f"{x.shape[1]} columns; {', '.join(culprits) or 'some columns'} can be "
        "written as a combination of the others (or are constant). Drop one of them."
    )


def require_min(count: int, minimum: int, what: str, thing: str, fix: str) -> None:
    """Fail with `InsufficientDataError` when ``count < minimum``."""
    if count < minimum:
        raise InsufficientDataError(
            f"{what}: found {count} {thing}, need at least {minimum}. {fix}"
        )


def split_covariates(text: str | Sequence[str] | None) -> list[str]:
    """Parse ``"a,b"`` or a list into a clean list of covariate names."""
    if text is None:
        return []
    if isinstance(text, str):
        return [c.strip() for c in text.split(",") if c.strip()]
    return [str(c) for c in text]


def time_column(data: pd.DataFrame, column: str, what: str) -> pd.Series:
    """Return a numeric period column, with a specific message for dates."""
    try:
        return pd.to_numeric(data[column], errors="raise").astype(float)
    except (TypeError, ValueError) as exc:
        raise InputDataError(
            f"{what}: time column {column!r} must be a number (a year, or a month or "
            "quarter index); convert dates first, e.g. months since the start of the data."
        ) from exc


def absorbed_treatment(what: str) -> InsufficientDataError:
    """The error for a treatment regressor absorbed by two-way fixed effects.

    linearmodels raises its own `AbsorbingEffectError` (not a ValueError) when
    every regressor is explained by the unit and period effects - e.g. in a
    subgroup where no unit changes treatment status within the data, or where
    the treated units are treated in every period.
    """
    return InsufficientDataError(
        f"{what}: the treatment indicator is absorbed by the unit and period "
        "fixed effects - no unit in these data changes treatment status against "
        "untreated units in the same periods (too few units or periods in this "
        "subset, or treated from the first period). Add pre-period data or "
        "comparison units, or drop this subgroup."
    )
