"""ORM tables of stored contracts. Only `contracts.repo` and `contracts.workflow` use them.

A contract (`contracts`) has numbered versions (`contract_versions`: the YAML text
as written, its parsed JSON and the text's SHA-256), the organisation codes of its
parties (`contract_parties`, rewritten with each version, used for row-level access)
and runs (`contract_runs`: settlement statements and simulation results as JSON,
with the checksums of the inputs they were computed from).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import carepilot.accounts.tables  # noqa: F401 - `users`, referenced by foreign keys
from carepilot.db.base import Base


class ContractRow(Base):
    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    commissioner_code: Mapped[str] = mapped_column(String(20), index=True)
    current_version: Mapped[int]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ContractVersionRow(Base):
    """One saved definition; never changed once written."""

    __tablename__ = "contract_versions"
    __table_args__ = (UniqueConstraint("contract_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int]
    yaml_text: Mapped[str] = mapped_column(Text)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    checksum: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class ContractPartyRow(Base):
    """A party of the current version: commissioner, lead provider or subcontractor."""

    __tablename__ = "contract_parties"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20))
    organisation_code: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(200))


class ContractRunRow(Base):
    """A settlement (statements of one year) or a simulation, with its input checksums."""

    __tablename__ = "contract_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int]
    kind: Mapped[str] = mapped_column(String(20))
    year: Mapped[int]
    label: Mapped[str] = mapped_column(String(200))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    input_checksums: Mapped[dict[str, str]] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
