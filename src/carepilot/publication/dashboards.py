"""Dashboard views over the results table: browser, area profile, compare, trends.

Each function is pure over the results table (plus indicator metadata) and returns
a `View` (chart spec, the exact rows it shows, accessible table, CSV). With
``public=True`` (the default) the table must be disclosure controlled and
suppressed rows carry no figures. Inequality views are in `inequalities`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from carepilot.errors import InputDataError, UnsupportedOperation
from carepilot.publication import charts
from carepilot.publication.goals import goals_by_indicator
from carepilot.publication.periods import months_between, period_label
from carepilot.publication.results import IndicatorMeta, meta_for_ids
from carepilot.publication.views import Partitioned, View, cached, partitioned
from carepilot.stats.funnels import (
    assign_funnel_significance,
    calculate_funnel_limits,
    calculate_funnel_points,
)

Meta = Mapping[str, IndicatorMeta] | None

VALUE_COLUMNS = {
    "value": "Value",
    "lower_ci_95": "Lower 95% CI",
    "upper_ci_95": "Upper 95% CI",
}


def _latest(periods: Sequence[dt.date], period: dt.date | None) -> dt.date:
    if not periods:
        raise InputDataError("no results rows match the request")
    if period is None:
        return max(periods)
    if period not in periods:
        raise InputDataError(
            f"no results for period starting {period}; periods start on "
            f"{', '.join(sorted(str(p) for p in periods))}"
        )
    return period


BENCHMARK_KEYS = ["indicator_id", "period_start", "breakdown", "category"]


def _benchmarks(
    idx: Partitioned, wanted: Sequence[tuple[str, dt.date]], breakdown: str = "total"
) -> pd.DataFrame:
    """England's rows for these (indicator, period start) pairs."""
    nat = idx.rows_many([(i, "national", p) for i, p in wanted], breakdown)
    return nat[[*BENCHMARK_KEYS, "value"]].rename(columns={"value": "benchmark"})


@cached
def indicator_browser(
    results: pd.DataFrame, meta: Meta = None, public: bool = True
) -> View:
    """Every indicator by domain with its latest England value and coverage."""
    idx = partitioned(results, public)
    info = meta_for_ids(idx.indicators, meta)
    rows = []
    for indicator_id in idx.indicators:
        m = info[indicator_id]
        periods = idx.periods(indicator_id)
        if not periods:
            continue
        latest = periods[-1]
        nat = idx.rows(indicator_id, "national", latest)
        rows.append(
            {
                "domain": m.domain,
                "indicator_id": m.id,
                "title": m.title,
                "latest_period": period_label(
                    latest, idx.period_end(indicator_id, latest)
                ),
                "england_value": float(nat["value"].iloc[0]) if len(nat) else np.nan,
                "unit": m.unit,
                "areas": idx.area_count(indicator_id),
            }
        )
    data = pd.DataFrame(rows).sort_values(["domain", "title"]).reset_index(drop=True)
    return View(
        key="indicator-browser",
        title="Indicators by domain",
        summary="Every published indicator, grouped by domain, with the latest "
        "value for England.",
        data=data,
        columns={
            "domain": "Domain",
            "title": "Indicator",
            "latest_period": "Latest period",
            "england_value": "England value",
            "unit": "Unit",
            "areas": "Areas",
        },
        extra={"domains": sorted(data["domain"].unique().tolist())},
    )


def _spine_positions(
    area: pd.DataFrame,
    peers: Mapping[str, np.ndarray],
    polarity: Mapping[str, str],
    goals: Mapping[str, float | None] | None = None,
) -> pd.DataFrame:
    """Fingertips spine scaling: benchmark at 0, furthest area at +/-1, better right.

    `peers` holds each indicator's values of the areas of the same type; a goal
    (`goals`) is placed on the same scale, held at the chart's edge when it lies
    beyond every area (``goal_position``, NaN without a goal)."""
    goals = goals or {}
    out = []
    for _, row in area.iterrows():
        vals = peers.get(str(row["indicator_id"]), np.zeros(0))
        vals = vals[~np.isnan(vals)]
        bench = row["benchmark"]
        if len(vals) == 0 or np.isnan(bench):
            continue
        half = max(abs(vals.max() - bench), abs(vals.min() - bench), 1e-12)
        sign = -1.0 if polarity[row["indicator_id"]] == "lower_is_better" else 1.0

        def pos(x: float, s: float = sign, h: float = half, b: float = bench) -> float:
            return float(s * (x - b) / h)

        lo, q25, q75, hi = np.percentile(vals, [0, 25, 75, 100])
        ends = sorted([pos(lo), pos(hi)])
        quarts = sorted([pos(q25), pos(q75)])
        out.append(
            {
                **row.to_dict(),
                "worst": ends[0],
                "best": ends[1],
                "q25": quarts[0],
                "q75": quarts[1],
                "area_min": lo,
                "area_max": hi,
                "position": pos(row["value"]) if not np.isnan(row["value"]) else np.nan,
                "goal_position": _goal_position(goals.get(row["indicator_id"]), pos),
            }
        )
    return pd.DataFrame(out)


