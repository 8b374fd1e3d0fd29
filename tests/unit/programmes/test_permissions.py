from __future__ import annotations

import pytest

from carepilot.accounts.model import Actor, Role
from carepilot.programmes.model import BidStatus
from carepilot.programmes.permissions import (
    BidAccess,
    can_confirm_support,
    can_edit_bid,
    can_manage_pilot,
    can_read_letter,
    can_score,
    can_view_bid,
)

OWNER = Actor(1, "b@x", "B", Role.BIDDER)
OTHER_BIDDER = Actor(2, "o@x", "O", Role.BIDDER)
ADMIN = Actor(3, "a@x", "A", Role.ADMIN)
ASSESSOR = Actor(4, "s@x", "S", Role.ASSESSOR)
OTHER_ASSESSOR = Actor(5, "t@x", "T", Role.ASSESSOR)
COMM = Actor(6, "c@x", "C", Role.COMMISSIONER, pct_code="5QJ")
OTHER_COMM = Actor(7, "d@x", "D", Role.COMMISSIONER, pct_code="5A3")
STEER = Actor(8, "g@x", "G", Role.STEERING, sha_code="Q30")
OTHER_STEER = Actor(9, "h@x", "H", Role.STEERING, sha_code="Q31")


def bid(status: BidStatus = BidStatus.SUBMITTED, pilot: bool = False) -> BidAccess:
    return BidAccess(
        owner_id=1,
        status=status,
        pct_codes=("5QJ",),
        sha_code="Q30",
        assessor_ids=(4,),
        is_pilot=pilot,
    )


def test_drafts_are_visible_only_to_their_owner_and_admins() -> None:
    draft = bid(BidStatus.DRAFT)
    visible = {
        a.id
        for a in (OWNER, OTHER_BIDDER, ADMIN, ASSESSOR, COMM, STEER)
        if can_view_bid(a, draft)
    }
    assert visible == {OWNER.id, ADMIN.id}
    assert not can_confirm_support(COMM, draft)


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        (OWNER, True),
        (OTHER_BIDDER, False),
        (ADMIN, True),
        (ASSESSOR, True),
        (OTHER_ASSESSOR, False),
        (COMM, True),
        (OTHER_COMM, False),
        (STEER, False),
        (OTHER_STEER, False),
    ],
)
def test_view_submitted_bid(actor: Actor, expected: bool) -> None:
    assert can_view_bid(actor, bid()) is expected


def test_steering_sees_only_its_own_shas_pilots() -> None:
    assert can_view_bid(STEER, bid(BidStatus.DECIDED, pilot=True))
    assert not can_view_bid(OTHER_STEER, bid(BidStatus.DECIDED, pilot=True))
    assert can_manage_pilot(STEER, bid(BidStatus.DECIDED, True)) and can_manage_pilot(
        ADMIN, bid(BidStatus.DECIDED, True)
    )
    assert not can_manage_pilot(STEER, bid(BidStatus.DECIDED, False))


def test_only_the_owner_edits_and_only_allocated_assessors_score() -> None:
    assert (
        can_edit_bid(OWNER, bid())
        and not can_edit_bid(OTHER_BIDDER, bid())
        and not can_edit_bid(ADMIN, bid())
    )
    assert can_score(ASSESSOR, bid()) and not can_score(OTHER_ASSESSOR, bid())
    assert can_confirm_support(COMM, bid()) and not can_confirm_support(
        OTHER_COMM, bid()
    )
    assert (
        can_read_letter(OWNER, bid())
        and can_read_letter(ADMIN, bid())
        and not can_read_letter(OTHER_BIDDER, bid())
    )
