"""Statements below SQLAlchemy's expression layer, for the few paths every guarded call takes.

A decision reads the user's live grants and writes its row and its ledger event: three statements
per tool call. Through SQLAlchemy Core each adds about 60 us of statement set-up and type processing
to its own work; as driver SQL (``Connection.exec_driver_sql``) about 15 us, and the connection, its
transaction and the translation of database errors stay SQLAlchemy's. What the type layer did is
done here, by hand and identically: times as :class:`UtcDateTime` and the dialect store them, JSON as
the JSON type writes it. Tests write rows both ways and read them back through the tables.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

__all__ = ["bind_json", "bind_time", "placeholder"]


def placeholder(conn: Connection) -> str:
    """The driver's positional parameter mark: ``?`` for sqlite3, ``%s`` for psycopg."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def bind_time(conn: Connection, value: datetime) -> datetime | str:
    """An aware time as :class:`agentgov.db.tables.UtcDateTime` binds it: UTC, naive text on SQLite."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    utc = value.astimezone(UTC)
    if conn.dialect.name != "sqlite":
        return utc
    # SQLAlchemy's SQLite DATETIME text, "YYYY-MM-DD HH:MM:SS.ffffff": always six digits of
    # microseconds, so text order is time order (isoformat: strftime is several times slower).
    return utc.replace(tzinfo=None).isoformat(" ", "microseconds")


def bind_json(value: Any) -> str:
    """A JSON column's value as the JSON type serialises it (``json.dumps``; both backends take text)."""
    return json.dumps(value)
