"""Evaluate a pilot on the analytics database (`carepilot evaluate --pilot`).

Service layer over `carepilot.engine` (outcomes are library indicators) and
`carepilot.evaluation` (estimators and the report)::

    from carepilot.pilot_evaluation import EvaluationRequest, evaluate_pilot, write_evaluation
    ev = evaluate_pilot(tables, EvaluationRequest("ICP01", ("emergency-admissions-rate",)))
    write_evaluation(ev, Path("out"))

See docs/pilot-evaluation.md.
"""

from carepilot.pilot_evaluation.analysis import DESIGNS
from carepilot.pilot_evaluation.service import (
    EvaluationRequest,
    OutcomeEvaluation,
    PilotEvaluation,
    build_outcome_report,
    evaluate_pilot,
    write_evaluation,
)

__all__ = [
    "DESIGNS",
    "EvaluationRequest",
    "OutcomeEvaluation",
    "PilotEvaluation",
    "build_outcome_report",
    "evaluate_pilot",
    "write_evaluation",
]
