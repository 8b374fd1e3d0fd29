"""Shared vocabulary of contract definitions: enums, percentages and field errors.

Percentages are written as percentages (``2.5`` means 2.5 %), as finance officers
write them, and stored as `Decimal`. Pure module.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from carepilot.errors import DefinitionError

HUNDRED = Decimal(100)


class FieldError(DefinitionError):
    """A contract field is invalid; `field` is its dotted path inside the object."""

    def __init__(self, field_path: str, problem: str, fix: str) -> None:
        self.field = field_path
        self.problem = problem
        self.fix = fix
        super().__init__(f"`{field_path}`: {problem}; fix: {fix}")

    def within(self, prefix: str) -> FieldError:
        """Return the same error with `prefix.` prepended to the field path."""
        path = f"{prefix}.{self.field}" if prefix else self.field
        return FieldError(path, self.problem, self.fix)


class Setting(StrEnum):
    """Care settings whose spend the capitated budget covers (tables of the data model)."""

    APCS = "apcs"
    OPA = "opa"
    EC = "ec"
    COMMUNITY = "community"


SETTING_LABELS: dict[Setting, str] = {
    Setting.APCS: "Admitted patient care (hospital spells)",
    Setting.OPA: "Outpatient appointments",
    Setting.EC: "Emergency care (A&E) attendances",
    Setting.COMMUNITY: "Community health service contacts",
}


class RiskShareType(StrEnum):
    """One-sided: the provider shares savings only. Two-sided: savings and losses."""

    ONE_SIDED = "one_sided"
    TWO_SIDED = "two_sided"


class ScoringMethod(StrEnum):
    """How achievement earns credit: linear between thresholds, or in tiers."""

    LINEAR = "linear"
    TIERED = "tiered"


class Polarity(StrEnum):
    """Whether a higher indicator value is better or worse."""

    HIGHER = "higher_is_better"
    LOWER = "lower_is_better"


class GapMeasure(StrEnum):
    """Inequality measure: slope index of inequality, or the extreme-group gap."""

    SII = "sii"
    GAP = "gap"


class MissingPolicy(StrEnum):
    """What an indicator with no (or suppressed) result earns.

    ``zero`` earns nothing; ``reweight`` spreads its weight over the indicators that
    could be assessed (as value-based purchasing schemes do for too-small measures).
    """

    ZERO = "zero"
    REWEIGHT = "reweight"


def require(condition: bool, field_path: str, problem: str, fix: str) -> None:
    if not condition:
        raise FieldError(field_path, problem, fix)


def is_pct(value: Decimal) -> bool:
    return Decimal(0) <= value <= HUNDRED
