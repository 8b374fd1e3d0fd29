"""Roll practice-level aggregates up the area hierarchy.

practice → pcn → commissioner → national, plus pilot sites (member practices
from their start date) → national. Children add up to their parent by
construction: every level is a sum of the same practice rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from carepilot.engine.frames import categorical, constant, stack

NATIONAL_CODE = "national"
NATIONAL_NAME = "National"
AREA_TYPES = ("national", "commissioner", "pcn", "practice", "pilot")


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
    """Aggregate practice rows to every area level.

    Every level is one `groupby(...).sum()` on small integer codes (text keys
    are factorised once, area codes are looked up per practice), and names and
    parents are attached per area afterwards - not carried through the group-by
    as `first` aggregations, which dominated the old run time.

    Args:
        practice_rows: rows with `practice_pseudo_id`, `keys` and `measures`.
        keys: other grouping columns (period_id, breakdown, category, ...).
        measures: summed columns.
        practices, commissioners, pilot_sites, pilot_members: organisation tables.
        small_areas: which practice rows the practice and PCN levels use (None:
            all). Rows a run does not report for practices and PCNs (their
            breakdowns other than the total) are then never grouped there.

    Returns:
        Rows with `area_type`, `area_code`, `area_name`, `parent_area_code`,
        `keys` and `measures`.
    """
    work = pd.DataFrame(index=range(len(practice_rows)))
    decode: dict[str, pd.Index] = {}
    for k in keys:
        col = practice_rows[k]
        codes, uniques = pd.factorize(col, use_na_sentinel=False)
        work[k] = codes
        decode[k] = pd.Index(uniques)
    for m in measures:
        work[m] = practice_rows[m].to_numpy()
    pid = practice_rows["practice_pseudo_id"].to_numpy()
    ids, pidx = np.unique(pid, return_inverse=True)
    org = _practice_info(ids, practices, commissioners)

    frames: list[pd.DataFrame] = []

    def level(
        rows: pd.DataFrame,
        area_of_row: np.ndarray,
        area_codes: np.ndarray,
        names: np.ndarray,
        parents: np.ndarray | None,
        area_type: str,
    ) -> None:
        if rows.empty:
            return
        area, codes, sums = group_sum(
            [area_of_row, *(rows[k].to_numpy() for k in keys)],
            [len(area_codes), *(len(decode[k]) for k in keys)],
            [rows[m].to_numpy() for m in measures],
        )
        out: dict[str, object] = {
            "area_type": constant(area_type, len(area)),
            "area_code": categorical(area_codes, area),
            "area_name": categorical(names, area),
            "parent_area_code": categorical(
                parents if parents is not None else np.array([None], dtype=object),
                area if parents is not None else np.zeros(len(area), dtype=np.int64),
            ),
        }
        for k, c in zip(keys, codes, strict=True):
            values = decode[k]
            out[k] = (
                values.to_numpy()[c]
                if values.dtype.kind in "biuf"
                else categorical(values.to_numpy(dtype=object), c)
            )
        for m, v in zip(measures, sums, strict=True):
            out[m] = v
        frames.append(pd.DataFrame(out))

    small = (
        (work, pidx)
        if small_areas is None
        else (work[small_areas].reset_index(drop=True), pidx[small_areas])
    )
    level(
        small[0],
        small[1],
        org["practice_code"],
        org["practice_name"],
        org["pcn_code"],
        "practice",
    )
    for code, name, parent, area_type in (
        ("pcn_code", "pcn_name", "commissioner_code", "pcn"),
        ("commissioner_code", "commissioner_name", None, "commissioner"),
    ):
        # Per area: its name and parent from the first practice (row order).
        first = pd.DataFrame(org).iloc[_first_seen(pidx)].drop_duplicates(code)
        codes = first[code].to_numpy()
        lookup = pd.Index(codes).get_indexer(pd.Index(org[code]))
        parents = (
            first[parent].to_numpy()
            if parent is not None
            else np.full(len(codes), NATIONAL_CODE, dtype=object)
        )
        rows, of_row = small if area_type == "pcn" else (work, pidx)
        level(rows, lookup[of_row], codes, first[name].to_numpy(), parents, area_type)
    one = np.array([NATIONAL_CODE], dtype=object)
    level(
        work,
        np.zeros(len(work), dtype=np.int64),
        one,
        np.array([NATIONAL_NAME], dtype=object),
        None,
        "national",
    )

    pilot_rows, pilot_area, pilot_codes, pilot_names = _pilot_rows(
        work, pid, practice_rows, pilot_sites, pilot_members
    )
    level(
        pilot_rows,
        pilot_area,
        pilot_codes,
        pilot_names,
        np.full(len(pilot_codes), NATIONAL_CODE, dtype=object),
        "pilot",
    )
    if not frames:
        return pd.DataFrame(
            columns=[
                "area_type",
                "area_code",
                "area_name",
                "parent_area_code",
                *keys,
                *measures,
            ]
        )
    return stack(frames)


def group_sum(
    codes: Sequence[np.ndarray], sizes: Sequence[int], values: Sequence[np.ndarray]
) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Sum `values` by the combination of integer `codes` (a fast group-by).

    The codes (each in ``range(size)``) are packed into one int64 key by mixed
    radix, grouped with `np.unique` and summed with `np.bincount` - several times
    faster than a pandas multi-key group-by on these small-cardinality keys.
    Missing values count as 0, as in `pandas.DataFrame.sum`.

    Returns:
        The first code of each group, the remaining codes, and the sums.
    """
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for c, n in zip(codes, sizes, strict=True):
        key = key * max(n, 1) + np.asarray(c, dtype=np.int64)
    uniq, inverse = _unique(key, int(np.prod([max(n, 1) for n in sizes], dtype=float)))
    sums = [
        np.bincount(
            inverse,
            weights=np.nan_to_num(np.asarray(v, dtype=float)),
            minlength=len(uniq),
        )
        for v in values
    ]
    out: list[np.ndarray] = []
    rest = uniq
    for n in reversed(sizes):
        out.append(rest % max(n, 1))
        rest = rest // max(n, 1)
    out.reverse()
    return out[0], out[1:], sums


