"""Authority: policy sets and deployments, grants and their usage, decisions, signing keys, approvals,
delegates and disputes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

from agentgov.approvals import tables as approval_tables
from agentgov.policy import tables as policy_tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TABLES = (
    policy_tables.policy_sets,
    policy_tables.policy_deployments,
    policy_tables.grants,
    policy_tables.grant_usage,
    policy_tables.decisions,
    policy_tables.user_signing_keys,
    approval_tables.approvals,
    approval_tables.approval_delegates,
    approval_tables.disputes,
)


def upgrade() -> None:
    bind = op.get_bind()
    for table in _TABLES:
        table.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(_TABLES):
        table.drop(bind)
