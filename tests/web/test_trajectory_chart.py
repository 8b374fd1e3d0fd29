"""The steering group's trajectory chart renders the pilot's values and target."""

from __future__ import annotations

import datetime as dt

from carepilot.programmes.baselines import TrajectoryPoint
from carepilot.programmes.steering import TrajectoryView
from carepilot.web.trajectory_chart import trajectory_spec, trajectory_svg


def _view(baseline: float | None) -> TrajectoryView:
    return TrajectoryView(
        indicator_id="emergency-admissions-rate",
        description="Cut emergency admissions",
        baseline=baseline,
        target=90.0,
        points=[
            TrajectoryPoint(dt.date(2023, 3, 31), 104.2),
            TrajectoryPoint(dt.date(2024, 3, 31), 97.5),
        ],
    )


def test_spec_holds_exactly_the_values_target_and_baseline() -> None:
    spec = trajectory_spec(_view(101.0))
    datasets = list(spec["datasets"].values())  # type: ignore[union-attr]
    values = [r for d in datasets for r in d if "period_end" in r]
    rules = [r for d in datasets for r in d if "line" in r]
    assert [(r["period_end"], r["value"]) for r in values] == [
        ("2023-03-31", 104.2),
        ("2024-03-31", 97.5),
    ]
    assert {(r["line"], r["value"]) for r in rules} == {
        ("Target", 90.0),
        ("Baseline", 101.0),
    }
    no_baseline = trajectory_spec(_view(None))
    rules = [r for d in no_baseline["datasets"].values() for r in d if "line" in r]  # type: ignore[union-attr]
    assert rules == [{"line": "Target", "value": 90.0}]


def test_svg_renders() -> None:
    svg = trajectory_svg(_view(101.0))
    assert svg.lstrip().startswith("<svg") and "Target" in svg and "Baseline" in svg
