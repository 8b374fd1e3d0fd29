"""Breakdowns: which patient attribute each one groups by and how categories are labelled.

The patient-level pass groups by the *raw* attribute (the 2021 ethnicity
category, the IMD decile, the 5-year age band index); derived breakdowns
(ethnicity in 5 and 16 groups, IMD quintile) are mapped from those small
aggregates afterwards, so the big table is scanned once per raw attribute.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from carepilot.engine.areas import pack, packed_sum, summable, unpack
from carepilot.engine.frames import categorical
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


class CategoryIndex:
    """An integer code per (breakdown, category) pair, assigned on first sight.

    One per run (`Engine`): every indicator's rows (and provider rows) share the
    codes, so the text columns of the results are built from these small arrays
    once instead of being carried through the post-processing as strings.
    """

    def __init__(self) -> None:
        self._codes: dict[tuple[str, str], int] = {}
        self._breakdowns: list[str] = []
        self._labels: list[str] = []

    def __len__(self) -> int:
        return len(self._labels)

    def codes(self, breakdown: str, labels: Sequence[str]) -> np.ndarray:
        """The codes of `labels` in `breakdown` (new pairs get new codes)."""
        out = np.empty(len(labels), dtype=np.int64)
        for i, label in enumerate(labels):
            key = (breakdown, label)
            code = self._codes.get(key)
            if code is None:
                code = self._codes[key] = len(self._labels)
                self._breakdowns.append(breakdown)
                self._labels.append(label)
            out[i] = code
        return out

    def code(self, breakdown: str, label: str) -> int | None:
        """The code of one pair, or None if it has not been seen."""
        return self._codes.get((breakdown, label))

    @property
    def breakdowns(self) -> np.ndarray:
        """Breakdown name per code."""
        return np.asarray(self._breakdowns, dtype=object)

    @property
    def labels(self) -> np.ndarray:
        """Category label per code."""
        return np.asarray(self._labels, dtype=object)


@dataclass(frozen=True)
class DerivedCells:
    """Derived breakdown rows as integer codes (see `derive_cells`).

    Attributes:
        keys: key column → code per row (into `key_values`).
        key_values: key column → value per code (first-seen order in the raw rows).
        category: `CategoryIndex` code per row.
        measures: measure → sum per row.
        index: the category index the codes refer to.
    """

    keys: dict[str, np.ndarray]
    key_values: dict[str, np.ndarray]
    category: np.ndarray
    measures: dict[str, np.ndarray]
    index: CategoryIndex

    def __len__(self) -> int:
        return len(self.category)

    def values(self, key: str) -> np.ndarray:
        """The key's value per row."""
        return self.key_values[key][self.keys[key]]

    def frame(self) -> pd.DataFrame:
        """The rows as a frame: keys, `breakdown`, `category`, measures."""
        out: dict[str, object] = {}
        for k, codes in self.keys.items():
            out[k] = _take(self.key_values[k], codes)
        out["breakdown"] = categorical(self.index.breakdowns, self.category)
        out["category"] = categorical(self.index.labels, self.category)
        out.update(self.measures)
        return pd.DataFrame(out)


