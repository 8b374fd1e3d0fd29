"""The aggregation pass done on integer codes in NumPy (in-process backends).

The SQL form of the aggregation (`carepilot.engine.aggregate`) groups the
patient x period rows once per breakdown attribute. On an in-process backend
(DuckDB) it is much cheaper to fetch the population rows once as a few narrow
integer/float columns and group them here:

* each patient's category of every attribute is coded once per run
  (`PatientCategories`, labels computed by the backend with the very same
  expressions as the SQL form, so both forms give identical text);
* every (period, practice[, age band]) cell and category is packed into one
  integer and summed with `np.bincount` - the accumulator is small enough to
  stay in cache, which makes this several times faster than a hash aggregate;
* low-cardinality attributes are grouped in pairs (one pass, two marginals);
* measures that are constant (`exc` = 0 without exceptions) or equal to another
  (`num_sq` = `num` for proportions) are not fetched (see `CompiledIndicator`).

The output has exactly the rows and columns of the SQL form (tested).
"""

# Ibis's static types are coarser than its runtime API; see aggregate.py.
# pyright: reportOperatorIssue=false, reportAttributeAccessIssue=false, reportArgumentType=false, reportCallIssue=false

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from carepilot.engine.aggregate import MEASURES
from carepilot.engine.breakdowns import MISSING_LABEL, N_AGE_BANDS
from carepilot.engine.frames import categorical, constant, stack

PAIR_BINS_LIMIT = 4_000_000
"""Largest accumulator (cells x categories of a pair) for pairing two attributes;
beyond it each attribute gets its own pass (keeps the accumulator cache-sized)."""


@dataclass(frozen=True)
class PatientCategories:
    """Every patient's category code per raw attribute, and the code labels.

    Attributes:
        ids: patient ids, in row order of the codes.
        codes: attribute → category code per patient (int32).
        labels: attribute → category text per code.
    """

    ids: np.ndarray
    codes: Mapping[str, np.ndarray]
    labels: Mapping[str, np.ndarray]

    @staticmethod
    def read(patients: ir.Table, attributes: Sequence[str]) -> PatientCategories:
        """Code the attributes of every patient (one small query per run).

        The text is `attribute.cast("string").fill_null(<missing label>)`, the
        expression the SQL aggregation groups by.
        """
        cols = {
            a: patients[a].cast("string").fill_null(MISSING_LABEL[a])
            for a in attributes
        }
        table = patients.select(patient_id=patients.patient_id.cast("int64"), **cols)
        arrow = table.to_pyarrow()
        ids = _int_array(arrow.column("patient_id"))
        codes: dict[str, np.ndarray] = {}
        labels: dict[str, np.ndarray] = {}
        for a in attributes:
            encoded = pc.dictionary_encode(arrow.column(a)).combine_chunks()
            codes[a] = np.asarray(encoded.indices.to_numpy(), dtype=np.int32)
            labels[a] = np.asarray(encoded.dictionary.to_pylist(), dtype=object)
        return PatientCategories(ids, codes, labels)

    def positions(self, patient_ids: np.ndarray) -> np.ndarray:
        """Row position of each patient id (all ids must be known)."""
        return _positions(self.ids, patient_ids)


