"""The steering group's trajectory chart: a pilot's indicator against its target.

Rendered server-side to SVG (Vega-Lite via Altair and vl-convert, as the
publication charts are), so the page needs no JavaScript; the table beside it
is the accessible alternative and holds the same numbers.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from carepilot.programmes.steering import TrajectoryView
from carepilot.publication.charts import to_svg


def trajectory_spec(t: TrajectoryView) -> dict[str, object]:
    """Values by period end, with the baseline and target as labelled rules."""
    values = pd.DataFrame(
        {
            "period_end": [p.period_end.isoformat() for p in t.points],
            "value": [p.value for p in t.points],
        }
    )
    rules = pd.DataFrame(
        [{"line": "Target", "value": t.target}]
        + (
            [{"line": "Baseline", "value": t.baseline}]
            if t.baseline is not None
            else []
        )
    )
    x = alt.X("period_end:T", title="Period ending")
    y = alt.Y("value:Q", title="Value", scale=alt.Scale(zero=False))
    line = (
        alt.Chart(values)
        .mark_line(point=True, color="#005eb8")
        .encode(
            x=x, y=y, tooltip=["period_end:T", alt.Tooltip("value:Q", format=".2f")]
        )
    )
    rule = (
        alt.Chart(rules)
        .mark_rule(strokeDash=[6, 4])
        .encode(
            y="value:Q",
            color=alt.Color(
                "line:N",
                title=None,
                scale=alt.Scale(
                    domain=["Target", "Baseline"], range=["#007f3b", "#768692"]
                ),
            ),
        )
    )
    chart = (line + rule).properties(
        width=560, height=220, title=f"{t.indicator_id}: trajectory against target"
    )
    return chart.to_dict()


def trajectory_svg(t: TrajectoryView) -> str:
    """The chart as an SVG string."""
    return to_svg(trajectory_spec(t))
