"""Registry: API keys, organisations, agents, versions, aliases, facets, lifecycle, full-text search.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

from alembic import op

from agentgov.db import tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TABLES = (
    tables.organisations,
    tables.api_keys,
    tables.agents,
    tables.agent_facets,
    tables.agent_versions,
    tables.agent_aliases,
    tables.lifecycle_events,
)

_SQLITE_FTS = (
    "CREATE VIRTUAL TABLE agents_fts USING fts5("
    "search_text, content='agents', content_rowid='seq', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER agents_fts_ai AFTER INSERT ON agents BEGIN "
    "INSERT INTO agents_fts(rowid, search_text) VALUES (new.seq, new.search_text); END",
    "CREATE TRIGGER agents_fts_ad AFTER DELETE ON agents BEGIN "
    "INSERT INTO agents_fts(agents_fts, rowid, search_text) VALUES('delete', old.seq, old.search_text); END",
    "CREATE TRIGGER agents_fts_au AFTER UPDATE OF search_text ON agents BEGIN "
    "INSERT INTO agents_fts(agents_fts, rowid, search_text) VALUES('delete', old.seq, old.search_text); "
    "INSERT INTO agents_fts(rowid, search_text) VALUES (new.seq, new.search_text); END",
)


def upgrade() -> None:
    bind = op.get_bind()
    for table in _TABLES:
        table.create(bind)
    if bind.dialect.name == "sqlite":
        # External-content FTS5 index over agents.search_text, kept in step by triggers.
        for statement in _SQLITE_FTS:
            op.execute(statement)
    else:
        op.execute(
            "ALTER TABLE agents ADD COLUMN search_vector tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED"
        )
        op.execute("CREATE INDEX ix_agents_search_vector ON agents USING GIN (search_vector)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in ("agents_fts_ai", "agents_fts_ad", "agents_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS agents_fts")
    for table in reversed(_TABLES):
        table.drop(bind)