def _unique(key: np.ndarray, space: float) -> tuple[np.ndarray, np.ndarray]:
    """`np.unique(key, return_inverse=True)` for keys in ``range(space)``.

    When the key space is small a presence table replaces the sort.
    """
    if 0 < space <= max(4 * len(key), 1 << 20):
        present = np.zeros(int(space), dtype=bool)
        present[key] = True
        uniq = np.flatnonzero(present)
        rank = np.cumsum(present, dtype=np.int64) - 1
        return uniq.astype(np.int64), rank[key]
    uniq, inverse = np.unique(key, return_inverse=True)
    return uniq, inverse.reshape(-1)


def _first_seen(inverse: np.ndarray) -> np.ndarray:
    """Indices of the unique values of `inverse`, in order of first appearance."""
    _, first = np.unique(inverse, return_index=True)
    return np.argsort(first, kind="stable")


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
    work: pd.DataFrame,
    pid: np.ndarray,
    practice_rows: pd.DataFrame,
    pilot_sites: pd.DataFrame,
    pilot_members: pd.DataFrame,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Rows of a pilot's member practices, in every period.

    A pilot area is the set of practices listed for it, applied to every period -
    before and after each practice's start date - as Fingertips recomputes past
    years on current geographies. That gives the pilot a baseline and a pre-period
    trend on the same footing as its results (contract baselines and inequality
    gaps, steering trajectories, dashboards). When each practice joined matters
    elsewhere: the evaluation's treatment timing and the contract's pro-rata
    population read `pilot_site_members.start_date` directly.

    Returns the (repeated) rows, each row's pilot index, and the pilot codes and
    names by index.
    """
    empty = (
        work.iloc[:0],
        np.zeros(0, np.int64),
        np.zeros(0, object),
        np.zeros(0, object),
    )
    if pilot_members.empty or "period_id" not in practice_rows:
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
    member_pid = members["practice_pseudo_id"].to_numpy()
    take_rows: list[np.ndarray] = []
    take_pilot: list[np.ndarray] = []
    for j in range(len(members)):
        hit = np.flatnonzero(pid == member_pid[j])
        take_rows.append(hit)
        take_pilot.append(np.full(len(hit), pilot_of_member[j], dtype=np.int64))
    rows_idx = np.concatenate(take_rows)
    return (
        work.iloc[rows_idx].reset_index(drop=True),
        np.concatenate(take_pilot),
        pilot_codes.astype(object),
        pilot_names,
    )
