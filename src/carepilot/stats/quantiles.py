"""Assign areas to quantiles (deciles, quintiles, …) the Fingertips way.

Pure NumPy/pandas; no file, database or web access.
"""

# pyright: reportMissingTypeStubs=false

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from carepilot.errors import DefinitionError
from carepilot.stats import _frames, _scipy
from carepilot.stats._common import FloatArray, as_float_array


def assign_quantiles(
    values: npt.ArrayLike, nquantiles: int = 10, *, invert: bool = True
) -> FloatArray:
    """Quantile number (1..q) for each value within one group (PHE method).

    With N non-missing values, r their minimum rank (of −value when `invert`, so
    quantile 1 holds the highest values) and q quantiles::

        quantile = floor((q + 1) − ceil((N + 1 − r) / (N/q))),  0 → 1

    Missing values get NaN; if N < q every quantile is NaN.

    Args:
        values: Values for the areas of one group.
        nquantiles: q, e.g. 10 for deciles.
        invert: True when a low value is good ("RAG - Low is good").

    Returns:
        Float array of quantile numbers (NaN where unassigned).

    Example:
        >>> assign_quantiles([1.0, 2.0, 3.0, 4.0], 2, invert=False).tolist()
        [1.0, 1.0, 2.0, 2.0]
    """
    if nquantiles < 1:
        raise DefinitionError("nquantiles must be at least 1")
    v = as_float_array(values, "values")
    present = ~np.isnan(v)
    n = int(present.sum())
    out = np.full(v.shape, np.nan)
    if n < nquantiles:
        return out
    keyed = -v[present] if invert else v[present]
    rank = _scipy.rank_min(keyed)
    q = np.floor((nquantiles + 1) - np.ceil((n + 1 - rank) / (n / nquantiles)))
    out[present] = np.where(q == 0, 1.0, q)
    return out


def phe_quantile(
    data: pd.DataFrame,
    values: str,
    *,
    group_by: str | Sequence[str] | None = None,
    nquantiles: int = 10,
    invert: bool | str = True,
) -> pd.Series:
    """Quantile for every row, computed within groups (``phe_quantile``).

    `invert` may be a boolean or the name of a boolean column (PHE's
    ``inverttype = "field"``), constant within each group.

    Example:
        >>> df = pd.DataFrame({"v": [1.0, 2.0, 3.0, 4.0]})
        >>> phe_quantile(df, "v", nquantiles=2).tolist()
        [2.0, 2.0, 1.0, 1.0]
    """
    groups = _frames.as_list(group_by)
    _frames.require_columns(
        data, [values, *groups, *([invert] if isinstance(invert, str) else [])]
    )
    result = pd.Series(np.nan, index=data.index, name="quantile")
    items = _frames.split_groups(data, groups)
    for _, frame in items:
        flag = (
            bool(_frames.column_values(frame, invert)[0])
            if isinstance(invert, str)
            else invert
        )
        result.loc[frame.index] = assign_quantiles(
            _frames.numeric_column(frame, values), nquantiles, invert=flag
        )
    return result
