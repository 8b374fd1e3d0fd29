"""Types of an outcome-based contract: parties, population, budget, quality, risk share.

The types live in concept modules (`common`, `parties`, `budget_spec`,
`payment_rules`) and are re-exported here, the stable public API.

A contract is data. These frozen dataclasses hold one validated definition; they
check their own invariants on construction and raise `FieldError` naming the field
(relative to the object) and how to fix it. `contracts.definition` adds the file and
line when the definition came from YAML, and turns a contract back into plain
dictionaries so that it can be stored (workflow database, web forms) later.

Percentages are written as percentages (``2.5`` means 2.5 %), as finance officers
write them, and stored as `Decimal`.

Pure module: imports no I/O, web, database or CLI code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from carepilot.contracts.budget_spec import (
    CapitationSpec,
    ConditionFlag,
    HighCostProtection,
)
from carepilot.contracts.common import (
    HUNDRED,
    SETTING_LABELS,
    FieldError,
    GapMeasure,
    MissingPolicy,
    Polarity,
    RiskShareType,
    ScoringMethod,
    Setting,
    require,
)
from carepilot.contracts.parties import (
    Parties,
    Party,
    PopulationSpec,
    Term,
)
from carepilot.contracts.payment_rules import (
    Band,
    ImprovementCredit,
    IndicatorTarget,
    InequalityTarget,
    QualitySpec,
    RiskShareSpec,
    TariffSpec,
    Tier,
)

__all__ = [
    "Band",
    "CapitationSpec",
    "ConditionFlag",
    "Contract",
    "FieldError",
    "GapMeasure",
    "HUNDRED",
    "HighCostProtection",
    "ImprovementCredit",
    "IndicatorTarget",
    "InequalityTarget",
    "MissingPolicy",
    "Parties",
    "Party",
    "Polarity",
    "PopulationSpec",
    "QualitySpec",
    "RiskShareSpec",
    "RiskShareType",
    "SETTING_LABELS",
    "ScoringMethod",
    "Setting",
    "TariffSpec",
    "Term",
    "Tier",
]


@dataclass(frozen=True, slots=True)
class Contract:
    """An outcome-based contract: who, for whom, how the budget, quality and risk work."""

    id: str
    version: int
    title: str
    parties: Parties
    population: PopulationSpec
    term: Term
    capitation: CapitationSpec
    quality: QualitySpec
    risk_share: RiskShareSpec
    tariff: TariffSpec = field(default_factory=TariffSpec)
    description: str = ""

    def __post_init__(self) -> None:
        require(
            bool(self.id) and self.id.replace("-", "").replace("_", "").isalnum(),
            "id",
            f"`{self.id}` is not a slug",
            "use letters, digits and hyphens, e.g. `ashford-icp-2010`",
        )
        require(self.version >= 1, "version", "must be 1 or more", "e.g. 1")
        require(
            self.capitation.baseline_year < self.term.start.year,
            "capitation.baseline_year",
            "the baseline year must be a whole year before the contract term",
            f"choose a year up to {self.term.start.year - 1}",
        )

    @property
    def indicator_ids(self) -> tuple[str, ...]:
        """Every indicator id the contract reads from the results file."""
        ids = [t.indicator_id for t in self.quality.indicators]
        ids += [t.indicator_id for t in self.quality.inequality_targets]
        return tuple(dict.fromkeys(ids))
