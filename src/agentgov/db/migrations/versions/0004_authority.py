"""Authority: policy sets and deployments, grants and their usage, decisions, signing keys, approvals,
delegates and disputes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Frozen: the columns as this revision created them, independent of today's table declarations
# (ADR 0005); tests/db/test_migrations.py checks that head matches the declared schema.


def _create_tables() -> None:
    op.create_table(
        "approval_delegates",
        sa.Column("user_id", sa.String(length=256), nullable=False),
        sa.Column("delegate_id", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "delegate_id", name=op.f("pk_approval_delegates")),
    )
    op.create_index("ix_approval_delegates_delegate", "approval_delegates", ["delegate_id"], unique=False)
    op.create_table(
        "approvals",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=256), nullable=False),
        sa.Column("agent_id", sa.String(length=256), nullable=False),
        sa.Column("server", sa.String(length=256), nullable=False),
        sa.Column("tool", sa.String(length=128), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=False),
        sa.Column("arguments_digest", sa.String(length=71), nullable=False),
        sa.Column("user_only", sa.Boolean(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("decision_id", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=256), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_approvals")),
        sa.UniqueConstraint("id", name=op.f("uq_approvals_id")),
    )
    op.create_index("ix_approvals_user_status", "approvals", ["user_id", "status"], unique=False)
    op.create_table(
        "decisions",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("deployment", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=256), nullable=False),
        sa.Column("agent_id", sa.String(length=256), nullable=False),
        sa.Column("server", sa.String(length=256), nullable=False),
        sa.Column("tool", sa.String(length=128), nullable=False),
        sa.Column("arguments_digest", sa.String(length=71), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("effect", sa.String(length=8), nullable=False),
        sa.Column("applied_effect", sa.String(length=8), nullable=False),
        sa.Column("enforced", sa.Boolean(), nullable=False),
        sa.Column("decision_class", sa.String(length=16), nullable=True),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.Column("policy_digest", sa.String(length=71), nullable=False),
        sa.Column("record_index", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_decisions")),
        sa.UniqueConstraint("id", name=op.f("uq_decisions_id")),
    )
    op.create_index("ix_decisions_user_time", "decisions", ["user_id", "created_at"], unique=False)
    op.create_table(
        "disputes",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=256), nullable=False),
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("record_index", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_disputes")),
        sa.UniqueConstraint("id", name=op.f("uq_disputes_id")),
    )
    op.create_index("ux_disputes_user_item", "disputes", ["user_id", "item_id"], unique=True)
    op.create_table(
        "grants",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("grantor", sa.String(length=256), nullable=False),
        sa.Column("agent_id", sa.String(length=256), nullable=False),
        sa.Column("canonical", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=71), nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=True),
        sa.Column("authenticated_by", sa.String(length=16), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=256), nullable=True),
        sa.Column("revoke_reason", sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants")),
    )
    op.create_index("ix_grants_grantor_agent", "grants", ["grantor", "agent_id"], unique=False)
    op.create_table(
        "policy_sets",
        sa.Column("digest", sa.String(length=71), nullable=False),
        sa.Column("source", sa.JSON(), nullable=False),
        sa.Column("policy_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_policy_sets")),
    )
    op.create_table(
        "user_signing_keys",
        sa.Column("user_id", sa.String(length=256), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_signing_keys")),
    )
    op.create_table(
        "grant_usage",
        sa.Column("grant_id", sa.String(length=128), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("amount_micros", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["grant_id"], ["grants.id"], name=op.f("fk_grant_usage_grant_id")),
        sa.PrimaryKeyConstraint("grant_id", "day", name=op.f("pk_grant_usage")),
    )
    op.create_table(
        "policy_deployments",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=71), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_by", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(
            ["digest"], ["policy_sets.digest"], name=op.f("fk_policy_deployments_digest")
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_policy_deployments")),
    )


_TABLES = (
    "approval_delegates",
    "approvals",
    "decisions",
    "disputes",
    "grants",
    "policy_sets",
    "user_signing_keys",
    "grant_usage",
    "policy_deployments",
)


def upgrade() -> None:
    _create_tables()


def downgrade() -> None:
    for table in reversed(_TABLES):
        op.drop_table(table)
