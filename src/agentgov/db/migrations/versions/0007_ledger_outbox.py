"""Ledger outbox: events committed by processes that are not the ledger writer, awaiting their append.

Revision ID: 0007_ledger_outbox
Revises: 0006_gateway
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_ledger_outbox"
down_revision = "0006_gateway"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_outbox",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("event", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_outbox")),
    )


def downgrade() -> None:
    op.drop_table("ledger_outbox")
