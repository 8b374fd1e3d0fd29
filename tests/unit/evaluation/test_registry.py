"""The method registry: built-ins register like outside code; clear errors."""

from __future__ import annotations

import pytest

from carepilot.errors import DefinitionError, InputDataError
from carepilot.evaluation import (
    EvaluationResult,
    Method,
    MethodRegistry,
    PanelSpec,
    default_registry,
)
from carepilot.evaluation.results import Effect

from .simulate import staggered_panel


def test_builtins_registered():
    names = default_registry().names()
    for name in (
        "did",
        "twfe",
        "staggered",
        "event-study",
        "its",
        "synth",
        "sdid",
        "ra",
        "ipw",
        "aipw",
        "ipwra",
        "match",
    ):
        assert name in names


def test_unknown_method_lists_known():
    with pytest.raises(DefinitionError, match="known methods: aipw"):
        default_registry().get("magic")


def test_outside_method_registers_and_duplicates_refused():
    reg = MethodRegistry()

    def run(data, spec):
        return EvaluationResult(
            "mean",
            "mean",
            [Effect("mean", float(data[spec.outcome].mean()))],
            len(data),
        )

    reg.register(Method("mean", "mean of the outcome", run))
    with pytest.raises(DefinitionError, match="already registered"):
        reg.register(Method("mean", "again", run))
    reg.register(Method("mean", "again", run), replace=True)
    data = staggered_panel(1, n_units=20)
    assert reg.run(
        "mean", data, PanelSpec(outcome="y", treated="d")
    ).headline.estimate == pytest.approx(data.y.mean())


def test_run_with_group_adds_gap_effects():
    data = staggered_panel(2, n_units=200)
    data["q5"] = (data.imd == 5).astype(int)
    spec = PanelSpec(
        outcome="y",
        treated="d",
        unit="practice",
        time="period",
        first_treated="first",
        group="q5",
    )
    res = default_registry().run("staggered", data, spec)
    names = [e.name for e in res.effects]
    assert "by:q5=0" in names and "gap:q5=1-vs-0" in names
    assert "heterogeneity_test" in res.details


@pytest.mark.parametrize("method", ["did", "twfe", "event-study"])
def test_panel_methods_via_registry(method):
    data = staggered_panel(3, n_units=120, cohorts=(5,))
    spec = PanelSpec(
        outcome="y", treated="d", unit="practice", time="period", first_treated="first"
    )
    res = default_registry().run(method, data, spec)
    assert res.headline.ci_low <= 1.0 <= res.headline.ci_high + 0.3


def test_missing_spec_field_named():
    with pytest.raises(InputDataError, match="--unit"):
        default_registry().run(
            "twfe",
            staggered_panel(1, n_units=10),
            PanelSpec(outcome="y", treated="d", time="period"),
        )
