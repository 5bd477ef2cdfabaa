"""Alembic environment: runs on the connection handed over by ``agentgov.db.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from agentgov.db.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("migrations run through `agentgov db upgrade`, which passes a connection")
_run(connection)
