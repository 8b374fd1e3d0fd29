from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carepilot.programmes.model import (
    BidStatus,
    Decision,
    Inequality,
    OrgType,
    RiskStatus,
    Section,
    StateConflict,
)
from carepilot.programmes.rules import (
    BidFacts,
    LetterFacts,
    check_eligibility,
    check_risk_transition,
    feedback_letter,
    has_conflict,
    is_open,
    moderate,
    require_status,
    risk_band,
    risk_rating,
    submission_problems,
    weighted_total,
)

DEADLINE = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)


def facts(**kw: object) -> BidFacts:
    base: dict[str, object] = dict(
        lead_org_type=OrgType.PBC_CONSORTIUM,
        pct_codes=("5QJ",),
        confirmed_pct_codes=("5QJ",),
        inequalities=(Inequality.RACE,),
        evaluation_agreed=True,
        sections={"governance": "Board"},
        submitted_at=DEADLINE - timedelta(hours=1),
    )
    base.update(kw)
    return BidFacts(**base)  # type: ignore[arg-type]


def results(**kw: object) -> dict[str, tuple[bool, str]]:
    return {
        r.rule: (r.passed, r.reason)
        for r in check_eligibility(facts(**kw), [Section.GOVERNANCE], DEADLINE)
    }


def test_a_complete_bid_passes_every_rule() -> None:
    assert all(passed for passed, _ in results().values())
    assert len(results()) == 6


@pytest.mark.parametrize(
    ("change", "rule", "reason"),
    [
        ({"lead_org_type": OrgType.PRIVATE_COMPANY}, "lead_not_private", "never lead"),
        ({"lead_org_type": None}, "lead_not_private", "No lead"),
        (
            {"confirmed_pct_codes": ()},
            "pct_support",
            "Not yet confirmed by a commissioner of: 5QJ",
        ),
        ({"pct_codes": ()}, "pct_support", "No supporting PCT"),
        ({"pct_codes": ("5QJ", "5A3")}, "pct_support", "5A3"),
        ({"inequalities": ()}, "specific_inequality", "No specific inequality"),
        ({"evaluation_agreed": False}, "evaluation_agreed", "not given"),
        ({"sections": {"governance": "  "}}, "sections_complete", "governance"),
        (
            {"submitted_at": DEADLINE + timedelta(seconds=1)},
            "before_deadline",
            "deadline",
        ),
        ({"submitted_at": None}, "before_deadline", "Not submitted"),
    ],
)
def test_each_rule_fails_with_its_reason(
    change: dict[str, object], rule: str, reason: str
) -> None:
    out = results(**change)
    passed, why = out[rule]
    assert not passed and reason in why
    assert sum(not p for p, _ in out.values()) == 1  # only that rule fails


def test_submission_problems_name_fields() -> None:
    assert submission_problems(facts(), [Section.GOVERNANCE]) == {}
    errs = submission_problems(
        facts(lead_org_type=None, inequalities=(), sections={}), [Section.GOVERNANCE]
    )
    assert set(errs) == {"partners", "inequalities", "section_governance"}


def test_window_is_half_open() -> None:
    t0 = DEADLINE - timedelta(days=10)
    assert is_open(t0, DEADLINE, t0) and not is_open(t0, DEADLINE, DEADLINE)


def test_require_status() -> None:
    require_status(BidStatus.DRAFT, [BidStatus.DRAFT], "edit")
    with pytest.raises(StateConflict, match="the bid is submitted"):
        require_status(BidStatus.SUBMITTED, [BidStatus.DRAFT], "edit")


def test_conflicts_compare_codes_case_insensitively() -> None:
    assert has_conflict(["ra7 "], ["Y01", "RA7"])
    assert not has_conflict(["RA8", ""], ["Y01", "RA7"])


def test_weighted_total_is_percentage_of_maximum() -> None:
    assert weighted_total({1: 4, 2: 0}, {1: 3.0, 2: 1.0}) == pytest.approx(75.0)
    assert weighted_total({1: 2}, {1: 1.0, 2: 1.0}) == pytest.approx(25.0)
    assert weighted_total({}, {}) == 0.0


def test_moderation_flags_spread_above_threshold() -> None:
    out = {m.criterion_id: m for m in moderate({1: [4, 1], 2: [3, 2], 3: []})}
    assert out[1].divergent and out[1].spread == 3 and out[1].mean == 2.5
    assert not out[2].divergent and 3 not in out


def test_risk_matrix() -> None:
    assert risk_rating(4, 3) == 12 and risk_band(12) == "high"
    assert [risk_band(s) for s in (1, 4, 8, 15)] == [
        "low",
        "moderate",
        "high",
        "extreme",
    ]
    with pytest.raises(ValueError):
        risk_rating(0, 3)


def test_risk_transitions() -> None:
    check_risk_transition(RiskStatus.OPEN, RiskStatus.CLOSED)
    with pytest.raises(StateConflict):
        check_risk_transition(RiskStatus.OPEN, RiskStatus.OPEN)


@pytest.mark.parametrize("decision", list(Decision))
def test_feedback_letter_states_the_decision(decision: Decision) -> None:
    text = feedback_letter(
        LetterFacts("Bid", "Lead", "Prog", decision, 62.4, "Good work", ("Clear plan",))
    )
    assert (
        text.startswith("Dear Lead,")
        and "62%" in text
        and "Good work" in text
        and "- Clear plan" in text
    )
    assert ("steering group" in text) == (
        decision in (Decision.SELECTED, Decision.FRONTRUNNER)
    )
