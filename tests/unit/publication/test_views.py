"""Partitioned results: each view reads only its slice of the published table.

Page speed is guarded by counting rows, not by timing: `views.rows_touched` adds
the rows each view is handed, so a view that goes back to filtering the whole
prepared table (`prepare`/`totals`) makes these tests fail on any machine.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from carepilot.publication import choice, dashboards, inequalities, views
from carepilot.publication.results import public_rows
from carepilot.publication.views import Partitioned, View

from .builders import META, PILOT


def _many_indicators(released: pd.DataFrame, copies: int = 12) -> pd.DataFrame:
    """The fixture's indicators repeated under new ids (same released counts), so
    that any one view's slice is a small part of the table."""
    parts = [released]
    for k in range(1, copies):
        part = released.copy()
        part["indicator_id"] = part["indicator_id"] + f"-{k}"
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _key(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    cols = ["indicator_id", "area_code", "breakdown", "category", "period_start"]
    return sorted(frame[cols].itertuples(index=False, name=None))


def test_slices_hold_exactly_the_filtered_rows(released: pd.DataFrame) -> None:
    prepared = public_rows(released)
    idx = Partitioned(prepared)
    assert idx.size == len(prepared)
    for (ind, kind, breakdown), part in prepared.groupby(
        ["indicator_id", "area_type", "breakdown"]
    ):
        periods = idx.periods(str(ind), str(kind), str(breakdown))
        assert list(periods) == sorted(set(part["period_start"]))
        for period in periods:
            want = part[part["period_start"] == period]
            got = idx.rows(str(ind), str(kind), period, str(breakdown))
            assert _key(got) == _key(want)
            # Same figures, not only the same keys.
            merged = got.merge(want, on=list(prepared.columns[:12]), how="outer")
            assert len(merged) == len(want)
        everything = idx.rows(str(ind), str(kind), None, str(breakdown))
        assert _key(everything) == _key(part)
    for (code, ind), part in prepared.groupby(["area_code", "indicator_id"]):
        assert _key(idx.area(str(code), str(ind))) == _key(part)
    for code, part in prepared[prepared["breakdown"] == "total"].groupby("area_code"):
        assert _key(idx.area(str(code))) == _key(part)
    assert idx.rows("no-such-indicator", "practice").empty
    assert idx.area("no-such-area").empty
    assert (
        idx.area_count("bp-control")
        == prepared.loc[
            (prepared["indicator_id"] == "bp-control")
            & (prepared["breakdown"] == "total"),
            "area_code",
        ].nunique()
    )


def test_whole_table_access_is_counted(released: pd.DataFrame) -> None:
    """The guard can fail: handing a view the whole table counts every row."""
    views.clear_cache()
    views.rows_touched["rows"] = 0
    views.prepare(released, True)
    assert views.rows_touched["rows"] == len(released)


def _practices() -> pd.DataFrame:
    from .builders import PRACTICES

    return pd.DataFrame(
        [
            {
                "practice_code": code,
                "practice_name": name,
                "latitude": lat,
                "longitude": lon,
            }
            for code, (name, _, lat, lon) in PRACTICES.items()
        ]
    )


VIEWS: dict[str, Callable[[pd.DataFrame], object]] = {
    "browser": lambda r: dashboards.indicator_browser(r, META),
    "profile": lambda r: dashboards.area_profile(r, "A81001", None, META),
    "bar": lambda r: dashboards.compare_bar(r, "bp-control", "practice", None, None),
    "tartan": lambda r: dashboards.tartan_rug(r, "practice", None, META),
    "funnel": lambda r: dashboards.funnel(r, "bp-control", "practice", None, META),
    "trends": lambda r: dashboards.trends(r, "bp-control", PILOT[0], meta=META),
    "breakdown": lambda r: inequalities.breakdown_view(
        r, "bp-control", "E92000001", "imd_decile", None, META
    ),
    "gap": lambda r: inequalities.gap_over_time(
        r, "bp-control", "E92000001", "imd_decile", META
    ),
    "choice": lambda r: choice.nearby_practices(
        r, _practices(), 54.55, -1.4, 50.0, 10, META, {"care": ("bp-control",)}
    ),
}


@pytest.mark.parametrize("name", list(VIEWS))
def test_views_touch_only_their_slice(released: pd.DataFrame, name: str) -> None:
    table = _many_indicators(released)
    views.clear_cache()
    views.partitioned(table, True)  # built once at start-up (warm-up)
    views.rows_touched["rows"] = 0
    shown = VIEWS[name](table)
    touched = views.rows_touched["rows"]
    assert touched > 0
    # The largest legitimate slice (the area profile: one area's totals for
    # every indicator, plus its peers and England) is under 3% of this table;
    # one pass over the prepared table would be 100%.
    assert touched <= 0.03 * len(table), (name, touched, len(table))
    if isinstance(shown, View):
        assert len(shown.data) > 0
