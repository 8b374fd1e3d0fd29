"""The method registry: every causal method is looked up by name.

Built-in methods register through `carepilot.evaluation.methods.register`
exactly as outside code would (STYLE.md principle 13; datasette's
``DEFAULT_PLUGINS``): a module listed in `DEFAULT_METHOD_MODULES` exposes
``register(registry)``. Third parties add their own with
``registry.register(Method(...))``.

Pure module.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from carepilot.errors import DefinitionError, InputDataError
from carepilot.evaluation.results import EvaluationResult

DEFAULT_METHOD_MODULES: tuple[str, ...] = ("carepilot.evaluation.methods",)
"""Modules whose ``register(registry)`` adds the built-in methods."""


@dataclass(frozen=True)
class PanelSpec:
    """Which columns mean what, plus method options.

    Attributes:
        outcome: Outcome column.
        treated: 0/1 column: treated now (panels) or treated patient (cross-sections).
        unit: Unit id (practice, area, patient) for panels.
        time: Period column for panels.
        first_treated: First treated period (staggered designs); 0/missing = never.
        group: Inequality-group column: every effect is also estimated by group.
        covariates: Covariate columns.
        cluster: Column of the assigned unit for cluster-robust SEs.
        options: Method-specific options (e.g. ``control_group``, ``population``).
    """

    outcome: str
    treated: str
    unit: str | None = None
    time: str | None = None
    first_treated: str | None = None
    group: str | None = None
    covariates: Sequence[str] = ()
    cluster: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def need(self, *names: str, method: str) -> None:
        """Fail unless the named spec fields are set (e.g. ``unit``, ``time``)."""
        missing = [n for n in names if getattr(self, n) is None]
        if missing:
            flags = ", ".join(f"--{m.replace('_', '-')}" for m in missing)
            raise InputDataError(f"method {method!r} needs {flags}.")


Runner = Callable[[pd.DataFrame, PanelSpec], EvaluationResult]


@dataclass(frozen=True)
class Method:
    """A registered method: name, one-line summary, runner and design kind."""

    name: str
    summary: str
    run: Runner
    design: str = "panel"


class MethodRegistry:
    """Name → `Method`, with clear errors for unknown or duplicate names."""

    def __init__(self) -> None:
        self._methods: dict[str, Method] = {}

    def register(self, method: Method, *, replace: bool = False) -> None:
        """Add a method; refuse to overwrite unless ``replace``."""
        if method.name in self._methods and not replace:
            raise DefinitionError(
                f"evaluation method {method.name!r} is already registered; pass replace=True to override it."
            )
        self._methods[method.name] = method

    def get(self, name: str) -> Method:
        """Return the method called ``name``.

        Raises:
            DefinitionError: unknown name; the message lists the known ones.
        """
        try:
            return self._methods[name]
        except KeyError:
            raise DefinitionError(
                f"unknown evaluation method {name!r}; known methods: {', '.join(self.names())}."
            ) from None

    def names(self) -> list[str]:
        """Registered method names, sorted."""
        return sorted(self._methods)

    def run(self, name: str, data: pd.DataFrame, spec: PanelSpec) -> EvaluationResult:
        """Run a method; with ``spec.group`` also estimate it by group and test the gap."""
        method = self.get(name)
        result = method.run(data, spec)
        if spec.group is not None:
            from carepilot.evaluation.heterogeneity import effects_by_group

            sub_spec = PanelSpec(**{**spec.__dict__, "group": None})
            by = effects_by_group(
                data, group=spec.group, estimate=lambda d: method.run(d, sub_spec)
            )
            result.effects.extend(by.effects)
            result.tables["by_group"] = by.tables["by_group"]
            result.details["heterogeneity_test"] = by.details["heterogeneity_test"]
            result.details["group_reference"] = by.details["reference"]
            result.notes.extend(by.notes)
        return result


def default_registry(modules: Sequence[str] = DEFAULT_METHOD_MODULES) -> MethodRegistry:
    """Build a registry and let each module in ``modules`` register its methods."""
    registry = MethodRegistry()
    for name in modules:
        importlib.import_module(name).register(registry)
    return registry
