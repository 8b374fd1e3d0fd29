"""The HTML report builder."""

from __future__ import annotations

import json

import pytest

from carepilot.evaluation import (
    PanelSpec,
    default_registry,
    effects_by_group,
    match_comparators,
)
from carepilot.evaluation.report import build_report

from .simulate import staggered_panel


@pytest.fixture(scope="module")
def report():
    data = staggered_panel(12, n_units=120)
    data["quintile"] = data["imd"].astype(str)
    spec = PanelSpec(
        outcome="y", treated="d", unit="practice", time="period", first_treated="first"
    )
    reg = default_registry()
    main = reg.run("staggered", data, spec)
    baseline = data[data.period == 1].assign(
        ever=lambda d: (d["first"] > 0).astype(int)
    )
    bal = match_comparators(baseline, treatment="ever", covariates=["y", "imd"]).balance
    by = {
        "deprivation quintile": effects_by_group(
            data, group="quintile", estimate=lambda d: reg.run("staggered", d, spec)
        )
    }
    return build_report(
        title="Pilot X: emergency admissions",
        panel=data,
        spec=spec,
        results={"main": main},
        balance=bal,
        by_group=by,
        caveats=["Synthetic demo data."],
    )


def test_sections_and_figures(report):
    html = report.html
    for section in (
        "<h2>Data</h2>",
        "Comparators and balance",
        "<h2>Effects</h2>",
        "Effects by inequality group",
        "Caveats",
        "All numbers (JSON)",
    ):
        assert section in html
    assert html.count("<svg") == len(report.figures) >= 4
    assert "Synthetic demo data." in html
    assert "Pre-trend test" in html


def test_numbers_json_round_trip(report):
    doc = json.loads(report.numbers_json())
    assert doc["results"]["main"]["estimate"]["name"] == "simple"
    assert doc["data"]["units"] == 120
    assert doc["balance"][0]["covariate"] == "y"
    assert "deprivation quintile" in doc["by_group"]


def test_png_figures():
    data = staggered_panel(13, n_units=60)
    spec = PanelSpec(
        outcome="y", treated="d", unit="practice", time="period", first_treated="first"
    )
    rep = build_report(
        title="t",
        panel=data,
        spec=spec,
        results={"main": default_registry().run("event-study", data, spec)},
        image_format="png",
    )
    assert "data:image/png;base64," in rep.html


def test_title_is_escaped():
    data = staggered_panel(14, n_units=40)
    spec = PanelSpec(
        outcome="y", treated="d", unit="practice", time="period", first_treated="first"
    )
    rep = build_report(
        title="<script>x</script>",
        panel=data,
        spec=spec,
        results={"main": default_registry().run("twfe", data, spec)},
    )
    assert "<script>x" not in rep.html
