"""Roll practice-level aggregates up the area hierarchy.

practice → pcn → commissioner → national, plus pilot sites (member practices
from their start date) → national. Children add up to their parent by
construction: every level is a sum of the same practice rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from carepilot.engine.frames import categorical

NATIONAL_CODE = "national"
NATIONAL_NAME = "National"
AREA_TYPES = ("national", "commissioner", "pcn", "practice", "pilot")


@dataclass(frozen=True)
class AreaTable:
    """The areas of one indicator's rows, by area index.

    Attributes:
        area_type: `AREA_TYPES` entry (or "provider") per area.
        code, name: area code and name per area.
        parent: parent area code per area (None for national).
    """

    area_type: np.ndarray
    code: np.ndarray
    name: np.ndarray
    parent: np.ndarray

    def __len__(self) -> int:
        return len(self.code)

    @staticmethod
    def concat(tables: Sequence[AreaTable]) -> AreaTable:
        return AreaTable(
            *(
                np.concatenate([getattr(t, f) for t in tables]).astype(object)
                for f in ("area_type", "code", "name", "parent")
            )
        )


@dataclass(frozen=True)
class AreaRows:
    """Rolled-up rows as arrays (see `roll_up_codes`).

    Attributes:
        area: index into `areas` per row.
        codes: per key, its code per row (the caller's codes).
        sums: per measure, the sum per row.
        areas: the areas.
    """

    area: np.ndarray
    codes: list[np.ndarray]
    sums: list[np.ndarray]
    areas: AreaTable


def roll_up(
    practice_rows: pd.DataFrame,
    keys: list[str],
    measures: list[str],
    practices: pd.DataFrame,
    commissioners: pd.DataFrame,
    pilot_sites: pd.DataFrame,
    pilot_members: pd.DataFrame,
    small_areas: np.ndarray | None = None,
) -> pd.DataFrame:
    """Aggregate practice rows to every area level (`roll_up_codes` on a frame).

    Args:
        practice_rows: rows with `practice_pseudo_id`, `keys` and `measures`.
        keys: other grouping columns (period_id, breakdown, category, ...).
        measures: summed columns.
        practices, commissioners, pilot_sites, pilot_members: organisation tables.
        small_areas: which practice rows the practice and PCN levels use (None:
            all).

    Returns:
        Rows with `area_type`, `area_code`, `area_name`, `parent_area_code`,
        `keys` and `measures`.
    """
    columns = ["area_type", "area_code", "area_name", "parent_area_code"]
    if practice_rows.empty:
        return pd.DataFrame(columns=[*columns, *keys, *measures])
    codes: list[np.ndarray] = []
    decode: list[np.ndarray] = []
    for k in keys:
        c, uniques = pd.factorize(practice_rows[k].to_numpy(), use_na_sentinel=False)
        codes.append(np.asarray(c, dtype=np.int64))
        decode.append(np.asarray(uniques))
    unit, units = pd.factorize(
        practice_rows["practice_pseudo_id"].to_numpy(), use_na_sentinel=False
    )
    rows = roll_up_codes(
        np.asarray(unit, dtype=np.int64),
        np.asarray(units),
        codes,
        [len(d) for d in decode],
        [practice_rows[m].to_numpy() for m in measures],
        practices,
        commissioners,
        pilot_sites,
        pilot_members,
        small_areas=small_areas,
        pilots="period_id" in practice_rows,
    )
    areas = rows.areas
    out: dict[str, object] = {
        "area_type": categorical(areas.area_type, rows.area),
        "area_code": categorical(areas.code, rows.area),
        "area_name": categorical(areas.name, rows.area),
        "parent_area_code": categorical(areas.parent, rows.area),
    }
    for k, values, c in zip(keys, decode, rows.codes, strict=True):
        out[k] = (
            values[c]
            if values.dtype.kind in "biuf"
            else categorical(np.asarray(values, dtype=object), c)
        )
    for m, v in zip(measures, rows.sums, strict=True):
        out[m] = v
    return pd.DataFrame(out)


def roll_up_codes(
    unit: np.ndarray,
    units: np.ndarray,
    codes: Sequence[np.ndarray],
    sizes: Sequence[int],
    measures: Sequence[np.ndarray],
    practices: pd.DataFrame,
    commissioners: pd.DataFrame,
    pilot_sites: pd.DataFrame,
    pilot_members: pd.DataFrame,
    *,
    small_areas: np.ndarray | None = None,
    pilots: bool = True,
    levels: Sequence[str] = AREA_TYPES,
    first_practices: np.ndarray | None = None,
) -> AreaRows:
    """Aggregate practice rows to every area level, on integer codes.

    Every level is one `group_sum` of the practice rows (in row order, so each
    sum adds the same numbers in the same order whatever the level); the area
    of a row is looked up per practice. Names and parents are attached per area.

    Args:
        unit: practice code per row (into `units`).
        units: practice pseudo id per practice code.
        codes: the other grouping keys, as codes per row (each in
            ``range(size)``).
        sizes: number of codes of each key.
        measures: summed values per row.
        practices, commissioners, pilot_sites, pilot_members: organisation tables.
        small_areas: which rows the practice and PCN levels use (None: all).
            Rows a run does not report for practices and PCNs (their breakdowns
            other than the total) are then never grouped there.
        pilots: add pilot areas (member practices in every period).
        levels: the levels to sum (the area table always has every level, so
            two calls with the same practices number areas alike).
        first_practices: practice codes in the order that picks each PCN's and
            commissioner's name and parent (first practice wins); default the
            order of first appearance in `unit`.

    Returns:
        The rolled-up rows, level by level (practice, pcn, commissioner,
        national, pilot), each sorted by area and key codes.
    """
    values = summable(measures)
    ids = np.unique(np.asarray(units))
    id_rank = np.searchsorted(ids, units)
    pidx = id_rank[unit]
    org = _practice_info(ids, practices, commissioners)
    tables: list[AreaTable] = []
    parts: list[tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]] = []
    offset = 0

    def level(
        rows: np.ndarray | None,
        area_of_row: np.ndarray,
        table: AreaTable,
    ) -> None:
        nonlocal offset
        take = (lambda a: a) if rows is None else (lambda a: a[rows])
        if len(area_of_row) and len(table) and str(table.area_type[0]) in levels:
            key, space = pack(
                [area_of_row, *(take(c) for c in codes)], [len(table), *sizes]
            )
            uniq, sums = packed_sum(
                key, space, [None if v is None else take(v) for v in values]
            )
            area, *rest = unpack(uniq, [len(table), *sizes])
            parts.append((area + offset, rest, sums))
        tables.append(table)
        offset += len(table)

    small = None if small_areas is None else np.flatnonzero(small_areas)
    n_practices = len(ids)
    level(
        small,
        pidx if small is None else pidx[small],
        AreaTable(
            np.full(n_practices, "practice", dtype=object),
            org["practice_code"],
            org["practice_name"],
            org["pcn_code"],
        ),
    )
    seen = id_rank[first_seen(unit) if first_practices is None else first_practices]
    for code, name, parent, area_type in (
        ("pcn_code", "pcn_name", "commissioner_code", "pcn"),
        ("commissioner_code", "commissioner_name", None, "commissioner"),
    ):
        # Per area: its name and parent from the first practice (row order).
        first = pd.DataFrame(org).iloc[seen].drop_duplicates(code)
        area_codes = first[code].to_numpy(dtype=object)
        lookup = pd.Index(area_codes).get_indexer(pd.Index(org[code]))
        parents = (
            first[parent].to_numpy(dtype=object)
            if parent is not None
            else np.full(len(area_codes), NATIONAL_CODE, dtype=object)
        )
        rows = small if area_type == "pcn" else None
        level(
            rows,
            lookup[pidx if rows is None else pidx[rows]],
            AreaTable(
                np.full(len(area_codes), area_type, dtype=object),
                area_codes,
                first[name].to_numpy(dtype=object),
                parents,
            ),
        )
    level(
        None,
        np.zeros(len(unit), dtype=np.int64),
        AreaTable(
            np.array(["national"], dtype=object),
            np.array([NATIONAL_CODE], dtype=object),
            np.array([NATIONAL_NAME], dtype=object),
            np.array([None], dtype=object),
        ),
    )
    if pilots:
        pilot_take, pilot_area, pilot_codes, pilot_names = _pilot_rows(
            unit, units, pilot_sites, pilot_members
        )
        level(
            pilot_take,
            pilot_area,
            AreaTable(
                np.full(len(pilot_codes), "pilot", dtype=object),
                pilot_codes,
                pilot_names,
                np.full(len(pilot_codes), NATIONAL_CODE, dtype=object),
            ),
        )
    areas = AreaTable.concat(tables)
    if not parts:
        return AreaRows(
            np.zeros(0, dtype=np.int64),
            [np.zeros(0, dtype=np.int64) for _ in codes],
            [np.zeros(0) for _ in measures],
            areas,
        )
    return AreaRows(
        np.concatenate([p[0] for p in parts]),
        [np.concatenate([p[1][i] for p in parts]) for i in range(len(codes))],
        [np.concatenate([p[2][i] for p in parts]) for i in range(len(measures))],
        areas,
    )


def group_sum(
    codes: Sequence[np.ndarray], sizes: Sequence[int], values: Sequence[np.ndarray]
) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Sum `values` by the combination of integer `codes` (a fast group-by).

    The codes (each in ``range(size)``) are packed into one int64 key by mixed
    radix (`pack`), grouped with `unique_keys` and summed with `np.bincount`
    (`packed_sum`) - several times faster than a pandas multi-key group-by on
    these small-cardinality keys. Missing values count as 0, as in
    `pandas.DataFrame.sum`.

    Returns:
        The first code of each group, the remaining codes, and the sums.
    """
    key, space = pack(codes, sizes)
    uniq, sums = packed_sum(key, space, summable(values))
    out = unpack(uniq, sizes)
    return out[0], out[1:], sums


def pack(codes: Sequence[np.ndarray], sizes: Sequence[int]) -> tuple[np.ndarray, float]:
    """Codes (each in ``range(size)``) as one int64 key, and the key space size.

    Keys sort like the tuples of codes (mixed radix, first code most significant).
    """
    radix = [max(int(n), 1) for n in sizes]
    key = np.array(codes[0], dtype=np.int64)
    for c, n in zip(codes[1:], radix[1:], strict=True):
        key *= n
        key += c
    return key, float(np.prod(radix, dtype=float))


def unpack(key: np.ndarray, sizes: Sequence[int]) -> list[np.ndarray]:
    """The codes packed into `key` by `pack`."""
    out: list[np.ndarray] = []
    rest = key
    for n in reversed([max(int(n), 1) for n in sizes]):
        out.append(rest % n)
        rest = rest // n
    out.reverse()
    return out


def packed_sum(
    key: np.ndarray, space: float, values: Sequence[np.ndarray | None]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Distinct keys (sorted) and the sums of `values` per key, in row order.

    Values must be finite (see `summable`); None stands for values that are 0
    everywhere (e.g. exceptions of indicators without them), not summed.
    """
    uniq, inverse = unique_keys(key, space)
    sums = [
        np.zeros(len(uniq))
        if v is None
        else np.bincount(inverse, weights=v, minlength=len(uniq))
        for v in values
    ]
    return uniq, sums


def summable(values: Sequence[np.ndarray]) -> list[np.ndarray | None]:
    """Values for `packed_sum`: missing as 0 (`zero_missing`), None if all 0."""
    out: list[np.ndarray | None] = []
    for v in values:
        clean = zero_missing(v)
        out.append(clean if clean.any() else None)
    return out


def zero_missing(values: np.ndarray) -> np.ndarray:
    """`values` as floats with NaN (and infinities) as `np.nan_to_num` makes them;
    no copy when every value is finite (the usual case)."""
    v = np.asarray(values, dtype=float)
    return v if np.isfinite(v).all() else np.nan_to_num(v)


def unique_keys(key: np.ndarray, space: float) -> tuple[np.ndarray, np.ndarray]:
    """`np.unique(key, return_inverse=True)` for keys in ``range(space)``.

    When the key space is small a presence table replaces the sort.
    """
    if 0 < space <= max(4 * len(key), 1 << 20):
        present = np.zeros(int(space), dtype=bool)
        present[key] = True
        uniq = np.flatnonzero(present)
        rank = np.empty(int(space), dtype=np.int64)
        rank[uniq] = np.arange(len(uniq), dtype=np.int64)
        return uniq.astype(np.int64), rank[key]
    uniq, inverse = np.unique(key, return_inverse=True)
    return uniq, inverse.reshape(-1)


def first_seen(codes: np.ndarray) -> np.ndarray:
    """The distinct values of `codes` in order of first appearance."""
    return np.asarray(pd.unique(np.asarray(codes)), dtype=np.int64)


def _practice_info(
    ids: np.ndarray, practices: pd.DataFrame, commissioners: pd.DataFrame
) -> dict[str, np.ndarray]:
    """Codes and names per practice id in `ids` (defaults for unknown practices)."""
    prac = practices.drop_duplicates("practice_pseudo_id").set_index(
        "practice_pseudo_id"
    )
    prac = prac.reindex(pd.Index(ids))
    code = prac["practice_code"].astype(object)
    fallback = pd.Series(["P" + str(i) for i in ids], index=prac.index, dtype=object)
    comm = prac["commissioner_code"].astype(object).fillna("UNKNOWN")
    comm_names = dict(
        zip(
            commissioners["commissioner_code"],
            commissioners["commissioner_name"],
            strict=False,
        )
    )
    return {
        "practice_code": code.fillna(fallback).astype(str).to_numpy(dtype=object),
        "practice_name": prac["practice_name"]
        .astype(object)
        .fillna("Unknown practice")
        .astype(str)
        .to_numpy(dtype=object),
        "pcn_code": prac["pcn_code"]
        .astype(object)
        .fillna("UNKNOWN")
        .astype(str)
        .to_numpy(dtype=object),
        "pcn_name": prac["pcn_name"]
        .astype(object)
        .fillna("Unknown")
        .astype(str)
        .to_numpy(dtype=object),
        "commissioner_code": comm.astype(str).to_numpy(dtype=object),
        "commissioner_name": comm.map(comm_names)
        .fillna("Unknown")
        .astype(str)
        .to_numpy(dtype=object),
    }


def _pilot_rows(
    unit: np.ndarray,
    units: np.ndarray,
    pilot_sites: pd.DataFrame,
    pilot_members: pd.DataFrame,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows of a pilot's member practices, in every period.

    A pilot area is the set of practices listed for it, applied to every period -
    before and after each practice's start date - as Fingertips recomputes past
    years on current geographies. That gives the pilot a baseline and a pre-period
    trend on the same footing as its results (contract baselines and inequality
    gaps, steering trajectories, dashboards). When each practice joined matters
    elsewhere: the evaluation's treatment timing and the contract's pro-rata
    population read `pilot_site_members.start_date` directly.

    Returns the (repeated) row positions, each one's pilot index, and the pilot
    codes and names by index.
    """
    empty = (
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        np.zeros(0, object),
        np.zeros(0, object),
    )
    if pilot_members.empty:
        return empty
    members = pilot_members[pilot_members["member_type"] == "practice"][
        ["pilot_id", "practice_pseudo_id"]
    ].dropna(subset=["practice_pseudo_id"])
    if members.empty:
        return empty
    # a practice listed twice for one pilot (e.g. left and re-joined) counts once
    members = (
        members.astype({"practice_pseudo_id": "int64", "pilot_id": str})
        .drop_duplicates()
        .reset_index(drop=True)
    )
    names = dict(zip(pilot_sites["pilot_id"], pilot_sites["pilot_name"], strict=False))
    pilot_codes, pilot_of_member = np.unique(
        members["pilot_id"].astype(str).to_numpy(), return_inverse=True
    )
    pilot_names = np.array(
        [str(names.get(c)) if names.get(c) is not None else c for c in pilot_codes],
        dtype=object,
    )
    # rows of each practice code, in row order (one stable sort, not a scan of
    # every row per member)
    narrow = np.int16 if len(units) < 1 << 15 else np.int64  # radix sort
    order = np.argsort(unit.astype(narrow), kind="stable")
    bounds = np.searchsorted(unit[order], np.arange(len(units) + 1))
    code_of = pd.Index(np.asarray(units)).get_indexer(
        pd.Index(members["practice_pseudo_id"].to_numpy())
    )
    take_rows: list[np.ndarray] = []
    take_pilot: list[np.ndarray] = []
    for j, code in enumerate(code_of):
        hit = (
            order[bounds[code] : bounds[code + 1]]
            if code >= 0
            else np.zeros(0, np.int64)
        )
        take_rows.append(hit)
        take_pilot.append(np.full(len(hit), pilot_of_member[j], dtype=np.int64))
    return (
        np.concatenate(take_rows),
        np.concatenate(take_pilot),
        pilot_codes.astype(object),
        pilot_names,
    )
