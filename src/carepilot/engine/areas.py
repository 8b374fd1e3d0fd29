"""Roll practice-level aggregates up the area hierarchy.

practice → pcn → commissioner → national, plus pilot sites (member practices
from their start date) → national. Children add up to their parent by
construction: every level is a sum of the same practice rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from carepilot.indicators.periods import Period

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
    periods: Sequence[Period],
) -> pd.DataFrame:
    """Aggregate practice rows to every area level.

    Args:
        practice_rows: rows with `practice_pseudo_id`, `keys` and `measures`.
        keys: other grouping columns (period_id, breakdown, category, ...).
        measures: summed columns.
        practices, commissioners, pilot_sites, pilot_members: organisation tables.
        periods: the periods (pilot membership is checked per period).

    Returns:
        Rows with `area_type`, `area_code`, `area_name`, `parent_area_code`,
        `keys` and `measures`.
    """
    prac = practices[
        [
            "practice_pseudo_id",
            "practice_code",
            "practice_name",
            "pcn_code",
            "pcn_name",
            "commissioner_code",
        ]
    ]
    rows = practice_rows.merge(prac, on="practice_pseudo_id", how="left")
    rows["practice_code"] = rows["practice_code"].fillna(
        "P" + rows["practice_pseudo_id"].astype(str)
    )
    rows["practice_name"] = rows["practice_name"].fillna("Unknown practice")
    rows["pcn_code"] = rows["pcn_code"].fillna("UNKNOWN")
    rows["pcn_name"] = rows["pcn_name"].fillna("Unknown")
    rows["commissioner_code"] = rows["commissioner_code"].fillna("UNKNOWN")
    comm_names = dict(
        zip(
            commissioners["commissioner_code"],
            commissioners["commissioner_name"],
            strict=False,
        )
    )
    frames: list[pd.DataFrame] = []

    def level(
        df: pd.DataFrame, code: str, name: str, parent: str | None, area_type: str
    ) -> None:
        group_cols = [code, *keys]
        extra = [c for c in (name, parent) if c is not None and c != code]
        agg = df.groupby(group_cols, sort=False, dropna=False).agg(
            **{m: (m, "sum") for m in measures},
            **{c: (c, "first") for c in extra},
        )
        agg = agg.reset_index()
        out = pd.DataFrame(
            {
                "area_type": area_type,
                "area_code": agg[code].astype(str),
                "area_name": agg[name].astype(str) if name in agg else agg[code],
                "parent_area_code": agg[parent] if parent is not None else None,
            }
        )
        for k in keys:
            out[k] = agg[k].to_numpy()
        for m in measures:
            out[m] = agg[m].to_numpy()
        frames.append(out)

    level(rows, "practice_code", "practice_name", "pcn_code", "practice")
    level(rows, "pcn_code", "pcn_name", "commissioner_code", "pcn")
    rows["_comm_name"] = rows["commissioner_code"].map(comm_names).fillna("Unknown")
    rows["_national"] = NATIONAL_CODE
    level(rows, "commissioner_code", "_comm_name", "_national", "commissioner")
    rows["_national_name"] = NATIONAL_NAME
    level(rows, "_national", "_national_name", None, "national")

    pilot = _pilot_rows(rows, pilot_sites, pilot_members, periods)
    if not pilot.empty:
        pilot["_national"] = NATIONAL_CODE
        level(pilot, "pilot_id", "pilot_name", "_national", "pilot")
    out = pd.concat(frames, ignore_index=True)
    out.loc[out["area_type"] == "national", "parent_area_code"] = None
    return out


def _pilot_rows(
    rows: pd.DataFrame,
    pilot_sites: pd.DataFrame,
    pilot_members: pd.DataFrame,
    periods: Sequence[Period],
) -> pd.DataFrame:
    if pilot_members.empty or "period_id" not in rows:
        return pd.DataFrame()
    members = pilot_members[pilot_members["member_type"] == "practice"][
        ["pilot_id", "practice_pseudo_id", "start_date"]
    ].dropna(subset=["practice_pseudo_id"])
    if members.empty:
        return pd.DataFrame()
    members = members.astype({"practice_pseudo_id": "int64"})
    names = pilot_sites[["pilot_id", "pilot_name"]]
    members = members.merge(names, on="pilot_id", how="left")
    members["pilot_name"] = members["pilot_name"].fillna(members["pilot_id"])
    joined = rows.merge(members, on="practice_pseudo_id", how="inner")
    starts = pd.Series([p.start for p in periods])
    period_start = joined["period_id"].map(starts)
    member_start = joined["start_date"].map(_as_date)
    # A practice counts for a pilot in periods starting on or after it joined.
    active = [ps >= ms for ps, ms in zip(period_start, member_start, strict=True)]
    return joined[active].copy()


def _as_date(value: object) -> dt.date:
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    assert isinstance(value, dt.date)
    return value
