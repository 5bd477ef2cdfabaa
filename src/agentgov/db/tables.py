"""The relational schema, in SQLAlchemy Core. One schema for SQLite and PostgreSQL.

Migrations in ``db/migrations`` create exactly these tables; ``tests/db`` checks that they agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = [
    "UtcDateTime",
    "agent_aliases",
    "agent_facets",
    "agent_versions",
    "agents",
    "api_keys",
    "lifecycle_events",
    "metadata",
    "organisations",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Seq = BigInteger().with_variant(Integer(), "sqlite")  # SQLite aliases INTEGER PRIMARY KEY to the rowid


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps naive text; we store and return UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the store, got {type(value).__name__}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Time = UtcDateTime()

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("secret_hash", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("org_id", String(64), ForeignKey("organisations.id"), nullable=True),
    Column("subject", String(200), nullable=True),
    Column("label", String(200), nullable=False, default=""),
    Column("created_at", Time, nullable=False),
    Column("revoked_at", Time, nullable=True),
)

organisations = Table(
    "organisations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("domain", String(253), nullable=False, unique=True),
    Column("legal_id", String(64), nullable=True, unique=True),
    Column("country", String(2), nullable=False),
    Column("body", JSON, nullable=False),
    Column("domain_verified_at", Time, nullable=True),
    Column("domain_proof", JSON, nullable=True),
    Column("created_at", Time, nullable=False),
    Column("updated_at", Time, nullable=False),
)

agents = Table(
    "agents",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("id", String(400), nullable=False, unique=True),
    Column("org_id", String(64), ForeignKey("organisations.id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", String(71), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("deployment_mode", String(32), nullable=False),
    Column("certified_until", Time, nullable=True),
    Column("agent_key", String(200), nullable=True),
    Column("hosted", Boolean, nullable=False, default=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("search_text", Text, nullable=False, default=""),
    Column("created_at", Time, nullable=False),
    Column("updated_at", Time, nullable=False),
    UniqueConstraint("org_id", "name"),
    Index("ix_agents_updated", "updated_at", "seq"),
    Index("ix_agents_org_seq", "org_id", "seq"),
    Index("ix_agents_status_seq", "status", "seq"),
)

# Multi-valued filter facets: skill, tag, protocol, domain (application domain), data.
agent_facets = Table(
    "agent_facets",
    metadata,
    Column("facet", String(16), primary_key=True),
    Column("value", String(128), primary_key=True),
    Column("agent_seq", Seq, ForeignKey("agents.seq", ondelete="CASCADE"), primary_key=True),
    Index("ix_agent_facets_agent", "agent_seq"),
)

agent_versions = Table(
    "agent_versions",
    metadata,
    Column("agent_seq", Seq, ForeignKey("agents.seq", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("digest", String(71), nullable=False),
    Column("prev_digest", String(71), nullable=True),
    Column("body", Text, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", Time, nullable=False),
    # The index of the ledger entry that records this version (Art. 7); NULL until it is recorded.
    Column("ledger_index", BigInteger, nullable=True),
    Index(
        "ix_agent_versions_unrecorded",
        "agent_seq",
        sqlite_where=text("ledger_index IS NULL"),
        postgresql_where=text("ledger_index IS NULL"),
    ),
)

agent_aliases = Table(
    "agent_aliases",
    metadata,
    Column("alias", String(400), primary_key=True),
    Column("scheme", String(32), nullable=False),
    Column("agent_seq", Seq, ForeignKey("agents.seq", ondelete="CASCADE"), nullable=False),
    Index("ix_agent_aliases_agent", "agent_seq"),
)

lifecycle_events = Table(
    "lifecycle_events",
    metadata,
    Column("id", Seq, primary_key=True, autoincrement=True),
    Column("agent_seq", Seq, ForeignKey("agents.seq", ondelete="CASCADE"), nullable=False),
    Column("action", String(16), nullable=False),
    Column("from_status", String(16), nullable=True),
    Column("to_status", String(16), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("actor_role", String(16), nullable=False),
    Column("reason", Text, nullable=True),
    Column("evidence", JSON, nullable=False),
    Column("at", Time, nullable=False),
    Column("ledger_index", BigInteger, nullable=True),  # as for agent_versions
    Index("ix_lifecycle_events_agent", "agent_seq", "id"),
    Index(
        "ix_lifecycle_events_unrecorded",
        "agent_seq",
        sqlite_where=text("ledger_index IS NULL"),
        postgresql_where=text("ledger_index IS NULL"),
    ),
)
