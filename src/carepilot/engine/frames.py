"""Text columns of the engine's intermediate tables, kept as categoricals.

Intermediate tables have millions of rows but only a few hundred distinct texts
(area codes, breakdowns, categories). pandas turns a NumPy array of Python
strings into its string dtype element by element, and concatenating categoricals
with different categories falls back to the same conversion; both dominated the
post-processing time. These helpers build categoricals from (labels, codes) and
stack frames by uniting categories instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals


def categorical(
    labels: np.ndarray | Sequence[object], codes: np.ndarray
) -> pd.Categorical:
    """`labels[codes]` as a categorical (labels may repeat or be None/NaN)."""
    label_codes, uniques = pd.factorize(
        pd.Index(np.asarray(labels, dtype=object), dtype=object), use_na_sentinel=True
    )
    idx = np.asarray(codes, dtype=np.int64)
    if len(label_codes) == 0:
        return pd.Categorical.from_codes(
            np.full(len(idx), -1, dtype=np.int64), categories=pd.Index([], dtype=object)
        )
    return pd.Categorical.from_codes(
        label_codes[idx], categories=pd.Index(uniques, dtype=object)
    )


def constant(label: str, n: int) -> pd.Categorical:
    """A categorical column of `n` copies of `label`."""
    return pd.Categorical.from_codes(
        np.zeros(n, dtype=np.int8), categories=pd.Index([label], dtype=object)
    )


def stack(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """`pd.concat(frames, ignore_index=True)` for frames with the same columns,
    uniting categorical columns' categories (no conversion to strings)."""
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    out: dict[str, object] = {}
    for col in frames[0].columns:
        parts = [f[col] for f in frames]
        if all(isinstance(p.dtype, pd.CategoricalDtype) for p in parts):
            out[col] = union_categoricals([p.array for p in parts])  # type: ignore[arg-type]
        elif all(p.dtype.kind in "biuf" for p in parts if len(p)):
            out[col] = np.concatenate([p.to_numpy() for p in parts])
        else:
            out[col] = pd.concat(parts, ignore_index=True)
    return pd.DataFrame(out)
