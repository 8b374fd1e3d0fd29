"""Eligibility, transitions, scoring, moderation and risk rules (pure).

Every eligibility rule returns pass/fail *with the reason* so the admin and the bidder
see why. Imports no web, database or CLI code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import mean

from carepilot.programmes.model import (
    BidStatus,
    Decision,
    Inequality,
    OrgType,
    RiskStatus,
    Section,
    StateConflict,
)

MIN_ASSESSORS = 2
SCORE_MIN = 0
SCORE_MAX = 4
DIVERGENCE_THRESHOLD = 2
"""Scores for one criterion further apart than this (max - min) go to moderation."""


@dataclass(frozen=True, slots=True)
class BidFacts:
    """What the eligibility rules need to know about a bid."""

    lead_org_type: OrgType | None
    pct_codes: Sequence[str]
    confirmed_pct_codes: Sequence[str]
    inequalities: Sequence[Inequality]
    evaluation_agreed: bool
    sections: Mapping[str, str]
    submitted_at: datetime | None


@dataclass(frozen=True, slots=True)
class RuleResult:
    rule: str
    title: str
    passed: bool
    reason: str


def check_eligibility(
    bid: BidFacts, required_sections: Sequence[Section], deadline: datetime
) -> list[RuleResult]:
    """Run the prospectus's automatic eligibility rules on a submitted bid."""
    results: list[RuleResult] = []
    lead = bid.lead_org_type
    results.append(
        RuleResult(
            "lead_not_private",
            "Lead organisation is not a private company",
            lead is not None and lead != OrgType.PRIVATE_COMPANY,
            "No lead organisation named"
            if lead is None
            else (
                "The lead organisation is a private company; private companies may "
                "support a bid but never lead it"
                if lead == OrgType.PRIVATE_COMPANY
                else f"Lead organisation type is {lead.value}"
            ),
        )
    )
    missing = sorted(set(bid.pct_codes) - set(bid.confirmed_pct_codes))
    results.append(
        RuleResult(
            "pct_support",
            "Support confirmed by every supporting PCT",
            bool(bid.pct_codes) and not missing,
            "No supporting PCT named"
            if not bid.pct_codes
            else (
                f"Not yet confirmed by a commissioner of: {', '.join(missing)}"
                if missing
                else f"Confirmed by {', '.join(sorted(bid.pct_codes))}"
            ),
        )
    )
    results.append(
        RuleResult(
            "specific_inequality",
            "At least one specific inequality commitment",
            len(bid.inequalities) >= 1,
            f"Commits on: {', '.join(sorted(i.value for i in bid.inequalities))}"
            if bid.inequalities
            else "No specific inequality (race, gender, disability, religion or "
            "sexuality) committed to",
        )
    )
    results.append(
        RuleResult(
            "evaluation_agreed",
            "Agrees to the three-year evaluation",
            bid.evaluation_agreed,
            "Agreed" if bid.evaluation_agreed else "Evaluation agreement not given",
        )
    )
    empty = [
        s.value for s in required_sections if not bid.sections.get(s.value, "").strip()
    ]
    results.append(
        RuleResult(
            "sections_complete",
            "Required sections complete",
            not empty,
            f"Empty required sections: {', '.join(empty)}" if empty else "All complete",
        )
    )
    on_time = bid.submitted_at is not None and bid.submitted_at <= deadline
    results.append(
        RuleResult(
            "before_deadline",
            "Submitted before the deadline",
            on_time,
            "Not submitted"
            if bid.submitted_at is None
            else (
                f"Submitted {bid.submitted_at:%d %b %Y %H:%M} UTC, deadline "
                f"{deadline:%d %b %Y %H:%M} UTC"
            ),
        )
    )
    return results


def submission_problems(
    facts: BidFacts, required_sections: Sequence[Section]
) -> dict[str, str]:
    """Field errors that stop a bidder submitting (shown in the error summary)."""
    errors: dict[str, str] = {}
    if facts.lead_org_type is None:
        errors["partners"] = "Add the lead organisation of the partnership"
    if not facts.pct_codes:
        errors["pct_codes"] = "Name at least one supporting PCT"
    if not facts.inequalities:
        errors["inequalities"] = "Commit to at least one specific inequality"
    if not facts.evaluation_agreed:
        errors["evaluation_agreed"] = "Agree to the three-year evaluation"
    for s in required_sections:
        if not facts.sections.get(s.value, "").strip():
            errors[f"section_{s.value}"] = f"Complete the required section '{s.value}'"
    return errors


def is_open(opens_at: datetime, closes_at: datetime, now: datetime) -> bool:
    """Bids can be created and submitted in [opens_at, closes_at)."""
    return opens_at <= now < closes_at


