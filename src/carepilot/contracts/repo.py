"""Queries of stored contracts and row -> view conversion (the only `select()`s)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carepilot.contracts.access import PROVIDER_ROLES
from carepilot.contracts.tables import (
    ContractPartyRow,
    ContractRow,
    ContractRunRow,
    ContractVersionRow,
)
from carepilot.programmes.model import NotFound


@dataclass(frozen=True, slots=True)
class PartyView:
    role: str
    organisation_code: str
    name: str


@dataclass(frozen=True, slots=True)
class ContractView:
    """A stored contract with its current version (never the ORM row)."""

    id: int
    slug: str
    title: str
    commissioner_code: str
    version: int
    yaml_text: str
    definition: dict[str, Any]
    checksum: str
    parties: tuple[PartyView, ...]
    updated_at: datetime

    @property
    def provider_codes(self) -> frozenset[str]:
        return frozenset(
            p.organisation_code for p in self.parties if p.role in PROVIDER_ROLES
        )


@dataclass(frozen=True, slots=True)
class RunView:
    """A stored settlement or simulation."""

    id: int
    contract_id: int
    version: int
    kind: str
    year: int
    label: str
    result: dict[str, Any]
    input_checksums: dict[str, str]
    created_at: datetime


def contract_row(session: Session, contract_id: int) -> ContractRow:
    row = session.get(ContractRow, contract_id)
    if row is None:
        raise NotFound(f"contract {contract_id} does not exist")
    return row


def version_row(session: Session, contract_id: int, version: int) -> ContractVersionRow:
    row = session.scalar(
        select(ContractVersionRow).where(
            ContractVersionRow.contract_id == contract_id,
            ContractVersionRow.version == version,
        )
    )
    if row is None:
        raise NotFound(f"contract {contract_id} has no version {version}")
    return row


def party_rows(session: Session, contract_id: int) -> Sequence[ContractPartyRow]:
    return session.scalars(
        select(ContractPartyRow)
        .where(ContractPartyRow.contract_id == contract_id)
        .order_by(ContractPartyRow.id)
    ).all()


def contract_view(session: Session, row: ContractRow) -> ContractView:
    ver = version_row(session, row.id, row.current_version)
    return ContractView(
        id=row.id,
        slug=row.slug,
        title=row.title,
        commissioner_code=row.commissioner_code,
        version=row.current_version,
        yaml_text=ver.yaml_text,
        definition=dict(ver.definition),
        checksum=ver.checksum,
        parties=tuple(
            PartyView(p.role, p.organisation_code, p.name)
            for p in party_rows(session, row.id)
        ),
        updated_at=row.updated_at,
    )


def all_contracts(session: Session) -> Sequence[ContractRow]:
    return session.scalars(select(ContractRow).order_by(ContractRow.id)).all()


def contract_id_by_slug(session: Session, slug: str) -> int:
    found = session.scalar(select(ContractRow.id).where(ContractRow.slug == slug))
    if found is None:
        raise NotFound(
            f"no contract `{slug}` in the workflow database; save it first "
            "(web app /contracts/new or POST /api/contracts)"
        )
    return found


def slug_taken(session: Session, slug: str) -> bool:
    return (
        session.scalar(select(ContractRow.id).where(ContractRow.slug == slug))
        is not None
    )


def versions(session: Session, contract_id: int) -> Sequence[ContractVersionRow]:
    return session.scalars(
        select(ContractVersionRow)
        .where(ContractVersionRow.contract_id == contract_id)
        .order_by(ContractVersionRow.version.desc())
    ).all()


def run_view(row: ContractRunRow) -> RunView:
    return RunView(
        id=row.id,
        contract_id=row.contract_id,
        version=row.version,
        kind=row.kind,
        year=row.year,
        label=row.label,
        result=dict(row.result),
        input_checksums=dict(row.input_checksums),
        created_at=row.created_at,
    )


def runs(session: Session, contract_id: int, kind: str | None = None) -> list[RunView]:
    query = select(ContractRunRow).where(ContractRunRow.contract_id == contract_id)
    if kind is not None:
        query = query.where(ContractRunRow.kind == kind)
    return [
        run_view(r)
        for r in session.scalars(query.order_by(ContractRunRow.id.desc())).all()
    ]


def run_row(
    session: Session, contract_id: int, run_id: int, kind: str
) -> ContractRunRow:
    row = session.get(ContractRunRow, run_id)
    if row is None or row.contract_id != contract_id or row.kind != kind:
        raise NotFound(f"contract {contract_id} has no {kind} {run_id}")
    return row
