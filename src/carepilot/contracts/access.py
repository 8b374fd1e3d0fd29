"""Who may see and change a stored contract (pure: no database or web imports).

Providers are users with the bidder role (provider or consortium users) whose
`organisation_code` is the lead provider's or a subcontractor's ODS code: they see
only contracts where their organisation is a party, and never change them.
Commissioners (role commissioner) see and edit the contracts whose commissioner is
their PCT (`pct_code`). Admins see and edit everything. Nobody else, and nobody
signed out, sees any contract.
"""

from __future__ import annotations

from collections.abc import Collection

from carepilot.accounts.model import Actor, Role

PROVIDER_ROLES = frozenset({"lead_provider", "subcontractor"})


def can_view(
    actor: Actor, commissioner_code: str, provider_codes: Collection[str]
) -> bool:
    """Whether `actor` may read a contract, its statements and simulations."""
    if actor.role is Role.ADMIN:
        return True
    if actor.role is Role.COMMISSIONER:
        return actor.pct_code is not None and actor.pct_code == commissioner_code
    if actor.role is Role.BIDDER:
        return (
            actor.organisation_code is not None
            and actor.organisation_code in provider_codes
        )
    return False


def can_edit(actor: Actor, commissioner_code: str) -> bool:
    """Whether `actor` may change a contract or run its settlement and simulations."""
    if actor.role is Role.ADMIN:
        return True
    return (
        actor.role is Role.COMMISSIONER
        and actor.pct_code is not None
        and actor.pct_code == commissioner_code
    )


def can_create(actor: Actor, commissioner_code: str) -> bool:
    """Commissioners create contracts for their own PCT; admins for any."""
    return can_edit(actor, commissioner_code)
