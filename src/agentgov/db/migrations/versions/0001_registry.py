"""Registry: API keys, organisations, agents, versions, aliases, facets, lifecycle, full-text search.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen: the columns as this revision created them, independent of today's table declarations
# (ADR 0005); tests/db/test_migrations.py checks that head matches the declared schema.


def _create_tables() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("legal_id", sa.String(length=64), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("domain_verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("domain_proof", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("domain", name=op.f("uq_organisations_domain")),
        sa.UniqueConstraint("legal_id", name=op.f("uq_organisations_legal_id")),
        sa.UniqueConstraint("name", name=op.f("uq_organisations_name")),
    )
    op.create_table(
        "agents",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("id", sa.String(length=400), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=71), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("deployment_mode", sa.String(length=32), nullable=False),
        sa.Column("certified_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("agent_key", sa.String(length=200), nullable=True),
        sa.Column("hosted", sa.Boolean(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_agents_org_id")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_agents")),
        sa.UniqueConstraint("id", name=op.f("uq_agents_id")),
        sa.UniqueConstraint("org_id", "name", name=op.f("uq_agents_org_id_name")),
    )
    op.create_index("ix_agents_org_seq", "agents", ["org_id", "seq"], unique=False)
    op.create_index("ix_agents_status_seq", "agents", ["status", "seq"], unique=False)
    op.create_index("ix_agents_updated", "agents", ["updated_at", "seq"], unique=False)
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_api_keys_org_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
    )
    op.create_table(
        "agent_aliases",
        sa.Column("alias", sa.String(length=400), nullable=False),
        sa.Column("scheme", sa.String(length=32), nullable=False),
        sa.Column("agent_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_seq"], ["agents.seq"], name=op.f("fk_agent_aliases_agent_seq"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("alias", name=op.f("pk_agent_aliases")),
    )
    op.create_index("ix_agent_aliases_agent", "agent_aliases", ["agent_seq"], unique=False)
    op.create_table(
        "agent_facets",
        sa.Column("facet", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("agent_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_seq"], ["agents.seq"], name=op.f("fk_agent_facets_agent_seq"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("facet", "value", "agent_seq", name=op.f("pk_agent_facets")),
    )
    op.create_index("ix_agent_facets_agent", "agent_facets", ["agent_seq"], unique=False)
    op.create_table(
        "agent_versions",
        sa.Column("agent_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=71), nullable=False),
        sa.Column("prev_digest", sa.String(length=71), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_seq"], ["agents.seq"], name=op.f("fk_agent_versions_agent_seq"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("agent_seq", "version", name=op.f("pk_agent_versions")),
    )
    op.create_table(
        "lifecycle_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("agent_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_seq"], ["agents.seq"], name=op.f("fk_lifecycle_events_agent_seq"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lifecycle_events")),
    )
    op.create_index("ix_lifecycle_events_agent", "lifecycle_events", ["agent_seq", "id"], unique=False)


_TABLES = (
    "organisations",
    "agents",
    "api_keys",
    "agent_aliases",
    "agent_facets",
    "agent_versions",
    "lifecycle_events",
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
    _create_tables()
    bind = op.get_bind()
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
        op.drop_table(table)
