"""Causal evaluation methods behind a registry (pure: no web, database or file I/O).

Public API::

    from carepilot.evaluation import default_registry, PanelSpec
    result = default_registry().run("staggered", df, PanelSpec(outcome="y", treated="d",
                                    unit="practice", time="year", first_treated="g"))

Estimators can also be called directly: `did_2x2`, `twfe`, `callaway_santanna`,
`event_study`, `interrupted_time_series`, `synthetic_control`, `synthetic_did`,
`treatment_effect`, `match_comparators`, `matching_estimator`, `balance_table`,
`effects_by_group`, `twfe_gap_change`, `poisson_imputation`. The HTML report lives in
`carepilot.evaluation.report` (imported on demand because it needs Jinja2).
"""

from carepilot.evaluation.balance import balance_table
from carepilot.evaluation.did import did_2x2, twfe
from carepilot.evaluation.event_study import event_study
from carepilot.evaluation.heterogeneity import effects_by_group, twfe_gap_change
from carepilot.evaluation.its import interrupted_time_series
from carepilot.evaluation.matching import (
    MatchResult,
    match_comparators,
    matching_estimator,
)
from carepilot.evaluation.rate_ratio import poisson_imputation
from carepilot.evaluation.registry import (
    Method,
    MethodRegistry,
    PanelSpec,
    default_registry,
)
from carepilot.evaluation.results import Effect, EvaluationResult
from carepilot.evaluation.staggered import callaway_santanna
from carepilot.evaluation.synth import synthetic_control, synthetic_did
from carepilot.evaluation.treatment import treatment_effect

__all__ = [
    "Effect",
    "EvaluationResult",
    "MatchResult",
    "Method",
    "MethodRegistry",
    "PanelSpec",
    "balance_table",
    "callaway_santanna",
    "default_registry",
    "did_2x2",
    "effects_by_group",
    "event_study",
    "interrupted_time_series",
    "match_comparators",
    "matching_estimator",
    "poisson_imputation",
    "synthetic_control",
    "synthetic_did",
    "treatment_effect",
    "twfe",
    "twfe_gap_change",
]
