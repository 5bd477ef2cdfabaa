"""Storage: SQLAlchemy engine, tables and Alembic migrations (SQLite by default, PostgreSQL by URL)."""

from agentgov.db.engine import DEFAULT_SQLITE_PATH, database_url, is_postgres, make_engine
from agentgov.db.migrate import current_revision, downgrade, head_revision, upgrade

__all__ = [
    "DEFAULT_SQLITE_PATH",
    "current_revision",
    "database_url",
    "downgrade",
    "head_revision",
    "is_postgres",
    "make_engine",
    "upgrade",
]
