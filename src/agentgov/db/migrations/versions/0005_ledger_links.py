"""Registry on the record: each version and lifecycle event keeps the index of its ledger entry.

Rows written before this revision have no entry yet (NULL); the registry recorder appends them, oldest
first, when a ledger writer next starts (``registry.recording``).

Revision ID: 0005_ledger_links
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_ledger_links"
down_revision = "0004"
branch_labels = None
depends_on = None

_UNRECORDED = sa.text("ledger_index IS NULL")


def upgrade() -> None:
    for table in ("agent_versions", "lifecycle_events"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("ledger_index", sa.BigInteger(), nullable=True))
        op.create_index(
            f"ix_{table}_unrecorded",
            table,
            ["agent_seq"],
            sqlite_where=_UNRECORDED,
            postgresql_where=_UNRECORDED,
        )


def downgrade() -> None:
    for table in ("lifecycle_events", "agent_versions"):
        op.drop_index(f"ix_{table}_unrecorded", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("ledger_index")
