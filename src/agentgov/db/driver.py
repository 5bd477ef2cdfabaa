"""Statements below SQLAlchemy, for the one transaction every guarded call makes.

A decision reads the user's live grants, may take from a grant's daily budget, and writes its row and
its ledger event: three or four statements per tool call. Through SQLAlchemy Core each adds about
60 us of statement set-up and type processing to its own work; even as driver SQL through a pooled
``Connection`` the checkout, the transaction objects and the return to the pool cost more than the
statements themselves. So the decision runs its statements on the driver's own connection
(:class:`DriverTransaction`):

- on SQLite (a file), on one connection kept for these transactions (:class:`SerialWriter`), one at a
  time: SQLite lets one transaction write at a time anyway, so nothing waits that would not have;
- on PostgreSQL (and an in-memory SQLite), on the driver connection of a pooled SQLAlchemy
  transaction, which begins, commits and rolls back as every other store's does.

What SQLAlchemy's type layer did is done here, by hand: times as :class:`UtcDateTime` and the dialect
store them, identically; JSON columns as JSON text the caller serialised (pydantic's compact form, in
one step from the model), which the JSON type reads back as the same value. Errors are
translated as :class:`agentgov.db.store.SqlStore` translates them (STYLE 3): a unique-constraint
violation is Conflict, any other database failure Unavailable. Tests write rows both ways and read
them back through the tables, on both backends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.pool import QueuePool

from agentgov.db.checkpoint import Checkpointer, CheckpointSettings
from agentgov.db.engine import sqlite_pragmas
from agentgov.errors import Conflict, Unavailable

__all__ = ["DriverTransaction", "SerialWriter", "placeholder"]


def placeholder(conn: Connection) -> str:
    """The driver's positional parameter mark: ``?`` for sqlite3, ``%s`` for psycopg."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _sqlite_time(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    # SQLAlchemy's SQLite DATETIME text, "YYYY-MM-DD HH:MM:SS.ffffff": always six digits of
    # microseconds, so text order is time order (isoformat: strftime is several times slower).
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _aware_time(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return value.astimezone(UTC)


class DriverTransaction:
    """The statements of one transaction, on the driver's connection (sqlite3 or psycopg).

    ``mark`` is the driver's parameter mark, for statements built once per mark. The transaction's
    beginning and end belong to whoever opened it (:meth:`SerialWriter.transaction`, or a pooled
    SQLAlchemy transaction): a statement that fails raises Conflict or Unavailable, and the owner
    rolls back.
    """

    __slots__ = ("_dbapi", "_driver", "_name", "mark", "sqlite")

    def __init__(self, driver: Any, dbapi: Any, *, sqlite: bool, store_name: str) -> None:
        self._driver = driver
        self._dbapi = dbapi
        self._name = store_name
        self.sqlite = sqlite
        self.mark = "?" if sqlite else "%s"

    @classmethod
    def of(cls, conn: Connection, store_name: str) -> DriverTransaction:
        """The driver side of a SQLAlchemy connection inside its transaction."""
        driver = conn.connection.driver_connection
        return cls(
            driver, conn.dialect.loaded_dbapi, sqlite=conn.dialect.name == "sqlite", store_name=store_name
        )

    def time(self, value: datetime) -> datetime | str:
        """An aware time as :class:`agentgov.db.tables.UtcDateTime` binds it: UTC, naive text on SQLite."""
        return _sqlite_time(value) if self.sqlite else _aware_time(value)

    def rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Every row ``sql`` returns."""
        try:
            cursor = self._driver.execute(sql, params)
            try:
                return list(cursor.fetchall())
            finally:
                cursor.close()
        except self._dbapi.Error as exc:
            raise self._translated(exc) from exc

    def run(self, sql: str, params: Sequence[Any]) -> None:
        """A statement that returns no rows."""
        try:
            self._driver.execute(sql, params).close()
        except self._dbapi.Error as exc:
            raise self._translated(exc) from exc

    def _translated(self, exc: Exception) -> Exception:
        if isinstance(exc, self._dbapi.IntegrityError):
            return Conflict(f"{self._name} store: this already exists")
        return Unavailable(f"{self._name} store failed: {exc.__class__.__name__}")


class SerialWriter:
    """One sqlite3 connection kept for a store's hot write transactions, used by one at a time.

    Made like every connection of the engine's pool (same file, same pragmas), opened on first use and
    again after a failure that may have broken it. Only for a SQLite file: an in-memory database
    is one connection shared with the pool, and PostgreSQL takes concurrent writers. Its commits leave
    the WAL's checkpoints to a background thread (see :mod:`agentgov.db.checkpoint`).
    """

    def __init__(
        self, engine: Engine, store_name: str, checkpoints: CheckpointSettings | None = None
    ) -> None:
        if not self.suits(engine):
            raise ValueError("a serial writer needs a SQLite file database")
        self._engine = engine
        self._name = store_name
        self._lock = threading.Lock()
        self._driver: Any = None
        self._dbapi: Any = engine.dialect.loaded_dbapi
        self._checkpoints = checkpoints or CheckpointSettings()
        self._checkpointer: Checkpointer | None = None

    @staticmethod
    def suits(engine: Engine) -> bool:
        return engine.dialect.name == "sqlite" and isinstance(engine.pool, QueuePool)

    @contextmanager
    def transaction(self) -> Iterator[DriverTransaction]:
        """One transaction, committed when the block ends and rolled back when it raises.

        sqlite3 begins the transaction at the first write: reads before it see the latest commit and
        take no lock, as on every connection of the pool.
        """
        with self._lock:
            driver = self._driver if self._driver is not None else self._open()
            try:
                yield DriverTransaction(driver, self._dbapi, sqlite=True, store_name=self._name)
                driver.commit()
            except BaseException as exc:
                self._roll_back(driver)
                if isinstance(exc, self._dbapi.Error):
                    raise Unavailable(f"{self._name} store failed: {exc.__class__.__name__}") from exc
                raise
            if self._checkpointer is not None:
                self._checkpointer.committed()

    @property
    def checkpointer(self) -> Checkpointer | None:
        """The background checkpoints of the connection open now, if one is."""
        return self._checkpointer

    def close(self) -> None:
        with self._lock:
            driver, self._driver = self._driver, None
            checkpointer, self._checkpointer = self._checkpointer, None
            if driver is not None:
                driver.close()
        if checkpointer is not None:
            checkpointer.close()

    def _connect(self) -> Any:
        """A new connection to the engine's database, with the engine's pragmas."""
        cargs, cparams = self._engine.dialect.create_connect_args(self._engine.url)
        driver = self._dbapi.connect(*cargs, **cparams)
        sqlite_pragmas(driver, None)
        return driver

    def _open(self) -> Any:
        try:
            driver = self._connect()
            # The background thread checkpoints; this connection only past the backstop.
            driver.execute(f"PRAGMA wal_autocheckpoint={int(self._checkpoints.backstop_pages)}")
        except self._dbapi.Error as exc:
            raise Unavailable(f"{self._name} store failed: {exc.__class__.__name__}") from exc
        self._driver = driver
        if self._checkpointer is None:
            self._checkpointer = Checkpointer(self._connect, self._checkpoints)
        return driver

    def _roll_back(self, driver: Any) -> None:
        try:
            driver.rollback()
        except self._dbapi.Error:  # the connection is in doubt: the next transaction opens another
            self._driver = None
            driver.close()