def _goal_position(goal: float | None, pos: Callable[[float], float]) -> float:
    if goal is None or math.isnan(goal):
        return math.nan
    return float(np.clip(pos(goal), -GOAL_EDGE, GOAL_EDGE))


GOAL_EDGE = 1.05
"""Spine scale limit (the chart's domain): goals further out are drawn there."""


def _with_goals(data: pd.DataFrame, info: Mapping[str, IndicatorMeta]) -> pd.DataFrame:
    """Add ``target`` (the goal, NaN without one), ``target_minimum`` (the
    minimum standard, NaN without one) and ``goal`` (compared to them)."""
    metas = [info[str(i)] for i in data["indicator_id"]]
    return data.assign(
        target=[np.nan if m.target is None else float(m.target) for m in metas],
        target_minimum=[
            np.nan if m.target_minimum is None else float(m.target_minimum)
            for m in metas
        ],
        goal=goals_by_indicator(data["indicator_id"], data["value"], info),
    )


def _goal_columns(data: pd.DataFrame) -> dict[str, str]:
    """Goal columns of the table, when any indicator shown has a goal."""
    if not data["target"].notna().any():
        return {}
    minimum = {"target_minimum": "Minimum standard"}
    return {
        "target": "Goal",
        **(minimum if data["target_minimum"].notna().any() else {}),
        "goal": "Compared with goal",
    }


GOAL_SENTENCE = (
    " A diamond marks the indicator's goal: green where this area meets it, amber "
    "where it meets only the indicator's minimum standard, red where it does not."
)


@cached
def area_profile(
    results: pd.DataFrame,
    area_code: str,
    period: dt.date | None = None,
    meta: Meta = None,
    public: bool = True,
) -> View:
    """One area against England on every indicator: the Fingertips spine chart.

    For each indicator the latest period (or `period`) is shown: count, value,
    95 % interval, England value, significance, and the range of values across
    areas of the same type (worst, 25th-75th percentile, best).
    """
    idx = partitioned(results, public)
    info = meta_for_ids(idx.indicators, meta)
    area = idx.area(area_code)
    if area.empty:
        raise InputDataError(f"no results for area `{area_code}`")
    area_type = str(area["area_type"].iloc[0])
    latest = area.groupby("indicator_id")["period_start"].transform("max")
    area = area[area["period_start"] == (period or latest)]
    wanted = list(
        dict.fromkeys(zip(area["indicator_id"], area["period_start"], strict=True))
    )
    area = area.merge(_benchmarks(idx, wanted), how="left", on=BENCHMARK_KEYS)
    peers = {i: idx.values(i, area_type, p) for i, p in wanted}
    polarity = {k: v.polarity for k, v in info.items()}
    goals = {k: v.target for k, v in info.items()}
    data = _spine_positions(area, peers, polarity, goals)
    if data.empty:
        raise InputDataError(f"area `{area_code}` has no comparable values")
    data = _with_goals(data, info)
    has_goals = bool(data["target"].notna().any())
    data["indicator"] = [info[i].title for i in data["indicator_id"]]
    data["period"] = [
        period_label(s, e)
        for s, e in zip(data["period_start"], data["period_end"], strict=True)
    ]
    data = data.sort_values(["indicator"]).reset_index(drop=True)
    name = str(area["area_name"].iloc[0])
    return View(
        key=f"profile-{area_code}",
        title=f"{name}: area profile",
        summary=f"{name} compared with England. The red line is England; the dark "
        "band covers the middle half of areas of the same type; the circle is this "
        "area, right = better." + (GOAL_SENTENCE if has_goals else ""),
        data=data,
        columns={
            "indicator": "Indicator",
            "period": "Period",
            "numerator": "Count",
            "value": "Value",
            "lower_ci_95": "Lower 95% CI",
            "upper_ci_95": "Upper 95% CI",
            "benchmark": "England",
            "area_min": "Lowest area",
            "area_max": "Highest area",
            "comparison": "Compared with England",
            **_goal_columns(data),
        },
        spec=charts.spine_chart(data, f"{name} compared with England"),
    )


