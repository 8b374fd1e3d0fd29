"""Create the workflow tables: accounts, audit log, programmes, bids, assessment, steering.

Revision ID: 001
Revises:
Create Date: 2026-11-23

Spelled out here rather than imported from the ORM, so the migration stays valid when
the models change. Triggers make `audit_events` and `bid_versions` append-only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "001"
down_revision = None
branch_labels = None
depends_on = None

_APPEND_ONLY = ("audit_events", "bid_versions")


def _create_append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    for table in _APPEND_ONLY:
        if dialect == "sqlite":
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER trg_{table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
        elif dialect == "postgresql":
            op.execute(
                f"CREATE FUNCTION {table}_append_only() RETURNS trigger AS $$ "
                f"BEGIN RAISE EXCEPTION '{table} is append-only'; END; $$ LANGUAGE plpgsql"
            )
            op.execute(
                f"CREATE TRIGGER trg_{table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
            )


def _drop_append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    for table in _APPEND_ONLY:
        if dialect == "sqlite":
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_no_{verb}")
        elif dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_append_only ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")


def upgrade() -> None:

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_email", sa.String(length=254), nullable=False),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=40), nullable=False),
        sa.Column("before_json", sa.Text(), nullable=True),
        sa.Column("after_json", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_events_hash")),
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index(
        op.f("ix_login_attempts_email"), "login_attempts", ["email"], unique=False
    )
    op.create_index(
        op.f("ix_login_attempts_ip"), "login_attempts", ["ip"], unique=False
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("organisation_code", sa.String(length=20), nullable=True),
        sa.Column("pct_code", sa.String(length=20), nullable=True),
        sa.Column("sha_code", sa.String(length=20), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_api_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_table(
        "assessor_conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessor_id", sa.Integer(), nullable=False),
        sa.Column("org_code", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessor_id"],
            ["users.id"],
            name=op.f("fk_assessor_conflicts_assessor_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessor_conflicts")),
        sa.UniqueConstraint(
            "assessor_id",
            "org_code",
            name=op.f("uq_assessor_conflicts_assessor_id_org_code"),
        ),
    )
    op.create_index(
        op.f("ix_assessor_conflicts_assessor_id"),
        "assessor_conflicts",
        ["assessor_id"],
        unique=False,
    )
    op.create_table(
        "programmes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("selection_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("frontrunners_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("eligibility_text", sa.JSON(), nullable=False),
        sa.Column("required_sections", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_programmes_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programmes")),
    )
    op.create_table(
        "user_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_user_sessions")),
    )
    op.create_table(
        "assessment_criteria",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("weight", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.id"],
            name=op.f("fk_assessment_criteria_programme_id_programmes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_criteria")),
    )
    op.create_index(
        op.f("ix_assessment_criteria_programme_id"),
        "assessment_criteria",
        ["programme_id"],
        unique=False,
    )
    op.create_table(
        "bids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("sha_code", sa.String(length=20), nullable=False),
        sa.Column("pct_codes", sa.JSON(), nullable=False),
        sa.Column("practice_codes", sa.JSON(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("evaluation_agreed", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_bids_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.id"],
            name=op.f("fk_bids_programme_id_programmes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bids")),
    )
    op.create_index(op.f("ix_bids_owner_id"), "bids", ["owner_id"], unique=False)
    op.create_index(
        op.f("ix_bids_programme_id"), "bids", ["programme_id"], unique=False
    )
    op.create_table(
        "allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bid_id", sa.Integer(), nullable=False),
        sa.Column("assessor_id", sa.Integer(), nullable=False),
        sa.Column("allocated_by", sa.Integer(), nullable=False),
        sa.Column("allocated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["allocated_by"],
            ["users.id"],
            name=op.f("fk_allocations_allocated_by_users"),
        ),
        sa.ForeignKeyConstraint(
            ["assessor_id"], ["users.id"], name=op.f("fk_allocations_assessor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["bid_id"], ["bids.id"], name=op.f("fk_allocations_bid_id_bids")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocations")),
        sa.UniqueConstraint(
            "bid_id", "assessor_id", name=op.f("uq_allocations_bid_id_assessor_id")
        ),
    )
    op.create_index(
        op.f("ix_allocations_assessor_id"), "allocations", ["assessor_id"], unique=False
    )
    op.create_index(
        op.f("ix_allocations_bid_id"), "allocations", ["bid_id"], unique=False
    )
    op.create_table(
        "bid_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bid_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("stored_name", sa.String(length=80), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bid_id"],
            ["bids.id"],
            name=op.f("fk_bid_attachments_bid_id_bids"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"],
            ["users.id"],
            name=op.f("fk_bid_attachments_uploaded_by_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bid_attachments")),
        sa.UniqueConstraint("stored_name", name=op.f("uq_bid_attachments_stored_name")),
    )
    op.create_index(
        op.f("ix_bid_attachments_bid_id"), "bid_attachments", ["bid_id"], unique=False
    )
    op.create_table(
        "bid_inequalities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bid_id", sa.Integer(), nullable=False),
        sa.Column("inequality", sa.String(length=20), nullable=False),
        sa.Column("indicator_id", sa.String(length=60), nullable=False),
        sa.Column("commitment", sa.Text(), nullable=False),
        sa.Column("baseline_value", sa.Double(), nullable=True),
        sa.Column("baseline_period_end", sa.String(length=10), nullable=True),
        sa.Column("baseline_note", sa.Text(), nullable=False),
        sa.Column("trajectory", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bid_id"],
            ["bids.id"],
            name=op.f("fk_bid_inequalities_bid_id_bids"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bid_inequalities")),
    )
    op.create_index(
        op.f("ix_bid_inequalities_bid_id"), "bid_inequalities", ["bid_id"], unique=False
    )
    op.create_table(
        "bid_partners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bid_id", sa.Integer(), nullable=False),
        sa.Column("org_code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("org_type", sa.String(length=40), nullable=False),
        sa.Column("is_lead", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bid_id"],
            ["bids.id"],
            name=op.f("fk_bid_partners_bid_id_bids"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bid_partners")),
    )
    op.create_index(
        op.f("ix_bid_partners_bid_id"), "bid_partners", ["bid_id"], unique=False
    )
    op.create_table(
        "bid_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bid_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("indicator_id", sa.String(length=60), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("baseline_value", sa.Double(), nullable=True),
        sa.Column("target_value", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bid_id"],
            ["bids.id"],
            name=op.f("fk_bid_targets_bid_id_bids"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bid_targets")),
    )
    op.create_index(
        op.f("ix_bid_targets_bid_id"), "bid_targets", ["bid_id"], unique=False
    )
    op.create_table(
        "bid_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bid_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bid_id"], ["bids.id"], name=op.f("fk_bid_versions_bid_id_bids")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bid_versions")),
        sa.UniqueConstraint(
            "bid_id", "version", name=op.f("uq_bid_versions_bid_id_version")
        ),
    )
    op.create_index(
        op.f("ix_bid_versions_bid_id"), "bid_versions", ["bid_id"], unique=False
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bid_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("weighted_score", sa.Double(), nullable=True),
        sa.Column("letter", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bid_id"], ["bids.id"], name=op.f("fk_decisions_bid_id_bids")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_decisions_decided_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
        sa.UniqueConstraint("bid_id", name=op.f("uq_decisions_bid_id")),
    )
    op.create_table(
        "eligibility_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bid_id", sa.Integer(), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_by", sa.Integer(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("override", sa.Boolean(), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("override_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["bid_id"], ["bids.id"], name=op.f("fk_eligibility_checks_bid_id_bids")
        ),
        sa.ForeignKeyConstraint(
            ["override_by"],
            ["users.id"],
            name=op.f("fk_eligibility_checks_override_by_users"),
        ),
        sa.ForeignKeyConstraint(
            ["run_by"], ["users.id"], name=op.f("fk_eligibility_checks_run_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eligibility_checks")),
    )
    op.create_index(
        op.f("ix_eligibility_checks_bid_id"),
        "eligibility_checks",
        ["bid_id"],
        unique=False,
    )
    op.create_table(
        "learning_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bid_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bid_id"], ["bids.id"], name=op.f("fk_learning_log_bid_id_bids")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_learning_log_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_log")),
    )
    op.create_index(
        op.f("ix_learning_log_bid_id"), "learning_log", ["bid_id"], unique=False
    )
    op.create_table(
        "milestones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bid_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("due", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bid_id"], ["bids.id"], name=op.f("fk_milestones_bid_id_bids")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_milestones_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestones")),
    )
    op.create_index(
        op.f("ix_milestones_bid_id"), "milestones", ["bid_id"], unique=False
    )
    op.create_table(
        "pct_support",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bid_id", sa.Integer(), nullable=False),
        sa.Column("pct_code", sa.String(length=20), nullable=False),
        sa.Column("confirmed_by", sa.Integer(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bid_id"],
            ["bids.id"],
            name=op.f("fk_pct_support_bid_id_bids"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["confirmed_by"],
            ["users.id"],
            name=op.f("fk_pct_support_confirmed_by_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pct_support")),
        sa.UniqueConstraint(
            "bid_id", "pct_code", name=op.f("uq_pct_support_bid_id_pct_code")
        ),
    )
    op.create_index(
        op.f("ix_pct_support_bid_id"), "pct_support", ["bid_id"], unique=False
    )
    op.create_table(
        "risks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bid_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("likelihood", sa.Integer(), nullable=False),
        sa.Column("impact", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("mitigations", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bid_id"], ["bids.id"], name=op.f("fk_risks_bid_id_bids")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_risks_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risks")),
    )
    op.create_index(op.f("ix_risks_bid_id"), "risks", ["bid_id"], unique=False)
    op.create_table(
        "risk_status_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("risk_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["changed_by"],
            ["users.id"],
            name=op.f("fk_risk_status_history_changed_by_users"),
        ),
        sa.ForeignKeyConstraint(
            ["risk_id"],
            ["risks.id"],
            name=op.f("fk_risk_status_history_risk_id_risks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_status_history")),
    )
    op.create_index(
        op.f("ix_risk_status_history_risk_id"),
        "risk_status_history",
        ["risk_id"],
        unique=False,
    )
    op.create_table(
        "scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("allocation_id", sa.Integer(), nullable=False),
        sa.Column("criterion_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["allocation_id"],
            ["allocations.id"],
            name=op.f("fk_scores_allocation_id_allocations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["criterion_id"],
            ["assessment_criteria.id"],
            name=op.f("fk_scores_criterion_id_assessment_criteria"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scores")),
        sa.UniqueConstraint(
            "allocation_id",
            "criterion_id",
            name=op.f("uq_scores_allocation_id_criterion_id"),
        ),
    )
    op.create_index(
        op.f("ix_scores_allocation_id"), "scores", ["allocation_id"], unique=False
    )
    _create_append_only_triggers()


def downgrade() -> None:
    _drop_append_only_triggers()
    op.drop_index(op.f("ix_scores_allocation_id"), table_name="scores")
    op.drop_table("scores")
    op.drop_index(
        op.f("ix_risk_status_history_risk_id"), table_name="risk_status_history"
    )
    op.drop_table("risk_status_history")
    op.drop_index(op.f("ix_risks_bid_id"), table_name="risks")
    op.drop_table("risks")
    op.drop_index(op.f("ix_pct_support_bid_id"), table_name="pct_support")
    op.drop_table("pct_support")
    op.drop_index(op.f("ix_milestones_bid_id"), table_name="milestones")
    op.drop_table("milestones")
    op.drop_index(op.f("ix_learning_log_bid_id"), table_name="learning_log")
    op.drop_table("learning_log")
    op.drop_index(op.f("ix_eligibility_checks_bid_id"), table_name="eligibility_checks")
    op.drop_table("eligibility_checks")
    op.drop_table("decisions")
    op.drop_index(op.f("ix_bid_versions_bid_id"), table_name="bid_versions")
    op.drop_table("bid_versions")
    op.drop_index(op.f("ix_bid_targets_bid_id"), table_name="bid_targets")
    op.drop_table("bid_targets")
    op.drop_index(op.f("ix_bid_partners_bid_id"), table_name="bid_partners")
    op.drop_table("bid_partners")
    op.drop_index(op.f("ix_bid_inequalities_bid_id"), table_name="bid_inequalities")
    op.drop_table("bid_inequalities")
    op.drop_index(op.f("ix_bid_attachments_bid_id"), table_name="bid_attachments")
    op.drop_table("bid_attachments")
    op.drop_index(op.f("ix_allocations_bid_id"), table_name="allocations")
    op.drop_index(op.f("ix_allocations_assessor_id"), table_name="allocations")
    op.drop_table("allocations")
    op.drop_index(op.f("ix_bids_programme_id"), table_name="bids")
    op.drop_index(op.f("ix_bids_owner_id"), table_name="bids")
    op.drop_table("bids")
    op.drop_index(
        op.f("ix_assessment_criteria_programme_id"), table_name="assessment_criteria"
    )
    op.drop_table("assessment_criteria")
    op.drop_table("user_sessions")
    op.drop_table("programmes")
    op.drop_index(
        op.f("ix_assessor_conflicts_assessor_id"), table_name="assessor_conflicts"
    )
    op.drop_table("assessor_conflicts")
    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_index(op.f("ix_login_attempts_ip"), table_name="login_attempts")
    op.drop_index(op.f("ix_login_attempts_email"), table_name="login_attempts")
    op.drop_table("login_attempts")
    op.drop_table("audit_events")
