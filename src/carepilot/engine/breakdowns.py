"""Breakdowns: which patient attribute each one groups by and how categories are labelled.

The patient-level pass groups by the *raw* attribute (the 2021 ethnicity
category, the IMD decile, the 5-year age band index); derived breakdowns
(ethnicity in 5 and 16 groups, IMD quintile) are mapped from those small
aggregates afterwards, so the big table is scanned once per raw attribute.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from carepilot.engine.areas import group_sum
from carepilot.engine.frames import categorical, constant, stack
from carepilot.indicators.model import BREAKDOWN_NAMES
from carepilot.schema import categories as cat

BREAKDOWNS: tuple[str, ...] = BREAKDOWN_NAMES
"""Every breakdown in output order (results contract)."""

RAW_ATTRIBUTES: tuple[str, ...] = (
    "sex",
    "age_band",
    "ethnicity",
    "imd_decile",
    "religion",
    "disability",
    "sexual_orientation",
    "rural_urban",
)
"""Columns the patient-level table is grouped by (one GROUP BY each)."""

N_AGE_BANDS = 19
"""Five-year bands 0-4 ... 85-89 and 90+: the ESP2013 bands used for DSR/ISR."""

AGE_BAND_LABELS: tuple[str, ...] = tuple(
    [f"{5 * i}-{5 * i + 4}" for i in range(N_AGE_BANDS - 1)] + ["90+"]
)


def age_band_label(index: int) -> str:
    """Label of five-year band `index` (0 → "0-4", 18 → "90+")."""
    return AGE_BAND_LABELS[max(0, min(int(index), N_AGE_BANDS - 1))]


def _imd_quintile(decile: str) -> str:
    if decile == cat.UNKNOWN:
        return cat.UNKNOWN
    return str((int(float(decile)) + 1) // 2)


DERIVED: dict[str, tuple[str, Callable[[str], str]]] = {
    "sex": ("sex", lambda v: v),
    "age_band": ("age_band", lambda v: age_band_label(int(float(v)))),
    "ethnicity_5": ("ethnicity", lambda v: cat.ETHNICITY_TO_5.get(v, cat.NOT_STATED)),
    "ethnicity_16": (
        "ethnicity",
        lambda v: cat.ETHNICITY_TO_16.get(v, cat.NOT_STATED),
    ),
    "imd_quintile": ("imd_decile", _imd_quintile),
    "imd_decile": (
        "imd_decile",
        lambda v: v if v == cat.UNKNOWN else str(int(float(v))),
    ),
    "religion": ("religion", lambda v: v),
    "disability": ("disability", lambda v: v),
    "sexual_orientation": ("sexual_orientation", lambda v: v),
    "rural_urban": ("rural_urban", lambda v: v),
}
"""Output breakdown → (raw attribute it is computed from, category mapping)."""

MISSING_LABEL: dict[str, str] = {
    "sex": "unknown",
    "ethnicity": cat.NOT_STATED,
    "religion": cat.NOT_STATED,
    "disability": cat.NOT_STATED,
    "sexual_orientation": cat.NOT_STATED,
    "rural_urban": cat.UNKNOWN,
    "imd_decile": cat.UNKNOWN,
    "age_band": "0",
}
"""Label for a missing raw attribute, so missing values form their own category."""


def derive_breakdowns(
    raw: pd.DataFrame, keys: list[str], measures: list[str], breakdowns: tuple[str, ...]
) -> pd.DataFrame:
    """Turn per-raw-attribute aggregates into output breakdowns and categories.

    Args:
        raw: rows with `attribute`, `value` (raw category as text), `keys` and
            `measures`.
        keys: grouping columns kept as they are (period, practice, age band...).
        measures: columns summed.
        breakdowns: output breakdowns wanted (`total` is derived from `sex`).

    Returns:
        Rows with `keys`, `breakdown`, `category` and summed `measures`.
    """
    # Integer codes for the keys and the raw values, factorised once; each
    # breakdown is then one numpy group-sum (see `areas.group_sum`).
    key_codes: list[np.ndarray] = []
    key_values: list[pd.Index] = []
    for k in keys:
        codes, uniques = pd.factorize(raw[k], use_na_sentinel=False)
        key_codes.append(codes)
        key_values.append(pd.Index(uniques))
    value_codes, values = pd.factorize(raw["value"], use_na_sentinel=False)
    attributes = raw["attribute"].to_numpy()
    measure_arrays = [raw[m].to_numpy(dtype=float) for m in measures]
    frames: list[pd.DataFrame] = []
    for breakdown in breakdowns:
        attr = "sex" if breakdown == "total" else DERIVED[breakdown][0]
        rows = np.flatnonzero(attributes == attr)
        if len(rows) == 0:
            continue
        if breakdown == "total":
            labels = np.array(["all"], dtype=object)
            category = np.zeros(len(rows), dtype=np.int64)
        else:
            mapping = DERIVED[breakdown][1]
            used = np.unique(value_codes[rows])
            mapped = [mapping(str(values[u])) for u in used]
            label_codes, labels_index = pd.factorize(pd.Index(mapped, dtype=object))
            labels = np.asarray(labels_index, dtype=object)
            lookup = np.zeros(len(values), dtype=np.int64)
            lookup[used] = label_codes
            category = lookup[value_codes[rows]]
        first, rest, sums = group_sum(
            [*(c[rows] for c in key_codes), category],
            [*(len(v) for v in key_values), len(labels)],
            [m[rows] for m in measure_arrays],
        )
        codes_out = [first, *rest]
        out: dict[str, object] = {
            k: _take(key_values[i], codes_out[i]) for i, k in enumerate(keys)
        }
        out["breakdown"] = constant(breakdown, len(first))
        out["category"] = categorical(labels, codes_out[len(keys)])
        for m, v in zip(measures, sums, strict=True):
            out[m] = v
        frames.append(pd.DataFrame(out))
    if not frames:
        return pd.DataFrame(columns=[*keys, "breakdown", "category", *measures])
    return stack(frames)


def _take(values: pd.Index, codes: np.ndarray) -> object:
    """`values[codes]`: NumPy for numbers, a categorical for text."""
    if values.dtype.kind in "biuf":
        return values.to_numpy()[codes]
    return categorical(values.to_numpy(dtype=object), codes)
