"""Workflow states, enums and the domain errors of the programme workflow (pure).

Imports no web, database or CLI code.
"""

from __future__ import annotations

from enum import StrEnum

from carepilot.errors import InputDataError, UserError


class ProgrammeStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class BidStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    DECIDED = "decided"


class OrgType(StrEnum):
    GP_PRACTICE = "gp_practice"
    PBC_CONSORTIUM = "pbc_consortium"
    COMMUNITY_PROVIDER = "community_provider"
    ACUTE_TRUST = "acute_trust"
    MENTAL_HEALTH_TRUST = "mental_health_trust"
    LA_SOCIAL_CARE = "la_social_care"
    THIRD_SECTOR = "third_sector"
    SOCIAL_ENTERPRISE = "social_enterprise"
    PRIVATE_COMPANY = "private_company"


ORG_TYPE_LABELS: dict[OrgType, str] = {
    OrgType.GP_PRACTICE: "GP practice",
    OrgType.PBC_CONSORTIUM: "Practice-based commissioning consortium",
    OrgType.COMMUNITY_PROVIDER: "Community provider",
    OrgType.ACUTE_TRUST: "Acute trust",
    OrgType.MENTAL_HEALTH_TRUST: "Mental health trust",
    OrgType.LA_SOCIAL_CARE: "Local authority social care",
    OrgType.THIRD_SECTOR: "Third sector",
    OrgType.SOCIAL_ENTERPRISE: "Social enterprise",
    OrgType.PRIVATE_COMPANY: "Private company",
}


class Inequality(StrEnum):
    """The specific inequalities a bid may commit to (the prospectus list)."""

    RACE = "race"
    GENDER = "gender"
    DISABILITY = "disability"
    RELIGION = "religion"
    SEXUALITY = "sexuality"


INEQUALITY_BREAKDOWN: dict[Inequality, str] = {
    Inequality.RACE: "ethnicity_5",
    Inequality.GENDER: "sex",
    Inequality.DISABILITY: "disability",
    Inequality.RELIGION: "religion",
    Inequality.SEXUALITY: "sexual_orientation",
}
"""Which breakdown of the indicator results table measures each inequality."""


class TargetKind(StrEnum):
    CLINICAL = "clinical"
    CARE = "care"
    PATIENT_REPORTED = "patient_reported"


class Decision(StrEnum):
    SELECTED = "selected"
    FRONTRUNNER = "frontrunner"
    RESERVE = "reserve"
    NOT_SELECTED = "not_selected"


SELECTED_DECISIONS = frozenset({Decision.SELECTED, Decision.FRONTRUNNER})


class RiskStatus(StrEnum):
    OPEN = "open"
    MITIGATING = "mitigating"
    CLOSED = "closed"


class MilestoneStatus(StrEnum):
    PLANNED = "planned"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    DONE = "done"


class Section(StrEnum):
    """Narrative sections of a bid; a prospectus chooses which are required."""

    POPULATION = "population"
    SERVICES = "services"
    GENERAL_INEQUALITY = "general_inequality"
    GOVERNANCE = "governance"
    PATIENT_CHOICE = "patient_choice"
    INNOVATION = "innovation"
    WORLD_CLASS_COMMISSIONING = "world_class_commissioning"
    RISK_PLAN = "risk_plan"
    BUDGET_MODEL = "budget_model"


SECTION_LABELS: dict[Section, str] = {
    Section.POPULATION: "Population and practices covered",
    Section.SERVICES: "Services to integrate",
    Section.GENERAL_INEQUALITY: "General commitment on health inequalities",
    Section.GOVERNANCE: "Clinical governance arrangements",
    Section.PATIENT_CHOICE: "How patient choice is protected",
    Section.INNOVATION: "Innovation track record",
    Section.WORLD_CLASS_COMMISSIONING: "PCT world-class commissioning evidence",
    Section.RISK_PLAN: "Risk management plan",
    Section.BUDGET_MODEL: "Proposed budget model (for example capitated)",
}


class NotFound(UserError):
    """A record does not exist, or the user may not know that it exists."""

    exit_code = 9


class StateConflict(UserError):
    """The action is not allowed in the record's current state (e.g. bid submitted)."""

    exit_code = 10


class FormInvalid(InputDataError):
    """Input failed validation; `errors` maps field names to messages for the form."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__(
            "; ".join(f"{field}: {message}" for field, message in errors.items())
        )
