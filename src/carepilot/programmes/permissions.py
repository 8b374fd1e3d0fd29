"""Object-level permissions of the workflow (pure).

Role-level access (which roles may call a route at all) is declared on each web route;
these predicates decide whether *this* user may see or change *this* record.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from carepilot.accounts.model import Actor, Role
from carepilot.programmes.model import BidStatus


@dataclass(frozen=True, slots=True)
class BidAccess:
    owner_id: int
    status: BidStatus
    pct_codes: Collection[str]
    sha_code: str
    assessor_ids: Collection[int]
    is_pilot: bool


def can_view_bid(actor: Actor, bid: BidAccess) -> bool:
    """Admin: all. Bidder: own. Commissioner: submitted bids naming their PCT.
    Assessor: submitted bids allocated to them. Steering: selected pilots of their SHA."""
    match actor.role:
        case Role.ADMIN:
            return True
        case Role.BIDDER:
            return actor.id == bid.owner_id
        case Role.COMMISSIONER:
            return bid.status != BidStatus.DRAFT and actor.pct_code in bid.pct_codes
        case Role.ASSESSOR:
            return bid.status != BidStatus.DRAFT and actor.id in bid.assessor_ids
        case Role.STEERING:
            return bid.is_pilot and actor.sha_code == bid.sha_code
        case _:
            return False


def can_edit_bid(actor: Actor, bid: BidAccess) -> bool:
    """Only the bidder who owns the bid edits it (while it is a draft)."""
    return actor.role == Role.BIDDER and actor.id == bid.owner_id


def can_confirm_support(actor: Actor, bid: BidAccess) -> bool:
    return (
        actor.role == Role.COMMISSIONER
        and bid.status != BidStatus.DRAFT
        and actor.pct_code is not None
        and actor.pct_code in bid.pct_codes
    )


def can_score(actor: Actor, bid: BidAccess) -> bool:
    return actor.role == Role.ASSESSOR and actor.id in bid.assessor_ids


def can_manage_pilot(actor: Actor, bid: BidAccess) -> bool:
    """Steering group members of the pilot's SHA, and admins, keep its registers."""
    if not bid.is_pilot:
        return False
    return actor.role == Role.ADMIN or (
        actor.role == Role.STEERING and actor.sha_code == bid.sha_code
    )


def can_read_letter(actor: Actor, bid: BidAccess) -> bool:
    return actor.role == Role.ADMIN or (
        actor.role == Role.BIDDER and actor.id == bid.owner_id
    )
