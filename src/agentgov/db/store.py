"""The base of every SQL adapter: one transaction and one read context that translate database errors.

STYLE 3: foreign exceptions stop here. A unique-constraint violation becomes Conflict (worded by the
store), any other database failure Unavailable; nothing above a store catches ``sqlalchemy`` errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from agentgov.errors import Conflict, Unavailable

__all__ = ["SqlStore"]


class SqlStore:
    store_name = "store"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def conflict_detail(self, exc: IntegrityError) -> str:
        """What a unique-constraint violation means to the caller; stores name their own cases."""
        return "this already exists"

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except IntegrityError as exc:
            raise Conflict(self.conflict_detail(exc)) from exc
        except SQLAlchemyError as exc:
            raise Unavailable(f"{self.store_name} store failed: {exc.__class__.__name__}") from exc

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise Unavailable(f"{self.store_name} store failed: {exc.__class__.__name__}") from exc
