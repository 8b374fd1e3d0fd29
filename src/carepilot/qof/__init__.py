"""Local Quality and Outcomes Framework: schemes, points and payments.

* `carepilot.qof.model`: the scheme (pure dataclasses) and its YAML reader.
* `carepilot.qof.rules`: the payment arithmetic of the national QOF (points with
  lower/upper thresholds, CPI list-size and APDF prevalence adjustment, pounds
  per point, patients needed to reach the upper threshold). Pure, Decimal money.
* `carepilot.qof.service`: runs a scheme's indicators with the engine and
  applies the rules per practice.

See docs/qof.md.
"""

from carepilot.qof.model import GapIndicator, Scheme, SchemeIndicator, parse_scheme
from carepilot.qof.rules import (
    apdf,
    contractor_population_index,
    gap_points,
    patients_needed,
    payment,
    points,
)

__all__ = [
    "GapIndicator",
    "Scheme",
    "SchemeIndicator",
    "apdf",
    "contractor_population_index",
    "gap_points",
    "parse_scheme",
    "patients_needed",
    "payment",
    "points",
]
