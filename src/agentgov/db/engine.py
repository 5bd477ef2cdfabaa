"""Engine construction: SQLite (WAL) by default, PostgreSQL by URL. The only place URLs are read."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from agentgov.errors import InvalidInput

__all__ = ["DEFAULT_SQLITE_PATH", "database_url", "is_postgres", "make_engine", "sqlite_pragmas"]

DEFAULT_SQLITE_PATH = Path("var") / "agentgov.db"
_SUPPORTED = ("sqlite", "postgresql")


def database_url(explicit: str | None = None) -> str:
    """The configured URL: explicit, then ``AGENTGOV_DATABASE_URL``, then ``./var/agentgov.db``."""
    url = explicit or os.environ.get("AGENTGOV_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """The settings every SQLite connection gets (also those made outside the pool)."""
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the single writer
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable across process crash in WAL mode
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")  # wait for a busy writer instead of failing at once
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache per connection
    cursor.close()


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """Create the engine for ``url`` with the platform's settings for its backend."""
    resolved = make_url(database_url(url))
    backend = resolved.get_backend_name()
    if backend not in _SUPPORTED:
        raise InvalidInput(f"unsupported database {backend!r}: use sqlite or postgresql")
    if backend == "sqlite":
        database = resolved.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(resolved, **kwargs)
        event.listen(engine, "connect", sqlite_pragmas)
        return engine
    if resolved.drivername == "postgresql":
        resolved = resolved.set(drivername="postgresql+psycopg")
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(resolved, **kwargs)
