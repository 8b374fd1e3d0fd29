"""Build the HTML evaluation report of a panel (plus the JSON of all numbers).

`build_report` takes DataFrames and results (no database access), renders the
charts with Altair/vl-convert and fills the Jinja2 template shipped in
``templates/report.html.j2``. It returns strings; the caller (the later
``carepilot evaluate --pilot`` command, or a user) writes them to disk.

This is the one module of the evaluation package that uses Jinja2; it is
imported on demand so the estimators stay free of template code.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from carepilot import __version__
from carepilot.evaluation import plots
from carepilot.evaluation.registry import PanelSpec
from carepilot.evaluation.results import EvaluationResult, _clean, frame_records

STANDARD_CAVEATS: tuple[str, ...] = (
    "Estimates are causal only under the design's assumptions: parallel trends (DiD, event study), "
    "no other change at the intervention date (ITS), a good pre-period fit (synthetic control), "
    "no unmeasured confounding (matching, IPW, AIPW).",
    "Pre-trend tests have limited power: a non-significant test does not prove parallel trends (Roth 2022).",
    "Confidence intervals are pointwise 95 % intervals unless labelled uniform; many effects are shown, "
    "so some intervals will exclude zero by chance.",
    "Effects by inequality group use smaller samples and are less precise; the gap test compares each group "
    "with the reference group.",
)


@dataclass
class EvaluationReport:
    """A rendered report: HTML text, the JSON document and the figures."""

    html: str
    numbers: dict[str, Any]
    figures: dict[str, str] = field(default_factory=dict)

    def numbers_json(self) -> str:
        """The JSON of all numbers, ready to write beside the HTML."""
        return json.dumps(self.numbers, indent=2, allow_nan=False)


def describe_panel(panel: pd.DataFrame, spec: PanelSpec) -> dict[str, Any]:
    """Data description: rows, units, periods, treated units and outcome means by arm."""
    out: dict[str, Any] = {"rows": len(panel), "outcome": spec.outcome}
    treated = pd.to_numeric(panel[spec.treated], errors="coerce")
    if spec.unit and spec.unit in panel:
        ever = treated.groupby(panel[spec.unit]).transform("max")
        out["units"] = int(panel[spec.unit].nunique())
        out["treated_units"] = int(panel.loc[ever == 1, spec.unit].nunique())
        out["comparison_units"] = int(panel.loc[ever == 0, spec.unit].nunique())
        arm = np.where(ever == 1, "pilot", "comparison")
    else:
        arm = np.where(treated == 1, "pilot", "comparison")
    if spec.time and spec.time in panel:
        out["first_period"] = _clean(panel[spec.time].min())
        out["last_period"] = _clean(panel[spec.time].max())
        out["periods"] = int(panel[spec.time].nunique())
        if spec.first_treated and spec.first_treated in panel:
            first = pd.to_numeric(panel[spec.first_treated], errors="coerce")
            start = first[first > 0]
        else:
            start = panel.loc[treated == 1, spec.time]
        out["intervention_start"] = _clean(start.min()) if len(start) else None
    means = (
        pd.to_numeric(panel[spec.outcome], errors="coerce")
        .groupby(arm)
        .agg(["count", "mean", "std"])
    )
    out["outcome_by_arm"] = {
        str(k): {c: _clean(v) for c, v in row.items()} for k, row in means.iterrows()
    }
    return out


def _trend_means(panel: pd.DataFrame, spec: PanelSpec) -> pd.DataFrame | None:
    if not (spec.unit and spec.time and spec.unit in panel and spec.time in panel):
        return None
    ever = (
        pd.to_numeric(panel[spec.treated], errors="coerce")
        .groupby(panel[spec.unit])
        .transform("max")
    )
    arm = np.where(ever == 1, "pilot", "comparison")
    means = (
        pd.to_numeric(panel[spec.outcome], errors="coerce")
        .groupby([panel[spec.time], arm])
        .mean()
    )
    return (
        means.rename("mean").reset_index().set_axis([spec.time, "arm", "mean"], axis=1)
    )


def _figure(chart: Any, fmt: str) -> str:
    img = plots.render(chart, "svg" if fmt == "svg" else "png")
    if isinstance(img, bytes):
        return f'<img alt="chart" src="data:image/png;base64,{base64.b64encode(img).decode()}">'
    return img


def build_report(
    *,
    title: str,
    panel: pd.DataFrame,
    spec: PanelSpec,
    results: Mapping[str, EvaluationResult],
    balance: pd.DataFrame | None = None,
    by_group: Mapping[str, EvaluationResult] | None = None,
    caveats: Sequence[str] = (),
    image_format: str = "svg",
    sections: Sequence[tuple[str, pd.DataFrame, str]] = (),
) -> EvaluationReport:
    """Assemble the evaluation report of one pilot (or any panel).

    Args:
        title: Report title (pilot name, outcome, period).
        panel: The analysis dataset (long panel or patient-level rows).
        spec: Column roles used for the analysis.
        results: Named results, e.g. ``{"main": staggered, "sensitivity: not-yet-treated": ...}``;
            the first one is the primary analysis.
        balance: Balance table from matching (`balance_table`), for the balance
            section and the love plot.
        by_group: Results of `effects_by_group` by inequality dimension.
        caveats: Extra caveats; standard ones are always added.
        image_format: ``"svg"`` (default) or ``"png"``.
        sections: Extra tables ``(heading, table, note)`` shown before the caveats,
            e.g. a sensitivity table or a count table that has already been
            through `carepilot.disclosure.release` (the report does not apply
            disclosure control itself). They are added to the JSON under
            ``sections``.

    Returns:
        The HTML, the JSON document of all numbers and the SVG/PNG figures.
    """
    from jinja2 import (
        Environment,
        select_autoescape,
    )  # on demand: keeps estimators template-free

    figures: dict[str, str] = {}
    description = describe_panel(panel, spec)
    trends = _trend_means(panel, spec)
    if trends is not None:
        figures["trends"] = _figure(
            plots.trend_plot(
                trends, spec.time or "time", description.get("intervention_start")
            ),
            image_format,
        )
    if balance is not None and len(balance):
        figures["love_plot"] = _figure(plots.love_plot(balance), image_format)
    for name, res in results.items():
        if "event_study" in res.tables and len(res.tables["event_study"]):
            figures[f"event_study:{name}"] = _figure(
                plots.event_study_plot(
                    res.tables["event_study"], f"Event study ({name})"
                ),
                image_format,
            )
        if "fitted" in res.tables:
            figures[f"its:{name}"] = _figure(
                plots.its_plot(res.tables["fitted"]), image_format
            )
        if "path" in res.tables:
            figures[f"synth:{name}"] = _figure(
                plots.synth_plot(res.tables["path"]), image_format
            )
    for name, res in (by_group or {}).items():
        if "by_group" in res.tables and len(res.tables["by_group"]):
            figures[f"by_group:{name}"] = _figure(
                plots.forest_plot(res.tables["by_group"], f"Effects by {name}"),
                image_format,
            )
    all_caveats = [*caveats, *STANDARD_CAVEATS]
    for res in results.values():
        all_caveats += [f"{res.method}: {n}" for n in res.notes]
    numbers = {
        "title": title,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "carepilot_version": __version__,
        "spec": _clean(
            {
                k: (list(v) if isinstance(v, tuple) else v)
                for k, v in spec.__dict__.items()
                if k != "options"
            }
            | {"options": dict(spec.options)}
        ),
        "data": description,
        "results": {k: v.to_dict() for k, v in results.items()},
        "balance": frame_records(balance) if balance is not None else None,
        "by_group": {k: v.to_dict() for k, v in (by_group or {}).items()},
        "caveats": all_caveats,
        "sections": {heading: frame_records(table) for heading, table, _ in sections},
    }
    env = Environment(
        autoescape=select_autoescape(default=True, default_for_string=True)
    )
    env.filters["num"] = _num
    template = env.from_string(
        resources.files("carepilot.evaluation")
        .joinpath("templates/report.html.j2")
        .read_text(encoding="utf-8")
    )
    html = template.render(
        title=title,
        description=description,
        results=results,
        balance=balance,
        by_group=by_group or {},
        figures=figures,
        caveats=all_caveats,
        sections=[
            {
                "heading": heading,
                "note": note,
                "columns": [str(c) for c in table.columns],
                "rows": [
                    {str(k): _clean(v) for k, v in r.items()}
                    for r in table.to_dict("records")
                ],
            }
            for heading, table, note in sections
        ],
        numbers_json=json.dumps(numbers, indent=2, allow_nan=False),
        generated_at=numbers["generated_at"],
        version=__version__,
    )
    return EvaluationReport(html=html, numbers=numbers, figures=figures)


def _num(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        return f"{float(value):.{digits}g}"
    return str(value)