def _indicator_rows(
    idx: Partitioned,
    indicator_id: str,
    area_type: str,
    period: dt.date | None,
    parent: str | None,
) -> pd.DataFrame:
    periods = idx.periods(indicator_id)
    if not periods:
        raise InputDataError(f"no results for indicator `{indicator_id}`")
    when = _latest(periods, period)
    rows = idx.rows(indicator_id, area_type, when)
    if parent is not None:
        rows = rows[rows["parent_area_code"] == parent]
    if rows.empty:
        raise InputDataError(
            f"indicator `{indicator_id}` has no `{area_type}` rows for {when}"
        )
    bench = _benchmarks(idx, [(indicator_id, when)])
    return rows.merge(bench, how="left", on=BENCHMARK_KEYS)


@cached
def compare_bar(
    results: pd.DataFrame,
    indicator_id: str,
    area_type: str = "practice",
    period: dt.date | None = None,
    parent: str | None = None,
    meta: Meta = None,
    public: bool = True,
) -> View:
    """Areas of one type as bars with 95 % intervals and the England line."""
    idx = partitioned(results, public)
    m = meta_for_ids(idx.indicators, meta)[indicator_id]
    data = _indicator_rows(idx, indicator_id, area_type, period, parent)
    data = data.sort_values("value", ascending=False).reset_index(drop=True)
    return View(
        key=f"bar-{indicator_id}-{area_type}",
        title=f"{m.title}: {area_type} comparison",
        summary="Each bar is an area; the black lines are 95% confidence intervals "
        "and the dashed line is England. Colour shows whether the area is "
        "significantly better, similar or worse than England.",
        data=data,
        columns={
            "area_name": "Area",
            "area_code": "Code",
            "numerator": "Count",
            "denominator": "Denominator",
            **VALUE_COLUMNS,
            "benchmark": "England",
            "comparison": "Compared with England",
        },
        spec=charts.bar_chart(data, m.title, m.unit),
    )


@cached
def tartan_rug(
    results: pd.DataFrame,
    area_type: str = "practice",
    indicator_ids: Sequence[str] | None = None,
    meta: Meta = None,
    public: bool = True,
    colour_by: str = "england",
) -> View:
    """Areas x indicators (latest period of each) coloured by significance.

    ``colour_by="goal"`` colours each cell by its indicator's goal instead
    (Fingertips "compared to goal"; grey where the indicator has none). The table
    always carries both comparisons when any indicator has a goal.
    """
    if colour_by not in ("england", "goal"):
        raise InputDataError(
            f"tartan rug colour `{colour_by}` is not `england` or `goal`"
        )
    idx = partitioned(results, public)
    info = meta_for_ids(idx.indicators, meta)
    keys: list[tuple[str, str, dt.date]] = []
    for indicator_id in indicator_ids if indicator_ids is not None else idx.indicators:
        kinds = list(dict.fromkeys([area_type, "national"]))
        periods = [p for k in kinds for p in idx.periods(indicator_id, k)]
        if periods:
            keys += [(indicator_id, k, max(periods)) for k in kinds]
    data = idx.rows_many(keys)
    if data.empty:
        raise InputDataError(f"no `{area_type}` results to compare")
    data = data.copy()
    data["indicator"] = [info[i].title for i in data["indicator_id"]]
    data["label"] = [("-" if np.isnan(v) else f"{v:.1f}") for v in data["value"]]
    data = _with_goals(data, info)
    has_goals = bool(data["target"].notna().any())
    if colour_by == "goal" and not has_goals:
        raise InputDataError(
            "no indicator on this tartan rug has a goal; colour it by England"
        )
    data = data.sort_values(["indicator", "area_type", "area_name"]).reset_index(
        drop=True
    )
    by_goal = colour_by == "goal"
    return View(
        key=f"tartan-{area_type}" + ("-goal" if by_goal else ""),
        title=f"Compare {area_type} areas on every indicator"
        + (" against their goals" if by_goal else ""),
        summary=(
            "Each cell is one area's latest value, coloured by its indicator's "
            "goal (green meets the goal, amber meets only the minimum standard, "
            "red does not, grey: the indicator has no goal or the value is not "
            "published)."
            if by_goal
            else "Each cell is one area's latest value, coloured by comparison "
            "with England (green better, amber similar, red worse, blue higher/"
            "lower where there is no preferred direction, grey not compared)."
        ),
        data=data,
        columns={
            "indicator": "Indicator",
            "area_name": "Area",
            "value": "Value",
            "lower_ci_95": "Lower 95% CI",
            "upper_ci_95": "Upper 95% CI",
            "comparison": "Compared with England",
            **_goal_columns(data),
        },
        spec=charts.tartan_rug(
            data, "Tartan rug" + (": compared with goal" if by_goal else ""), by_goal
        ),
    )


