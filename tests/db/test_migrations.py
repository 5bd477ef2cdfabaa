"""The migrated schema is the declared schema (ADR 0005), on SQLite and on PostgreSQL.

Migrations are frozen: each creates the columns as they were when it was written. This test runs them
all and compares the result with today's table declarations, so a declaration changed without a new
migration (or a migration that drifts from its declaration) fails here.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, MetaData, inspect

from agentgov.approvals import tables as approval_tables
from agentgov.db import downgrade, upgrade
from agentgov.db import tables as registry_tables
from agentgov.gateway import tables as gateway_tables
from agentgov.ledger import tables as ledger_tables
from agentgov.policy import tables as policy_tables

# Objects the migrations create on purpose outside the declarations: SQLite full-text search tables and
# PostgreSQL's generated search vector and its index (see migrations 0001 and 0002).
_UNDECLARED = {
    "alembic_version",
    "agents_fts",
    "agents_fts_terms",
    "search_vector",
    "ix_agents_search_vector",
}


def declared() -> MetaData:
    merged = MetaData(naming_convention=registry_tables.metadata.naming_convention)
    for source in (
        registry_tables.metadata,
        ledger_tables.ledger_metadata,
        policy_tables.authority_metadata,
        approval_tables.approvals_metadata,
        gateway_tables.gateway_metadata,
    ):
        for table in source.sorted_tables:
            table.to_metadata(merged)
    return merged


def _include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    if name is None:
        return True
    return not (name in _UNDECLARED or name.startswith("agents_fts"))


def test_migrated_schema_matches_the_declared_tables(engine: Engine) -> None:
    metadata = declared()
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": _include, "compare_server_default": False}
        )
        differences = compare_metadata(context, metadata)
    assert differences == [], differences


def test_every_declared_table_exists_after_upgrade(engine: Engine) -> None:
    present = set(inspect(engine).get_table_names())
    missing = {t.name for t in declared().sorted_tables} - present
    assert missing == set()


def test_every_migration_can_be_undone_and_redone(engine: Engine) -> None:
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    test_migrated_schema_matches_the_declared_tables(engine)
