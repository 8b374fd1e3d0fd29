"""Statistical disclosure control: the single gate through which figures leave.

Every report, page, export or CLI output that shows numbers calls
`release(results, policy)`. Policies (`DisclosurePolicy`) hold every threshold and
cite the published rule they implement; see ``docs/disclosure.md``.

Pure package: NumPy, pandas and SciPy only; no web, database or CLI imports and no
file access.
"""

from __future__ import annotations

from carepilot.disclosure.policy import (
    NHS_DIGITAL_2018,
    NHS_DIGITAL_SUPPRESS_1_TO_5,
    OPENSAFELY,
    POLICIES,
    ROW_LEVEL_ACCESS,
    SUPPRESS_1_TO_7,
    DisclosurePolicy,
    get_policy,
)
from carepilot.disclosure.release import (
    STAT_COLUMNS,
    ValueFn,
    blank_statistics,
    recompute_ratio,
    release,
)

__all__ = [
    "NHS_DIGITAL_2018",
    "NHS_DIGITAL_SUPPRESS_1_TO_5",
    "OPENSAFELY",
    "POLICIES",
    "ROW_LEVEL_ACCESS",
    "STAT_COLUMNS",
    "SUPPRESS_1_TO_7",
    "DisclosurePolicy",
    "ValueFn",
    "blank_statistics",
    "get_policy",
    "recompute_ratio",
    "release",
]
