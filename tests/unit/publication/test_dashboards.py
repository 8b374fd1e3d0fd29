"""Dashboard views: each shows exactly the released figures, with table and CSV."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from carepilot.errors import InputDataError, PermissionDenied, UnsupportedOperation
from carepilot.publication import dashboards as d
from carepilot.publication.results import IndicatorMeta
from carepilot.publication.views import cache_stats, clear_cache

from .builders import META


def _row(results: pd.DataFrame, area: str, indicator: str) -> pd.Series:
    rows = results[
        (results["area_code"] == area)
        & (results["indicator_id"] == indicator)
        & (results["breakdown"] == "total")
    ]
    return rows.sort_values("period_start").iloc[-1]


def test_browser_groups_by_domain(released: pd.DataFrame) -> None:
    view = d.indicator_browser(released, META)
    assert view.extra["domains"] == ["cardiovascular", "hospital"]
    bp = view.data.set_index("indicator_id").loc["bp-control"]
    assert bp["england_value"] == pytest.approx(
        _row(released, "E92000001", "bp-control")["value"]
    )
    assert bp["latest_period"] == "2023 Q3"


def test_profile_spine_is_centred_on_england(released: pd.DataFrame) -> None:
    view = d.area_profile(released, "A81001", meta=META)
    data = view.data.set_index("indicator_id")
    for indicator in ("bp-control", "ae-rate"):
        row = _row(released, "A81001", indicator)
        assert data.loc[indicator, "value"] == pytest.approx(row["value"])
        assert data.loc[indicator, "benchmark"] == pytest.approx(
            _row(released, "E92000001", indicator)["value"]
        )
        assert data.loc[indicator, "comparison"] == row["comparison"]
    assert ((view.data[["worst", "best", "position"]].abs() <= 1 + 1e-9).all()).all()
    # better is to the right: a lower-is-better value below England is positive
    ae = data.loc["ae-rate"]
    assert np.sign(ae["position"]) == np.sign(ae["benchmark"] - ae["value"])
    bp = data.loc["bp-control"]
    assert np.sign(bp["position"]) == np.sign(bp["value"] - bp["benchmark"])
    assert view.spec is not None and "layer" in view.spec


def test_view_table_and_csv_show_exactly_the_chart_data(
    released: pd.DataFrame,
) -> None:
    view = d.compare_bar(released, "bp-control", meta=META)
    assert len(view.data) == 4
    # Chart rows are named datasets (`charts._data`); the first is the bars'.
    values = next(iter(view.spec["datasets"].values()))
    assert sorted(v["value"] for v in values) == pytest.approx(
        sorted(view.data["value"])
    )
    csv = pd.read_csv(io.StringIO(view.csv()))
    assert list(csv.columns) == list(view.columns.values())
    assert csv["Value"].to_numpy() == pytest.approx(
        view.data["value"].to_numpy(), rel=1e-5
    )
    html = view.table_html()
    assert html.count('<th scope="row"') == 4 and "<caption" in html
    assert "Riverside Surgery" in html
    assert view.svg().startswith("<svg")


def test_tartan_rug_has_every_area_and_indicator(released: pd.DataFrame) -> None:
    view = d.tartan_rug(released, "practice", meta=META)
    assert len(view.data) == 2 * (4 + 1)  # practices + England per indicator
    assert set(view.data["comparison"]) <= {
        "better",
        "similar",
        "worse",
        "not compared",
    }


def test_funnel_limits_nest_and_classify(released: pd.DataFrame) -> None:
    view = d.funnel(released, "bp-control", area_type="pcn", meta=META)
    lim = view.extra["limits"].pivot_table(
        index="denominator", columns="limit", values="value"
    )
    lim = lim.dropna()
    assert (lim["lower_3s"] <= lim["lower_2s"]).all()
    assert (lim["lower_2s"] <= lim["baseline"]).all()
    assert (lim["baseline"] <= lim["upper_2s"]).all()
    assert (lim["upper_2s"] <= lim["upper_3s"]).all()
    assert set(view.data["funnel"]) <= {
        "High (0.001)",
        "High (0.025)",
        "Low (0.001)",
        "Low (0.025)",
        "Not significant",
    }
    rate = d.funnel(released, "ae-rate", meta=META)
    assert len(rate.data) == 4


def test_funnel_refuses_unsupported_value_types(released: pd.DataFrame) -> None:
    meta = dict(META)
    meta["ae-rate"] = IndicatorMeta(id="ae-rate", title="x", value_type="mean")
    with pytest.raises(UnsupportedOperation, match="mean"):
        d.funnel(released, "ae-rate", meta=meta)


def _nested(view: d.View) -> None:
    lim = view.extra["limits"].pivot_table(
        index="denominator", columns="limit", values="value"
    )
    # each limit line has its own x grid for rates/ratios: compare by interpolation
    grid = view.extra["limits"]
    xs = np.linspace(grid["denominator"].min(), grid["denominator"].max(), 50)[5:-5]

    def at(name: str) -> np.ndarray:
        line = grid[grid["limit"] == name].sort_values("denominator")
        return np.interp(xs, line["denominator"], line["value"])

    assert len(lim) > 0
    assert (at("lower_3s") <= at("lower_2s") + 1e-9).all()
    assert (at("lower_2s") <= at("baseline") + 1e-9).all()
    assert (at("baseline") <= at("upper_2s") + 1e-9).all()
    assert (at("upper_2s") <= at("upper_3s") + 1e-9).all()


def test_funnel_for_directly_standardised_rates(released: pd.DataFrame) -> None:
    meta = dict(META)
    meta["ae-rate"] = IndicatorMeta(
        id="ae-rate", title="x", value_type="dsr", multiplier=1000.0
    )
    view = d.funnel(released, "ae-rate", meta=meta)
    _nested(view)
    rows = released[
        (released["indicator_id"] == "ae-rate")
        & (released["area_type"] == "practice")
        & (released["breakdown"] == "total")
        & (released["period_start"] == released["period_start"].max())
    ].set_index("area_name")
    for point in view.data.itertuples():
        row = rows.loc[point.area_name]
        # x = multiplier x events / DSR / years (PHE calculate_funnel_points)
        assert point.denominator == pytest.approx(
            1000.0 * row["numerator"] / row["value"] / 0.25
        )
    assert set(view.data["funnel"]) <= {
        "High (0.001)",
        "High (0.025)",
        "Low (0.001)",
        "Low (0.025)",
        "Not significant",
        "Not applicable for events less than 10 for dsrs",
    }


def test_funnel_for_indirectly_standardised_ratios(released: pd.DataFrame) -> None:
    meta = dict(META)
    meta["bp-control"] = IndicatorMeta(
        id="bp-control", title="x", value_type="isr", multiplier=100.0
    )
    view = d.funnel(released, "bp-control", area_type="pcn", meta=meta)
    _nested(view)
    baseline = view.extra["limits"]
    assert (baseline.loc[baseline["limit"] == "baseline", "value"] == 100).all()
    first = view.data.iloc[0]
    # x = expected events = 100 x observed / ISR
    assert first["denominator"] == pytest.approx(
        100 * first["numerator"] / first["value"]
    )
    assert len(view.data) == 2


def test_trend_has_area_england_and_target(released: pd.DataFrame) -> None:
    view = d.trends(released, "bp-control", "PIL01", meta=META)
    kinds = view.data.groupby("kind").size().to_dict()
    assert kinds == {"area": 6, "benchmark": 6, "target": 6}
    target = view.data[view.data["kind"] == "target"].sort_values("period_start")
    area = view.data[view.data["kind"] == "area"].sort_values("period_start")
    assert target["value"].iloc[0] == pytest.approx(area["value"].iloc[0])
    assert target["value"].iloc[-1] == pytest.approx(80.0)
    custom = d.trends(released, "bp-control", "PIL01", target=90.0, meta=META)
    assert custom.data["value"].max() == pytest.approx(90.0)


def test_public_views_refuse_unreleased_results(raw: pd.DataFrame) -> None:
    with pytest.raises(PermissionDenied):
        d.compare_bar(raw, "bp-control", meta=META)
    internal = d.compare_bar(raw, "bp-control", meta=META, public=False)
    assert len(internal.data) == 4


def test_public_views_hide_suppressed_figures(released: pd.DataFrame) -> None:
    frame = released.copy()
    hit = (frame["area_code"] == "A81003") & (frame["breakdown"] == "total")
    frame.loc[hit, "suppressed"] = True
    view = d.compare_bar(frame, "bp-control", meta=META)
    row = view.data.set_index("area_code").loc["A81003"]
    assert np.isnan(row["value"]) and np.isnan(row["numerator"])
    assert row["comparison"] == "not compared"


def test_views_are_cached_by_checksum(released: pd.DataFrame) -> None:
    clear_cache()
    before = dict(cache_stats)
    first = d.area_profile(released, "A81002", meta=META)
    second = d.area_profile(released.copy(), "A81002", meta=META)
    assert first is second
    assert cache_stats["hits"] == before["hits"] + 1
    changed = released.copy()
    changed.loc[0, "value"] = 1.0
    assert d.area_profile(changed, "A81002", meta=META) is not first


def test_unknown_area_is_named(released: pd.DataFrame) -> None:
    with pytest.raises(InputDataError, match="ZZZ"):
        d.area_profile(released, "ZZZ", meta=META)