def _funnel_frames(
    data: pd.DataFrame, m: IndicatorMeta, years: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    num = data["numerator"].to_numpy(float)
    den = data["denominator"].to_numpy(float)
    if m.value_type == "proportion":
        lim = calculate_funnel_limits(
            num, den, statistic="proportion", multiplier=m.multiplier
        )
        x_cols = dict.fromkeys(
            ("lower_2s", "upper_2s", "lower_3s", "upper_3s"), "Population"
        )
        points = data.assign(
            x=den,
            funnel=assign_funnel_significance(
                num, den, statistic="proportion", multiplier=m.multiplier
            ),
        )
    elif m.value_type == "crude_rate":
        rate = data["value"].to_numpy(float)
        lim = calculate_funnel_limits(
            num,
            den,
            statistic="rate",
            rate=rate,
            rate_type="crude",
            years_of_data=years,
            multiplier=m.multiplier,
        )
        x_cols = {
            k: f"{k}_population_1_year"
            for k in ("lower_2s", "upper_2s", "lower_3s", "upper_3s")
        }
        _, derived = calculate_funnel_points(
            num,
            rate,
            rate_type="crude",
            years_of_data=years,
            multiplier=m.multiplier,
            denominator=den,
        )
        points = data.assign(
            x=derived,
            funnel=assign_funnel_significance(
                num,
                den,
                statistic="rate",
                rate=rate,
                rate_type="crude",
                multiplier=m.multiplier,
            ),
        )
    elif m.value_type == "dsr":
        # PHE rate funnel for DSRs: x = events / rate (annual population
        # equivalent); DSRs with fewer than 10 events are not plotted.
        rate = data["value"].to_numpy(float)
        lim = calculate_funnel_limits(
            num,
            statistic="rate",
            rate=rate,
            rate_type="dsr",
            years_of_data=years,
            multiplier=m.multiplier,
        )
        x_cols = {
            k: f"{k}_population_1_year"
            for k in ("lower_2s", "upper_2s", "lower_3s", "upper_3s")
        }
        _, derived = calculate_funnel_points(
            num, rate, rate_type="dsr", years_of_data=years, multiplier=m.multiplier
        )
        points = data.assign(
            x=derived,
            funnel=assign_funnel_significance(
                num,
                None,
                statistic="rate",
                rate=rate,
                rate_type="dsr",
                multiplier=m.multiplier,
            ),
        )
    elif m.value_type == "isr":
        # PHE ratio funnel (ISR = O/E x 100) plotted against expected events,
        # E = 100 O / ISR; areas without observed events have no E to plot.
        expected = np.where(
            num > 0, num * m.multiplier / data["value"].to_numpy(float), np.nan
        )
        keep = np.isfinite(expected) & (expected > 0)
        lim = calculate_funnel_limits(
            num[keep], expected[keep], statistic="ratio", ratio_type="isr",
            multiplier=m.multiplier,
        )  # fmt: skip
        lim["baseline"] = m.multiplier
        x_cols = {k: f"{k}_exp_events" for k in ("lower_2s", "upper_2s", "lower_3s", "upper_3s")}  # fmt: skip
        funnel = np.full(len(data), "Not applicable (no events)", dtype=object)
        funnel[keep] = assign_funnel_significance(
            num[keep], expected[keep], statistic="ratio"
        )
        points = data.assign(x=expected, funnel=funnel)
    else:
        raise UnsupportedOperation(
            f"funnel plot for indicator `{m.id}`: value type `{m.value_type}` has "
            "no funnel method (PHE funnels cover proportions, rates and ratios; "
            "not means or counts)"
        )
    points = points[np.isfinite(points["x"].to_numpy(float))].reset_index(drop=True)
    lines = []
    for key, x_col in x_cols.items():
        level = "95%" if key.endswith("2s") else "99.8%"
        lines.append(
            pd.DataFrame(
                {
                    "denominator": lim[x_col].to_numpy(float),
                    "value": lim[f"{key}_limit"].to_numpy(float),
                    "limit": key,
                    "level": level,
                }
            )
        )
    base = lim["baseline"].to_numpy(float)
    xs = lim[x_cols["lower_2s"]].to_numpy(float)
    lines.append(
        pd.DataFrame(
            {"denominator": xs, "value": base, "limit": "baseline", "level": "average"}
        )
    )
    return points, pd.concat(lines, ignore_index=True).dropna()


@cached
def funnel(
    results: pd.DataFrame,
    indicator_id: str,
    area_type: str = "practice",
    period: dt.date | None = None,
    meta: Meta = None,
    public: bool = True,
) -> View:
    """Funnel plot with 95 % and 99.8 % control limits (`carepilot.stats.funnels`).

    Suppressed areas are left out of the plot (their counts are not public) and
    listed in ``extra["left_out"]``.
    """
    idx = partitioned(results, public)
    m = meta_for_ids(idx.indicators, meta)[indicator_id]
    data = _indicator_rows(idx, indicator_id, area_type, period, None)
    shown = data.dropna(subset=["numerator", "denominator", "value"])
    shown = shown[shown["denominator"] > 0].reset_index(drop=True)
    if len(shown) < 2:
        raise InputDataError(
            f"funnel plot for `{indicator_id}` needs at least two areas with counts"
        )
    years = (
        months_between(shown["period_start"].iloc[0], shown["period_end"].iloc[0]) / 12
    )
    points, limits = _funnel_frames(shown, m, years)
    points = points.drop(columns=["denominator"]).rename(columns={"x": "denominator"})
    return View(
        key=f"funnel-{indicator_id}-{area_type}",
        title=f"{m.title}: funnel plot",
        summary="Each dot is an area plotted against its size. Areas outside the "
        "dashed 95% limits differ more than chance would explain in 1 in 20 "
        "areas; outside the 99.8% limits, in 1 in 500.",
        data=points,
        columns={
            "area_name": "Area",
            "numerator": "Count",
            "denominator": "Denominator",
            "value": "Value",
            "funnel": "Funnel position",
        },
        spec=charts.funnel_plot(points, limits, m.title, m.unit),
        extra={
            "limits": limits,
            "left_out": sorted(set(data["area_name"]) - set(points["area_name"])),
        },
    )


def _trajectory(
    series: pd.DataFrame, target: float, target_end: dt.date | None
) -> pd.DataFrame:
    """Straight line from the first published value to the target."""
    first = series.dropna(subset=["value"]).head(1)
    if first.empty:
        return series.iloc[0:0]
    start, base = first["period_start"].iloc[0], float(first["value"].iloc[0])
    end = target_end or max(series["period_start"])
    span = max((end - start).days, 1)
    out = series[["period_start", "period_end"]].copy()
    frac = np.array([(d - start).days / span for d in out["period_start"]])
    out["value"] = np.where(
        frac >= 0, base + (target - base) * np.clip(frac, 0, 1), np.nan
    )
    return out


@cached
def trends(
    results: pd.DataFrame,
    indicator_id: str,
    area_code: str,
    breakdown: str = "total",
    category: str = "all",
    target: float | None = None,
    target_end: dt.date | None = None,
    meta: Meta = None,
    public: bool = True,
) -> View:
    """An area's values over time with 95 % intervals, England and the target.

    The target trajectory (pilots) is a straight line from the first value to
    `target` (default: the indicator's target) at `target_end` (default: the
    last period).
    """
    idx = partitioned(results, public)
    m = meta_for_ids(idx.indicators, meta)[indicator_id]
    own = idx.area(area_code, indicator_id)
    own = own[(own["breakdown"] == breakdown) & (own["category"] == category)]
    area = own.sort_values("period_start")
    if area.empty:
        raise InputDataError(
            f"no `{indicator_id}` results for area `{area_code}` ({breakdown} "
            f"{category})"
        )
    name = str(area["area_name"].iloc[0])
    parts = [area.assign(series=name, kind="area")]
    nat = idx.rows(indicator_id, "national", None, breakdown)
    nat = nat[nat["category"] == category].sort_values("period_start")
    if not nat.empty and area_code not in set(nat["area_code"]):
        parts.append(
            nat.assign(series="England", kind="benchmark", comparison="not compared")
        )
    goal = target if target is not None else m.target
    if goal is not None:
        parts.append(
            _trajectory(area, goal, target_end).assign(
                series="Target trajectory", kind="target", comparison="not compared"
            )
        )
    data = pd.concat(parts, ignore_index=True)
    data["period"] = [
        period_label(s, e)
        for s, e in zip(data["period_start"], data["period_end"], strict=True)
    ]
    return View(
        key=f"trend-{indicator_id}-{area_code}",
        title=f"{m.title}: {name} over time",
        summary=f"{name} by period with 95% confidence intervals, England for "
        "comparison" + (" and the target trajectory." if goal is not None else "."),
        data=data,
        columns={
            "series": "Series",
            "period": "Period",
            "numerator": "Count",
            "denominator": "Denominator",
            **VALUE_COLUMNS,
            "comparison": "Compared with England",
        },
        spec=charts.trend_chart(data, m.title, m.unit),
    )
