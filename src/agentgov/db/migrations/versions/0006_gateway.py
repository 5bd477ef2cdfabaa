"""Gateway: the pinned tools of each upstream MCP server, and the definitions awaiting approval.

Revision ID: 0006_gateway
Revises: 0005_ledger_links
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_gateway"
down_revision = "0005_ledger_links"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_tool_pins",
        sa.Column("upstream", sa.String(256), nullable=False),
        sa.Column("tool", sa.String(256), nullable=False),
        sa.Column("pinned_digest", sa.String(71), nullable=True),
        sa.Column("pinned_definition", sa.JSON(), nullable=True),
        sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pinned_by", sa.String(256), nullable=True),
        sa.Column("observed_digest", sa.String(71), nullable=True),
        sa.Column("observed_definition", sa.JSON(), nullable=True),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("upstream", "tool", name="pk_gateway_tool_pins"),
    )
    op.create_index("ix_gateway_tool_pins_observed", "gateway_tool_pins", ["upstream", "observed_digest"])


def downgrade() -> None:
    op.drop_index("ix_gateway_tool_pins_observed", table_name="gateway_tool_pins")
    op.drop_table("gateway_tool_pins")
