"""Ledger: entries, payloads, leaf and subtree hashes, tree state, checkpoints, witness cosignatures.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

from alembic import op

from agentgov.ledger import tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TABLES = (
    tables.ledger_entries,
    tables.ledger_leaf_tiles,
    tables.ledger_payloads,
    tables.ledger_subtrees,
    tables.ledger_tree,
    tables.ledger_checkpoints,
    tables.ledger_cosignatures,
)


def upgrade() -> None:
    bind = op.get_bind()
    for table in _TABLES:
        table.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(_TABLES):
        table.drop(bind)