def _int_array(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(column.to_numpy(), dtype=np.int64)


def _positions(known: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Position of each of `wanted` in `known` (unique ids).

    A dense lookup array when the ids are small non-negative integers (the
    usual case: one gather), else a hash lookup.
    """
    if len(known) == 0:
        return np.zeros(len(wanted), dtype=np.int64)
    lo, hi = int(known.min()), int(known.max())
    if lo >= 0 and hi < 4 * len(known) + 1_000_000:
        lookup = np.full(hi + 1, -1, dtype=np.int64)
        lookup[known] = np.arange(len(known), dtype=np.int64)
        out = lookup[wanted]
    else:
        out = pd.Index(known).get_indexer(pd.Index(wanted)).astype(np.int64)
    if len(out) and int(out.min()) < 0:
        raise ValueError("internal: a population row has a patient id not in patients")
    return out


def population_columns(
    population: ir.Table,
    constants: Mapping[str, float],
    aliases: Mapping[str, str],
) -> ir.Table:
    """The narrow table fetched from the backend: keys, age band, varying measures."""
    band = (
        ibis.least(population.age // 5, N_AGE_BANDS - 1)
        .fill_null(int(MISSING_LABEL["age_band"]))
        .cast("int16")
    )
    cols: dict[str, ir.Value] = {
        "period_id": population.period_id.cast("int32"),
        "practice_pseudo_id": population.practice_pseudo_id.cast("int64"),
        "patient_id": population.patient_id.cast("int64"),
        "band": band,
    }
    for m in MEASURES:
        if m not in constants and m not in aliases:
            cols[m] = population[m].cast("float64")
    return population.select(**cols)


def aggregate_columnar(
    population: ir.Table,
    categories: PatientCategories,
    *,
    by_age_band: bool,
    attributes: Sequence[str],
    constants: Mapping[str, float],
    aliases: Mapping[str, str],
) -> pd.DataFrame:
    """Per (period, practice[, age band], attribute, category) sums.

    Args:
        population: `CompiledIndicator.population`.
        categories: the run's patient category codes (covering `attributes`
            other than `age_band`).
        by_age_band: also group by age band (`sband`), for DSR/ISR.
        attributes: raw attributes to group by.
        constants, aliases: from `CompiledIndicator` (measures not fetched).

    Returns:
        The columns of the SQL form: `period_id`, `practice_pseudo_id`,
        [`sband`], `attribute`, `value`, `num`, `den`, `exc`, `num_sq`, `n`.
    """
    arrow = population_columns(population, constants, aliases).to_pyarrow()
    period = _int_array(arrow.column("period_id"))
    practice = _int_array(arrow.column("practice_pseudo_id"))
    band = _int_array(arrow.column("band"))
    fetched = {
        m: np.nan_to_num(np.asarray(arrow.column(m).to_numpy(), dtype=np.float64))
        for m in MEASURES
        if m in arrow.column_names
    }
    pidx = categories.positions(_int_array(arrow.column("patient_id")))
    del arrow
    return aggregate_arrays(
        period,
        practice,
        band,
        pidx,
        fetched,
        categories,
        by_age_band=by_age_band,
        attributes=attributes,
        constants=constants,
        aliases=aliases,
    )


def aggregate_arrays(
    period: np.ndarray,
    practice: np.ndarray,
    band: np.ndarray,
    pidx: np.ndarray,
    fetched: Mapping[str, np.ndarray],
    categories: PatientCategories,
    *,
    by_age_band: bool,
    attributes: Sequence[str],
    constants: Mapping[str, float],
    aliases: Mapping[str, str],
) -> pd.DataFrame:
    """`aggregate_columnar` on population rows already in NumPy.

    Args:
        period, practice, band: per population row, its period id, practice id
            and age band index (missing age: 0).
        pidx: per row, the patient's row in `categories`.
        fetched: the measures that are neither constant nor aliases, per row
            (missing as 0).
        categories, by_age_band, attributes, constants, aliases: as
            `aggregate_columnar`.
    """
    practices, prac_idx = _dense_codes(practice)
    periods, per_idx = _dense_codes(period)
    cell = per_idx * len(practices) + prac_idx
    n_cells = len(periods) * len(practices)
    bands, band_idx = _dense_codes(band)
    if by_age_band:
        cell = cell * len(bands) + band_idx
        n_cells *= len(bands)

    def attribute_codes(attr: str) -> tuple[np.ndarray, np.ndarray]:
        if attr == "age_band":
            return band_idx, np.asarray([str(int(b)) for b in bands], dtype=object)
        return categories.codes[attr][pidx], categories.labels[attr]

    frames: list[pd.DataFrame] = []
    for group in _passes(attributes, categories, len(bands), n_cells):
        coded = [attribute_codes(a) for a in group]
        sizes = [max(len(lab), 1) for _, lab in coded]
        key = cell.astype(np.int64, copy=True)
        for (c, _), k in zip(coded, sizes, strict=True):
            key *= k
            key += c
        bins = n_cells * int(np.prod(sizes))
        count = np.bincount(key, minlength=bins).astype(np.float64)
        sums = {
            m: np.bincount(key, weights=v, minlength=bins) for m, v in fetched.items()
        }
        del key
        shape = (n_cells, *sizes)
        for axis, attr in enumerate(group):
            others = tuple(1 + i for i in range(len(group)) if i != axis)

            n = _marginal(count, shape, others)
            present = np.flatnonzero(n > 0)
            frames.append(
                _rows(
                    present,
                    n[present],
                    {m: _marginal(v, shape, others)[present] for m, v in sums.items()},
                    sizes[axis],
                    coded[axis][1],
                    attr,
                    periods,
                    practices,
                    bands if by_age_band else None,
                    constants,
                    aliases,
                )
            )
    return stack_aggregates(frames, by_age_band=by_age_band)


def stack_aggregates(frames: list[pd.DataFrame], *, by_age_band: bool) -> pd.DataFrame:
    """Per-attribute aggregate frames as one table in the SQL form's columns
    (shared by the columnar and dense paths, so both hand the same shape on)."""
    columns = [
        "period_id",
        "practice_pseudo_id",
        *(["sband"] if by_age_band else []),
        "attribute",
        "value",
        *MEASURES,
        "n",
    ]
    if not frames:
        return pd.DataFrame(columns=columns)
    return stack(frames)[columns]


def _marginal(
    values: np.ndarray, shape: tuple[int, ...], others: tuple[int, ...]
) -> np.ndarray:
    """Sum a flat (cells x categories...) accumulator over the other attributes."""
    return values.reshape(shape).sum(axis=others).reshape(-1)


def _dense_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and each value's index, for small-range integers."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    lo, hi = int(values.min()), int(values.max())
    if hi - lo < 50_000_000:
        present = np.zeros(hi - lo + 1, dtype=bool)
        present[values - lo] = True
        uniq = np.flatnonzero(present) + lo
        lookup = np.cumsum(present) - 1
        return uniq.astype(np.int64), lookup[values - lo].astype(np.int64)
    uniq, inverse = np.unique(values, return_inverse=True)
    return uniq.astype(np.int64), inverse.astype(np.int64)


def _passes(
    attributes: Sequence[str],
    categories: PatientCategories,
    n_bands: int,
    n_cells: int,
) -> list[tuple[str, ...]]:
    """Attributes grouped into passes: pairs while the accumulator stays small."""

    def size(attr: str) -> int:
        return n_bands if attr == "age_band" else len(categories.labels[attr])

    ordered = sorted(attributes, key=size)
    passes: list[tuple[str, ...]] = []
    while ordered:
        first = ordered.pop(0)
        partner = next(
            (
                b
                for b in reversed(ordered)
                if n_cells * size(first) * size(b) <= PAIR_BINS_LIMIT
            ),
            None,
        )
        if partner is None:
            passes.append((first,))
        else:
            ordered.remove(partner)
            passes.append((first, partner))
    return passes


def _rows(
    present: np.ndarray,
    n: np.ndarray,
    sums: Mapping[str, np.ndarray],
    n_categories: int,
    labels: np.ndarray,
    attr: str,
    periods: np.ndarray,
    practices: np.ndarray,
    bands: np.ndarray | None,
    constants: Mapping[str, float],
    aliases: Mapping[str, str],
) -> pd.DataFrame:
    category = present % n_categories
    cell = present // n_categories
    out: dict[str, object] = {}
    if bands is not None:
        out["sband"] = bands[cell % len(bands)]
        cell = cell // len(bands)
    out["practice_pseudo_id"] = practices[cell % len(practices)]
    out["period_id"] = periods[cell // len(practices)]
    out["attribute"] = constant(attr, len(present))
    out["value"] = categorical(labels, category)
    measures: dict[str, np.ndarray] = dict(sums)
    for m, c in constants.items():
        measures[m] = n * c
    for m, source in aliases.items():
        measures[m] = measures[source]
    for m in MEASURES:
        out[m] = measures[m]
    out["n"] = n.astype(np.int64)
    return pd.DataFrame(out)
