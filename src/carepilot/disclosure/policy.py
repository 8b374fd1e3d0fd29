"""Disclosure-control policies: what is hidden, rounded or left alone.

A `DisclosurePolicy` holds every threshold used by `carepilot.disclosure.release`;
no other module hard-codes a small-number rule. The named constants below each cite
the published rule they implement, so a report can say which rule it used.

Pure module: imports only the standard library and `carepilot.errors`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from carepilot.errors import ConfigError

PolicyKind = Literal["opensafely", "suppress", "none"]
"""How a policy protects small numbers.

* ``"opensafely"``: counts at or below `threshold` are redacted, all other counts
  are rounded to the nearest `rounding_base`, and values are recomputed from the
  rounded counts. No secondary suppression: rounding blurs differences.
* ``"suppress"``: rows whose counts are below `threshold` are hidden, and further
  rows are hidden (secondary suppression) until no hidden row can be recovered from
  the published rows and the additive structure of the table.
* ``"none"``: nothing is changed. Only for users who may see row-level data anyway;
  never for publication.
"""

COUNT_COLUMNS: tuple[str, ...] = ("numerator", "denominator", "exceptions")
"""The count columns of the indicator results table."""

DEFAULT_HIERARCHY: tuple[tuple[str, str], ...] = (
    ("practice", "pcn"),
    ("pcn", "commissioner"),
    ("commissioner", "national"),
)
"""(child area type, parent area type) pairs whose children add up to the parent.

`pilot` areas are not listed: a pilot is a set of practices, not a partition of the
country, so `national` is not the sum of the pilots.
"""


@dataclass(frozen=True, slots=True)
class DisclosurePolicy:
    """A complete statistical disclosure control rule.

    Attributes:
        kind: ``"opensafely"``, ``"suppress"`` or ``"none"`` (see `PolicyKind`).
        name: Short identifier used in ``suppression_reason`` and reports.
        source: The published rule this policy implements.
        threshold: For ``"opensafely"``, counts ``<= threshold`` are redacted; for
            ``"suppress"``, counts ``< threshold`` are suppressed.
        rounding_base: ``"opensafely"`` only: counts above the threshold are
            rounded to the nearest multiple of this.
        redact_zero: Whether a count of exactly 0 is treated as small. ehrQL
            measures turn 0..7 all into 0 (so 0 is indistinguishable from 1..7);
            NHS Digital shows true zeros.
        checked_columns: ``"suppress"`` only: count columns whose small values
            trigger primary suppression of the row.
        protect_complement: ``"suppress"`` only: also suppress a row when
            ``denominator - numerator`` is small, because then "almost everyone"
            reveals the few who were not counted.
        hierarchy: (child, parent) area types whose children add up to the parent;
            used for secondary suppression.
        public: Whether output under this policy may be published.
    """

    kind: PolicyKind
    name: str
    source: str
    threshold: int = 7
    rounding_base: int = 5
    redact_zero: bool = False
    checked_columns: tuple[str, ...] = ("numerator", "denominator")
    protect_complement: bool = True
    hierarchy: tuple[tuple[str, str], ...] = DEFAULT_HIERARCHY
    public: bool = True

    def __post_init__(self) -> None:
        """Refuse inconsistent policies early, naming the offending field."""
        if self.kind not in ("opensafely", "suppress", "none"):
            raise ConfigError(
                f"disclosure policy `{self.name}`: kind must be 'opensafely', "
                f"'suppress' or 'none', got {self.kind!r}"
            )
        if self.threshold < 0:
            raise ConfigError(
                f"disclosure policy `{self.name}`: threshold must be >= 0, "
                f"got {self.threshold}"
            )
        if self.kind == "opensafely" and self.rounding_base < 1:
            raise ConfigError(
                f"disclosure policy `{self.name}`: rounding_base must be >= 1, "
                f"got {self.rounding_base}"
            )
        unknown = [c for c in self.checked_columns if c not in COUNT_COLUMNS]
        if unknown:
            raise ConfigError(
                f"disclosure policy `{self.name}`: checked_columns {unknown} are not "
                f"count columns; choose from {list(COUNT_COLUMNS)}"
            )
        if self.kind == "none" and self.public:
            raise ConfigError(
                f"disclosure policy `{self.name}`: kind 'none' can never be public; "
                "set public=False"
            )


OPENSAFELY = DisclosurePolicy(
    kind="opensafely",
    name="opensafely",
    source=(
        "OpenSAFELY 'Applying statistical disclosure control' and ehrQL measures "
        "disclosure control (opensafely-core/ehrql PR #1746): counts <= 7 redacted "
        "(ehrQL writes 0), all other counts rounded to the nearest 5, ratios "
        "recomputed from the rounded counts"
    ),
    threshold=7,
    rounding_base=5,
    redact_zero=True,
)
"""OpenSAFELY / ehrQL measures: 0..7 → redacted, others to the nearest 5."""

NHS_DIGITAL_2018 = DisclosurePolicy(
    kind="opensafely",
    name="nhs-digital-2018",
    source=(
        "NHS Digital disclosure control methodology for HES and ECDS (from "
        "September 2018): sub-national counts 1-7 suppressed, 0 shown as 0, others "
        "rounded to the nearest 5, percentages from rounded numbers (count rule "
        "recalled, verify against the published method)"
    ),
    threshold=7,
    rounding_base=5,
    redact_zero=False,
)
"""NHS Digital HES/ECDS 2018 rule: 1..7 → suppressed, 0 kept, others to nearest 5."""

NHS_DIGITAL_SUPPRESS_1_TO_5 = DisclosurePolicy(
    kind="suppress",
    name="nhs-digital-suppress-1-5",
    source=(
        "NHS Digital HES disclosure control before September 2018: sub-national "
        "values 1-5 replaced by '*' with secondary suppression so that suppressed "
        "cells cannot be recalculated from totals and other cells"
    ),
    threshold=6,
    redact_zero=False,
)
"""Counts 1..5 suppressed (0 shown) with secondary suppression."""

SUPPRESS_1_TO_7 = DisclosurePolicy(
    kind="suppress",
    name="suppress-1-7",
    source=(
        "OpenSAFELY small-number threshold (statistics describing 7 or fewer "
        "patients are not released) applied as cell suppression with secondary "
        "suppression instead of rounding, for tables that must add up exactly"
    ),
    threshold=8,
    redact_zero=False,
)
"""Counts 1..7 suppressed (0 shown) with secondary suppression; no rounding."""

ROW_LEVEL_ACCESS = DisclosurePolicy(
    kind="none",
    name="row-level-access",
    source="no disclosure control: only for users already entitled to row-level data",
    public=False,
)
"""No control. Never use for anything published."""

POLICIES: dict[str, DisclosurePolicy] = {
    p.name: p
    for p in (
        OPENSAFELY,
        NHS_DIGITAL_2018,
        NHS_DIGITAL_SUPPRESS_1_TO_5,
        SUPPRESS_1_TO_7,
        ROW_LEVEL_ACCESS,
    )
}
"""Named policies, for settings and the CLI (``--disclosure opensafely``)."""


def get_policy(name: str) -> DisclosurePolicy:
    """Look up a named policy.

    Args:
        name: One of the keys of `POLICIES`.

    Returns:
        The policy.

    Raises:
        ConfigError: If no policy has that name; the message lists the choices.
    """
    try:
        return POLICIES[name]
    except KeyError:
        raise ConfigError(
            f"unknown disclosure policy {name!r}; choose one of {sorted(POLICIES)}"
        ) from None
