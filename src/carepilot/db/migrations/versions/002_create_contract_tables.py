"""Create the outcome-based contract tables: contracts, versions, parties, runs.

Revision ID: 002
Revises: 001
Create Date: 2026-11-23

Spelled out here rather than imported from the ORM, so the migration stays valid when
the models change.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "002"
down_revision = "001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contracts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("commissioner_code", sa.String(length=20), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_contracts_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
        sa.UniqueConstraint("slug", name=op.f("uq_contracts_slug")),
    )
    op.create_index(
        op.f("ix_contracts_commissioner_code"),
        "contracts",
        ["commissioner_code"],
        unique=False,
    )
    op.create_table(
        "contract_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("yaml_text", sa.Text(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_contract_versions_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_contract_versions_created_by_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_versions")),
        sa.UniqueConstraint(
            "contract_id",
            "version",
            name=op.f("uq_contract_versions_contract_id_version"),
        ),
    )
    op.create_index(
        op.f("ix_contract_versions_contract_id"),
        "contract_versions",
        ["contract_id"],
        unique=False,
    )
    op.create_table(
        "contract_parties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("organisation_code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_contract_parties_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_parties")),
    )
    op.create_index(
        op.f("ix_contract_parties_contract_id"),
        "contract_parties",
        ["contract_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_contract_parties_organisation_code"),
        "contract_parties",
        ["organisation_code"],
        unique=False,
    )
    op.create_table(
        "contract_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("input_checksums", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_contract_runs_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_contract_runs_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_runs")),
    )
    op.create_index(
        op.f("ix_contract_runs_contract_id"),
        "contract_runs",
        ["contract_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_contract_runs_contract_id"), table_name="contract_runs")
    op.drop_table("contract_runs")
    op.drop_index(
        op.f("ix_contract_parties_organisation_code"), table_name="contract_parties"
    )
    op.drop_index(
        op.f("ix_contract_parties_contract_id"), table_name="contract_parties"
    )
    op.drop_table("contract_parties")
    op.drop_index(
        op.f("ix_contract_versions_contract_id"), table_name="contract_versions"
    )
    op.drop_table("contract_versions")
    op.drop_index(op.f("ix_contracts_commissioner_code"), table_name="contracts")
    op.drop_table("contracts")
