"""Evaluation charts as Altair specifications, rendered to SVG/PNG by vl-convert.

Love plot (balance), trend plot, event-study plot, ITS plot, synthetic-control
plot and a forest plot of effects by group. Functions return Altair charts;
`render` turns one into SVG text or PNG bytes for embedding in a report.

Pure module: no file I/O (rendering happens in memory).
"""

from __future__ import annotations

from typing import Literal

import altair as alt
import pandas as pd
import vl_convert as vlc

from carepilot.evaluation.balance import SMD_THRESHOLD

WIDTH = 560
NHS_BLUE = "#005eb8"
GREY = "#768692"


def render(chart: alt.TopLevelMixin, fmt: Literal["svg", "png"] = "svg") -> str | bytes:
    """Render a chart to SVG text or PNG bytes (vl-convert, no browser needed)."""
    spec = chart.to_json()
    if fmt == "svg":
        return vlc.vegalite_to_svg(spec)
    return vlc.vegalite_to_png(spec, scale=2)


def love_plot(balance: pd.DataFrame) -> alt.TopLevelMixin:
    """Absolute standardised mean differences before and after matching."""
    cols = {"smd_before": "before"}
    if "smd_after" in balance:
        cols["smd_after"] = "after"
    long = balance.melt(
        id_vars="covariate", value_vars=list(cols), var_name="sample", value_name="smd"
    )
    long["sample"] = long["sample"].map(cols)
    long["abs_smd"] = long["smd"].abs()
    points = (
        alt.Chart(long)
        .mark_point(filled=True, size=70)
        .encode(
            x=alt.X("abs_smd:Q", title="|standardised mean difference|"),
            y=alt.Y("covariate:N", sort=None, title=None),
            color=alt.Color(
                "sample:N",
                scale=alt.Scale(domain=["before", "after"], range=[GREY, NHS_BLUE]),
            ),
            shape=alt.Shape("sample:N", scale=alt.Scale(domain=["before", "after"])),
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"x": [SMD_THRESHOLD]}))
        .mark_rule(strokeDash=[4, 4])
        .encode(x="x:Q")
    )
    return (points + rule).properties(
        width=WIDTH, title="Covariate balance (love plot)"
    )


def event_study_plot(es: pd.DataFrame, title: str = "Event study") -> alt.TopLevelMixin:
    """Effects by event time with 95 % intervals; reference line at zero."""
    base = alt.Chart(es)
    bars = base.mark_errorbar().encode(
        x=alt.X(
            "event_time:O",
            title="periods relative to start",
            axis=alt.Axis(labelAngle=0),
        ),
        y=alt.Y("ci_low:Q", title="effect"),
        y2="ci_high:Q",
    )
    pts = base.mark_point(filled=True, color=NHS_BLUE, size=60).encode(
        x="event_time:O", y="estimate:Q"
    )
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color=GREY).encode(y="y:Q")
    return (bars + pts + zero).properties(width=WIDTH, title=title)


def trend_plot(
    means: pd.DataFrame, time: str, start: float | None = None
) -> alt.TopLevelMixin:
    """Mean outcome over time by arm (columns: time, arm, mean)."""
    line = (
        alt.Chart(means)
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{time}:Q", title=time, axis=alt.Axis(format="d", tickMinStep=1)),
            y=alt.Y("mean:Q", title="mean outcome", scale=alt.Scale(zero=False)),
            color=alt.Color("arm:N", scale=alt.Scale(range=[NHS_BLUE, GREY])),
        )
    )
    layers: alt.TopLevelMixin = line
    if start is not None:
        layers = line + alt.Chart(pd.DataFrame({"x": [start]})).mark_rule(
            strokeDash=[4, 4]
        ).encode(x="x:Q")
    return layers.properties(width=WIDTH, title="Outcome trends, pilot vs comparators")


def its_plot(fitted: pd.DataFrame) -> alt.TopLevelMixin:
    """Observed points, fitted segmented model and the counterfactual."""
    main = fitted[fitted["series"] == "intervention"]
    pts = (
        alt.Chart(main)
        .mark_point(color=GREY)
        .encode(x=alt.X("time:Q"), y=alt.Y("observed:Q", title="outcome"))
    )
    fit = alt.Chart(main).mark_line(color=NHS_BLUE).encode(x="time:Q", y="fitted:Q")
    cf = (
        alt.Chart(main)
        .mark_line(color=NHS_BLUE, strokeDash=[4, 4])
        .encode(x="time:Q", y="counterfactual:Q")
    )
    return (pts + fit + cf).properties(
        width=WIDTH, title="Interrupted time series (dashed: counterfactual)"
    )


def synth_plot(path: pd.DataFrame) -> alt.TopLevelMixin:
    """Treated unit vs its synthetic control."""
    long = path.melt(
        id_vars=["time"],
        value_vars=["treated", "synthetic"],
        var_name="series",
        value_name="value",
    )
    return (
        alt.Chart(long)
        .mark_line()
        .encode(
            x="time:Q",
            y=alt.Y("value:Q", scale=alt.Scale(zero=False)),
            color="series:N",
        )
        .properties(width=WIDTH, title="Treated vs synthetic control")
    )


def forest_plot(
    by_group: pd.DataFrame, title: str = "Effects by group"
) -> alt.TopLevelMixin:
    """Effect and 95 % interval per group (columns: group, estimate, ci_low, ci_high)."""
    base = alt.Chart(by_group.dropna(subset=["ci_low"]))
    bars = base.mark_rule().encode(
        y=alt.Y("group:N", title=None),
        x=alt.X("ci_low:Q", title="effect"),
        x2="ci_high:Q",
    )
    pts = base.mark_point(filled=True, color=NHS_BLUE, size=60).encode(
        y="group:N", x="estimate:Q"
    )
    return (bars + pts).properties(width=WIDTH, title=title)
