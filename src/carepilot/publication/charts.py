"""Vega-Lite chart specs (built with Altair) and their server-side SVG.

Each builder takes exactly the rows the chart shows (the same frame the view
offers as an accessible table and CSV) and returns a Vega-Lite spec as a dict, so
the web app can embed it with vega-embed or, without JavaScript, as the SVG that
`to_svg` renders with vl-convert. Colours follow Fingertips (`colours`).
"""

from __future__ import annotations

import threading
from typing import Any

import altair as alt
import pandas as pd

from carepilot.publication.colours import SIGNIFICANCE_COLOURS, SIGNIFICANCE_ORDER
from carepilot.publication.goals import GOAL_LABELS

Spec = dict[str, Any]

FONT = "Liberation Sans, Arial, sans-serif"
"""NHS.UK pages use Frutiger/Arial; Liberation Sans is metric-compatible with Arial."""


LABEL_CHARS = 48
LABEL_EXPR = (
    f"length(datum.label) > {LABEL_CHARS} ? "
    f"substring(datum.label, 0, {LABEL_CHARS - 1}) + '\u2026' : datum.label"
)
"""Axis labels longer than `LABEL_CHARS` end in an ellipsis."""


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].astype(str)
        elif str(out[col].dtype).startswith("date"):
            out[col] = out[col].astype(str)
    return [
        {str(k): (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
        for r in out.to_dict(orient="records")
    ]


_PENDING = threading.local()


def _data(frame: pd.DataFrame) -> alt.Data:
    """A named data reference; the rows go into the spec's top-level ``datasets``
    in `_finish`. Altair deep-copies and walks inline values in `to_dict` (about
    a second for a funnel's few thousand limit points); a name costs nothing."""
    pending: dict[str, list[dict[str, Any]]] = getattr(_PENDING, "sets", None) or {}
    name = f"data-{len(pending)}"
    pending[name] = _records(frame)
    _PENDING.sets = pending
    return alt.Data(name=name)


def _significance_scale() -> alt.Scale:
    return alt.Scale(
        domain=list(SIGNIFICANCE_ORDER),
        range=[SIGNIFICANCE_COLOURS[k] for k in SIGNIFICANCE_ORDER],
    )


def _finish(chart: alt.TopLevelMixin, title: str) -> Spec:
    configured = (
        chart.properties(title=title)
        .configure(font=FONT)
        .configure_view(stroke=None)
        # Vega fits long labels to `labelLimit` by measuring the text again and
        # again (a 54-indicator spine took ~1 s to render); shortening them by
        # length in the spec instead is 4x faster. Full names are in the table.
        .configure_axis(labelLimit=0, labelExpr=LABEL_EXPR)
    )
    try:
        # The spec's structure is validated by Altair's typed builders; skipping
        # the JSON-schema pass over the data keeps large charts fast.
        spec = configured.to_dict(validate=False)
    finally:
        datasets: dict[str, Any] = getattr(_PENDING, "sets", None) or {}
        _PENDING.sets = {}
    spec["datasets"] = {**spec.get("datasets", {}), **datasets}
    return spec


def bar_chart(frame: pd.DataFrame, title: str, unit: str) -> Spec:
    """Areas as horizontal bars with 95 % intervals and the benchmark line.

    Columns: ``area_name``, ``value``, ``lower_ci_95``, ``upper_ci_95``,
    ``comparison``, ``benchmark``.
    """
    base = alt.Chart(_data(frame)).encode(y=alt.Y("area_name:N", sort="-x", title=None))
    bars = base.mark_bar().encode(
        x=alt.X("value:Q", title=f"Value ({unit})" if unit else "Value"),
        color=alt.Color(
            "comparison:N", scale=_significance_scale(), title="Compared with benchmark"
        ),
        tooltip=[
            "area_name:N",
            alt.Tooltip("value:Q", format=".1f"),
            alt.Tooltip("lower_ci_95:Q", format=".1f"),
            alt.Tooltip("upper_ci_95:Q", format=".1f"),
            "comparison:N",
        ],
    )
    errors = base.mark_errorbar(ticks=True, color="#212B32").encode(
        x=alt.X("lower_ci_95:Q"), x2="upper_ci_95:Q"
    )
    rule = base.mark_rule(color="#212B32", strokeDash=[4, 3]).encode(
        x="mean(benchmark):Q"
    )
    return _finish(alt.layer(bars, errors, rule).properties(width=480), title)


def spine_chart(frame: pd.DataFrame, title: str) -> Spec:
    """Fingertips spine chart: each indicator's range across areas, benchmark at 0.

    Columns (scaled to -1..1, better to the right): ``indicator``, ``worst``,
    ``q25``, ``q75``, ``best``, ``position`` and ``comparison``.
    """
    used = ["indicator", "worst", "best", "q25", "q75", "position", "comparison"]
    goals = "goal_position" in frame and bool(frame["goal_position"].notna().any())
    if goals:
        used += ["goal_position", "goal"]
    base = alt.Chart(_data(frame[used])).encode(
        y=alt.Y("indicator:N", title=None, sort=None)
    )
    scale = alt.Scale(domain=[-1.05, 1.05])
    spread = base.mark_bar(color="#D8DDE0", size=14).encode(
        x=alt.X("worst:Q", scale=scale, axis=None), x2="best:Q"
    )
    middle = base.mark_bar(color="#768692", size=14).encode(x="q25:Q", x2="q75:Q")
    point = base.mark_point(
        filled=True, size=120, stroke="#212B32", shape="circle"
    ).encode(
        x="position:Q",
        color=alt.Color(
            "comparison:N", scale=_significance_scale(), title="Compared with benchmark"
        ),
    )
    rule = (
        alt.Chart(_data(pd.DataFrame({"x": [0.0]})))
        .mark_rule(color="#C00000", strokeWidth=2)
        .encode(x="x:Q")
    )
    layers: list[alt.Chart] = [spread, middle, point, rule]
    if goals:
        layers.append(
            base.transform_filter("isValid(datum.goal_position)")
            .mark_point(shape="diamond", filled=True, size=110, stroke="#212B32")
            .encode(
                x="goal_position:Q",
                fill=alt.Fill("goal:N", scale=_goal_scale(), legend=_goal_legend()),
            )
        )
    chart = alt.layer(*layers).properties(width=420)
    return _finish(chart, title)


def _goal_scale() -> alt.Scale:
    order = list(GOAL_LABELS)
    return alt.Scale(domain=order, range=[SIGNIFICANCE_COLOURS[k] for k in order])


def _goal_legend() -> alt.Legend:
    """Legend "Compared with goal" with the plain-English labels."""
    expr = " : ".join(f"datum.label == '{k}' ? '{v}'" for k, v in GOAL_LABELS.items())
    return alt.Legend(title="Compared with goal", labelExpr=f"{expr} : datum.label")


def tartan_rug(frame: pd.DataFrame, title: str, by_goal: bool = False) -> Spec:
    """Areas x indicators, each cell coloured by significance with its value.

    Columns: ``indicator``, ``area_name``, ``label`` (formatted value),
    ``comparison``; with `by_goal` cells are coloured by ``goal`` instead.
    """
    field = "goal" if by_goal else "comparison"
    used = list(dict.fromkeys(["indicator", "area_name", "label", "comparison", field]))
    base = alt.Chart(_data(frame[used])).encode(
        x=alt.X("area_name:N", title=None, axis=alt.Axis(labelAngle=-40)),
        y=alt.Y("indicator:N", title=None),
    )
    colour = (
        alt.Color("goal:N", scale=_goal_scale(), legend=_goal_legend())
        if by_goal
        else alt.Color(
            "comparison:N", scale=_significance_scale(), title="Compared with benchmark"
        )
    )
    cells = base.mark_rect(stroke="white").encode(
        color=colour,
        tooltip=["indicator:N", "area_name:N", "label:N", f"{field}:N"],
    )
    text = base.mark_text(fontSize=10).encode(
        text="label:N",
        color=alt.condition(
            f"datum.{field} == 'worse' || datum.{field} == 'higher'",
            alt.value("white"),
            alt.value("black"),
        ),
    )
    return _finish(alt.layer(cells, text), title)


def funnel_plot(
    points: pd.DataFrame, limits: pd.DataFrame, title: str, unit: str
) -> Spec:
    """Funnel plot: areas by denominator with 95 % and 99.8 % control limits.

    ``points``: ``area_name``, ``denominator``, ``value``, ``funnel``;
    ``limits``: ``denominator``, ``limit`` (line name), ``value``.
    """
    lines = (
        alt.Chart(_data(limits))
        .mark_line()
        .encode(
            x=alt.X("denominator:Q", title="Denominator"),
            y=alt.Y(
                "value:Q",
                title=f"Value ({unit})" if unit else "Value",
                scale=alt.Scale(zero=False),
            ),
            detail="limit:N",
            strokeDash=alt.StrokeDash("level:N", title="Control limit"),
            color=alt.value("#425563"),
        )
    )
    dots = (
        alt.Chart(_data(points))
        .mark_point(filled=True, size=60)
        .encode(
            x="denominator:Q",
            y="value:Q",
            color=alt.Color("funnel:N", title="Funnel position"),
            tooltip=[
                "area_name:N",
                "denominator:Q",
                alt.Tooltip("value:Q", format=".1f"),
                "funnel:N",
            ],
        )
    )
    return _finish(alt.layer(lines, dots).properties(width=480, height=300), title)


def trend_chart(frame: pd.DataFrame, title: str, unit: str) -> Spec:
    """Values over periods with 95 % intervals, benchmark and target trajectory.

    Columns: ``period``, ``period_start``, ``series`` (area, benchmark or
    target), ``value``, ``lower_ci_95``, ``upper_ci_95``, ``comparison``.
    """
    data = _data(frame)
    x = alt.X("period_start:T", title="Period")
    y_title = f"Value ({unit})" if unit else "Value"
    y = alt.Y("value:Q", title=y_title, scale=alt.Scale(zero=False))
    line = (
        alt.Chart(data)
        .mark_line()
        .encode(
            x=x,
            y=y,
            color=alt.Color("series:N", title=None),
            strokeDash=alt.StrokeDash("series:N", legend=None),
        )
    )
    area_rows = alt.Chart(data).transform_filter("datum.kind == 'area'")
    band = area_rows.mark_errorbar(ticks=True).encode(
        x=x, y=alt.Y("lower_ci_95:Q", title=y_title), y2="upper_ci_95:Q"
    )
    dots = area_rows.mark_point(filled=True, size=70, stroke="#212B32").encode(
        x=x,
        y=y,
        color=alt.Color("comparison:N", scale=_significance_scale(), legend=None),
        tooltip=["period:N", alt.Tooltip("value:Q", format=".1f"), "comparison:N"],
    )
    chart = alt.layer(line, band, dots).resolve_scale(color="independent")
    return _finish(chart.properties(width=480), title)


def breakdown_chart(frame: pd.DataFrame, title: str, unit: str) -> Spec:
    """Categories of one breakdown as bars with 95 % intervals and the total.

    Columns: ``category``, ``value``, ``lower_ci_95``, ``upper_ci_95``,
    ``comparison``, ``benchmark`` (the area's total value).
    """
    base = alt.Chart(_data(frame)).encode(x=alt.X("category:N", sort=None, title=None))
    bars = base.mark_bar().encode(
        y=alt.Y("value:Q", title=f"Value ({unit})" if unit else "Value"),
        color=alt.Color(
            "comparison:N", scale=_significance_scale(), title="Compared with total"
        ),
    )
    errors = base.mark_errorbar(ticks=True, color="#212B32").encode(
        y="lower_ci_95:Q", y2="upper_ci_95:Q"
    )
    rule = base.mark_rule(strokeDash=[4, 3]).encode(y="mean(benchmark):Q")
    return _finish(alt.layer(bars, errors, rule).properties(width=420), title)


def to_svg(spec: Spec) -> str:
    """Render a Vega-Lite spec to SVG on the server (vl-convert, no browser)."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(spec)
