"""Roles and the user value handed to the web layer (pure: no DB, no web imports)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What a signed-in user is; `public` is everyone not signed in."""

    ADMIN = "admin"
    ASSESSOR = "assessor"
    STEERING = "steering"
    COMMISSIONER = "commissioner"
    BIDDER = "bidder"
    PUBLIC = "public"


ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: "Programme admin",
    Role.ASSESSOR: "National assessor",
    Role.STEERING: "SHA steering group member",
    Role.COMMISSIONER: "PCT commissioner",
    Role.BIDDER: "Bidder (provider or consortium user)",
    Role.PUBLIC: "Public",
}


@dataclass(frozen=True, slots=True)
class Actor:
    """The signed-in user as seen by services and templates (never the ORM row).

    `organisation_code` is the bidder's or assessor's own organisation, `pct_code` the
    PCT a commissioner acts for, `sha_code` the SHA a steering member sits for.
    """

    id: int
    email: str
    name: str
    role: Role
    organisation_code: str | None = None
    pct_code: str | None = None
    sha_code: str | None = None

    @property
    def label(self) -> str:
        return f"{self.name} ({ROLE_LABELS[self.role]})"


SYSTEM_ACTOR = Actor(id=0, email="system", name="carepilot", role=Role.ADMIN)
"""Used for changes made by CLI commands (seeding), recorded as such in the audit log."""