def require_status(
    current: BidStatus, allowed: Sequence[BidStatus], action: str
) -> None:
    """Raise StateConflict unless the bid is in one of `allowed` states."""
    if current not in allowed:
        raise StateConflict(
            f"cannot {action}: the bid is {current.value}; this needs "
            f"{' or '.join(s.value for s in allowed)}"
        )


def has_conflict(declared_orgs: Sequence[str], bid_orgs: Sequence[str]) -> bool:
    """An assessor conflicts with a bid when they declared any of its organisations."""
    norm = {o.strip().upper() for o in declared_orgs if o.strip()}
    return any(o.strip().upper() in norm for o in bid_orgs)


def weighted_total(scores: Mapping[int, int], weights: Mapping[int, float]) -> float:
    """Weighted score as a percentage of the maximum: 100·Σ wᵢsᵢ / (SCORE_MAX·Σ wᵢ)."""
    total_weight = sum(weights.values())
    if total_weight <= 0:
        return 0.0
    achieved = sum(weights[c] * s for c, s in scores.items() if c in weights)
    return 100.0 * achieved / (SCORE_MAX * total_weight)


@dataclass(frozen=True, slots=True)
class CriterionModeration:
    criterion_id: int
    scores: Sequence[int]
    mean: float
    spread: int
    divergent: bool


def moderate(
    scores_by_criterion: Mapping[int, Sequence[int]],
    threshold: int = DIVERGENCE_THRESHOLD,
) -> list[CriterionModeration]:
    """Flag criteria whose assessor scores differ by more than `threshold` points."""
    out: list[CriterionModeration] = []
    for cid, scores in sorted(scores_by_criterion.items()):
        if not scores:
            continue
        spread = max(scores) - min(scores)
        out.append(
            CriterionModeration(
                cid, list(scores), mean(scores), spread, spread > threshold
            )
        )
    return out


def risk_rating(likelihood: int, impact: int) -> int:
    """Risk score = likelihood × impact on 1–5 scales (NHS 5×5 risk matrix)."""
    if not (1 <= likelihood <= 5 and 1 <= impact <= 5):
        raise ValueError("likelihood and impact must be between 1 and 5")
    return likelihood * impact


def risk_band(score: int) -> str:
    """Band of a 5×5 risk score: 1–3 low, 4–6 moderate, 8–12 high, 15–25 extreme."""
    if score <= 3:
        return "low"
    if score <= 6:
        return "moderate"
    if score <= 12:
        return "high"
    return "extreme"


RISK_TRANSITIONS: dict[RiskStatus, frozenset[RiskStatus]] = {
    RiskStatus.OPEN: frozenset({RiskStatus.MITIGATING, RiskStatus.CLOSED}),
    RiskStatus.MITIGATING: frozenset({RiskStatus.OPEN, RiskStatus.CLOSED}),
    RiskStatus.CLOSED: frozenset({RiskStatus.OPEN}),
}


def check_risk_transition(current: RiskStatus, new: RiskStatus) -> None:
    if new not in RISK_TRANSITIONS[current]:
        raise StateConflict(f"a risk cannot move from {current.value} to {new.value}")


@dataclass(frozen=True, slots=True)
class LetterFacts:
    bid_title: str
    lead_name: str
    programme_title: str
    decision: Decision
    weighted_score: float | None
    rationale: str
    strengths: Sequence[str] = field(default_factory=tuple)


_DECISION_TEXT: dict[Decision, str] = {
    Decision.FRONTRUNNER: "has been selected as a frontrunner integrated care pilot",
    Decision.SELECTED: "has been selected as an integrated care pilot",
    Decision.RESERVE: "has been placed on the reserve list",
    Decision.NOT_SELECTED: "has not been selected on this occasion",
}


def feedback_letter(f: LetterFacts) -> str:
    """Plain-text feedback letter for the bidder, generated from the panel decision."""
    lines = [
        f"Dear {f.lead_name},",
        "",
        f"Re: {f.programme_title} — bid '{f.bid_title}'",
        "",
        f"Thank you for your bid. Following national assessment and moderation, the "
        f"panel has decided that your bid {_DECISION_TEXT[f.decision]}.",
        "",
    ]
    if f.weighted_score is not None:
        lines += [f"Your moderated weighted score was {f.weighted_score:.0f}%.", ""]
    if f.rationale.strip():
        lines += ["The panel's feedback:", f.rationale.strip(), ""]
    if f.strengths:
        lines += ["Assessor comments:", *[f"- {s}" for s in f.strengths], ""]
    if f.decision in (Decision.SELECTED, Decision.FRONTRUNNER):
        lines += [
            "Your SHA steering group will contact you to set up the risk register, "
            "learning log and milestones, and the three-year evaluation.",
            "",
        ]
    lines += ["Yours sincerely,", "National programme team"]
    return "\n".join(lines)


SUBMITTED_STATES = (
    BidStatus.SUBMITTED,
    BidStatus.ELIGIBLE,
    BidStatus.INELIGIBLE,
    BidStatus.DECIDED,
)