def derive_cells(
    raw: pd.DataFrame,
    keys: list[str],
    measures: list[str],
    breakdowns: tuple[str, ...],
    index: CategoryIndex | None = None,
    *,
    band: str | None = None,
) -> DerivedCells:
    """Turn per-raw-attribute aggregates into output breakdowns, on integer codes.

    Keys and raw categories are coded once (categoricals by their own codes);
    each breakdown is then one group-sum (`areas.group_sum`) of its attribute's
    rows, in raw row order, so sums are those of a pandas group-by of the rows.

    Args:
        raw: rows with `attribute`, `value` (raw category as text), `keys` and
            `measures`.
        keys: grouping columns kept as they are (period, practice, age band...).
        measures: columns summed.
        breakdowns: output breakdowns wanted (`total` is derived from `sex`).
        index: category codes to use (a new index if None).
        band: the key holding the five-year age band, for standardised
            indicators: their `age_band` breakdown is then the band of the `sex`
            rows (one category per band, like `total` per band).

    Returns:
        The derived rows; rows of one breakdown are contiguous, in `breakdowns`
        order, each sorted by its key codes.
    """
    index = CategoryIndex() if index is None else index
    key_codes: list[np.ndarray] = []
    key_values: list[np.ndarray] = []
    for k in keys:
        codes, uniques = pd.factorize(raw[k].to_numpy(), use_na_sentinel=False)
        key_codes.append(np.asarray(codes, dtype=np.int64))
        key_values.append(np.asarray(uniques))
    # (period, practice, band...) of each raw row as one packed key
    key_sizes = [len(v) for v in key_values]
    cell, n_cells = (
        pack(key_codes, key_sizes) if keys else (np.zeros(len(raw), np.int64), 1.0)
    )
    attr_codes, attr_labels = category_codes(raw["attribute"])
    value_codes, values = category_codes(raw["value"])
    measure_arrays = summable([raw[m].to_numpy(dtype=float) for m in measures])
    parts: list[tuple[np.ndarray, np.ndarray, list[np.ndarray]]] = []
    for breakdown in breakdowns:
        from_band = breakdown == "age_band" and band is not None
        attr = "sex" if breakdown == "total" or from_band else DERIVED[breakdown][0]
        where = np.flatnonzero(attr_labels == attr)
        if len(where) == 0:
            continue
        hits = np.flatnonzero(attr_codes == where[0])
        if len(hits) == 0:
            continue
        # an attribute's rows are usually one block: a slice, not a gather
        contiguous = int(hits[-1]) - int(hits[0]) + 1 == len(hits)
        rows = slice(int(hits[0]), int(hits[-1]) + 1) if contiguous else hits
        n_rows = len(hits)
        if breakdown == "total":
            label_codes = index.codes("total", ["all"])
            category = np.zeros(n_rows, dtype=np.int64)
        elif from_band:
            assert band is not None
            band_values = np.asarray(key_values[keys.index(band)], dtype=np.int64)
            row_bands = band_values[key_codes[keys.index(band)][rows]]
            used = np.flatnonzero(np.bincount(row_bands, minlength=N_AGE_BANDS))
            lookup = np.zeros(max(int(used[-1]) + 1, 1), dtype=np.int64)
            lookup[used] = np.arange(len(used))
            category = lookup[row_bands]
            label_codes = index.codes(breakdown, [age_band_label(int(b)) for b in used])
        else:
            mapping = DERIVED[breakdown][1]
            used = np.flatnonzero(np.bincount(value_codes[rows], minlength=len(values)))
            mapped = [mapping(str(values[u])) for u in used]
            local, labels = pd.factorize(pd.Index(mapped, dtype=object))
            label_codes = index.codes(breakdown, [str(v) for v in labels])
            lookup = np.zeros(len(values), dtype=np.int64)
            lookup[used] = local
            category = lookup[value_codes[rows]]
        uniq, sums = packed_sum(
            cell[rows] * len(label_codes) + category,
            n_cells * len(label_codes),
            [None if m is None else m[rows] for m in measure_arrays],
        )
        parts.append(
            (uniq // len(label_codes), label_codes[uniq % len(label_codes)], sums)
        )
    if not parts:
        return DerivedCells(
            {k: np.zeros(0, dtype=np.int64) for k in keys},
            dict(zip(keys, key_values, strict=True)),
            np.zeros(0, dtype=np.int64),
            {m: np.zeros(0) for m in measures},
            index,
        )
    cells = unpack(np.concatenate([p[0] for p in parts]), key_sizes)
    return DerivedCells(
        dict(zip(keys, cells, strict=True)),
        dict(zip(keys, key_values, strict=True)),
        np.concatenate([p[1] for p in parts]),
        {m: np.concatenate([p[2][i] for p in parts]) for i, m in enumerate(measures)},
        index,
    )


def derive_breakdowns(
    raw: pd.DataFrame, keys: list[str], measures: list[str], breakdowns: tuple[str, ...]
) -> pd.DataFrame:
    """`derive_cells` as a frame: `keys`, `breakdown`, `category`, `measures`."""
    cells = derive_cells(raw, keys, measures, breakdowns)
    if len(cells) == 0:
        return pd.DataFrame(columns=[*keys, "breakdown", "category", *measures])
    return cells.frame()


def category_codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer code per row and the value per code (a categorical's own codes)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = np.asarray(column.cat.codes.to_numpy(), dtype=np.int64)
        labels = np.asarray(column.cat.categories, dtype=object)
        if len(codes) and int(codes.min()) < 0:
            codes = np.where(codes < 0, len(labels), codes)
            labels = np.append(labels, np.array([np.nan], dtype=object))
        return codes, labels
    codes, uniques = pd.factorize(column.to_numpy(), use_na_sentinel=False)
    return np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=object)


def _take(values: np.ndarray, codes: np.ndarray) -> object:
    """`values[codes]`: NumPy for numbers, a categorical for text."""
    if values.dtype.kind in "biuf":
        return values[codes]
    return categorical(np.asarray(values, dtype=object), codes)
