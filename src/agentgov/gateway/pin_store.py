"""Where tool pins live: the :class:`PinStore` port, its SQL adapter (SQLite and PostgreSQL) and an
in-memory one for tests and demos.

Noting a change is conditional, so that each change is noted (and recorded) once however many gateway
sessions see it; approving is conditional on the definition the operator reviewed, so that a tool that
changes again while it is being approved is not approved blind. Every method is one transaction;
database errors become Conflict or Unavailable (STYLE 3).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, RowMapping, and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from agentgov.core.digest import digest_json
from agentgov.db.store import SqlStore
from agentgov.errors import Conflict, NotFound
from agentgov.gateway.pins import Pin, ToolChange, short_digest
from agentgov.gateway.tables import gateway_tool_pins as t

__all__ = ["FIRST_USE", "MemoryPinStore", "PinRecord", "PinStore", "SqlPinStore"]

FIRST_USE = "first-use"  # pinned_by of the pins taken when an upstream was first seen


@dataclass(frozen=True, slots=True)
class PinRecord:
    upstream: str
    tool: str
    pinned_digest: str | None
    pinned_definition: dict[str, Any] | None
    pinned_at: datetime | None
    pinned_by: str | None
    observed_digest: str | None
    observed_definition: dict[str, Any] | None
    observed_at: datetime | None
    removed_at: datetime | None
    first_seen_at: datetime

    @property
    def pending(self) -> bool:
        """A definition waiting for an operator's approval."""
        return self.observed_digest is not None

    def pin(self) -> Pin:
        return Pin(self.tool, self.pinned_digest, self.observed_digest, self.removed_at is not None)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "pending": self.pending}


class PinStore(Protocol):
    def pins(self, upstream: str) -> dict[str, Pin]: ...

    def pin_first_use(self, upstream: str, definitions: Mapping[str, dict[str, Any]], at: datetime) -> bool:
        """Pin every tool when the upstream has no pin at all; False when someone else did first."""
        ...

    def note(self, upstream: str, change: ToolChange, at: datetime) -> bool:
        """Note a change; False when it was already noted."""
        ...

    def approve(
        self, upstream: str, tool: str, *, by: str, at: datetime, digest: str | None = None
    ) -> PinRecord:
        """Pin the definition awaiting approval (the one with ``digest``, when given)."""
        ...

    def records(self, upstream: str | None = None, *, pending_only: bool = False) -> list[PinRecord]: ...


def _approval_target(
    record: PinRecord | None, upstream: str, tool: str, digest: str | None
) -> tuple[PinRecord, str]:
    """The record and the observed digest an approval pins, or the reason there is none."""
    if record is None:
        raise NotFound(f"no tool {tool!r} has been seen on upstream {upstream!r}")
    if record.observed_digest is None:
        state = "removed" if record.removed_at is not None else "pinned and unchanged"
        raise Conflict(f"nothing to approve: tool {tool!r} of {upstream!r} is {state}")
    if digest is not None and digest != record.observed_digest:
        raise Conflict(
            f"the definition awaiting approval is {short_digest(record.observed_digest)}, not "
            f"{short_digest(digest)}: review it again"
        )
    return record, record.observed_digest


class SqlPinStore(SqlStore):
    store_name = "gateway pin"

    def conflict_detail(self, exc: IntegrityError) -> str:
        return "this tool pin was written concurrently; try again"

    def pins(self, upstream: str) -> dict[str, Pin]:
        query = select(t.c.tool, t.c.pinned_digest, t.c.observed_digest, t.c.removed_at).where(
            t.c.upstream == upstream
        )
        with self.reading() as conn:
            rows = conn.execute(query).all()
        return {
            r.tool: Pin(r.tool, r.pinned_digest, r.observed_digest, r.removed_at is not None) for r in rows
        }

    def pin_first_use(self, upstream: str, definitions: Mapping[str, dict[str, Any]], at: datetime) -> bool:
        with self.transaction() as conn:
            if conn.execute(select(t.c.tool).where(t.c.upstream == upstream).limit(1)).first() is not None:
                return False
            rows = [
                {
                    "upstream": upstream,
                    "tool": name,
                    "pinned_digest": digest_json(definition),
                    "pinned_definition": definition,
                    "pinned_at": at,
                    "pinned_by": FIRST_USE,
                    "first_seen_at": at,
                }
                for name, definition in definitions.items()
            ]
            if not rows:
                return False
            inserted = conn.execute(
                _insert_ignore(conn).values(rows).on_conflict_do_nothing().returning(t.c.tool)
            )
            # RETURNING, not rowcount: PostgreSQL reports -1 rows for INSERT ... ON CONFLICT DO NOTHING.
            return bool(inserted.all())

    def note(self, upstream: str, change: ToolChange, at: datetime) -> bool:
        key = and_(t.c.upstream == upstream, t.c.tool == change.tool)
        with self.transaction() as conn:
            if change.kind in ("new", "changed"):
                if change.kind == "new":
                    added = conn.execute(
                        _insert_ignore(conn)
                        .values(
                            upstream=upstream,
                            tool=change.tool,
                            observed_digest=change.digest,
                            observed_definition=change.definition,
                            observed_at=at,
                            first_seen_at=at,
                        )
                        .on_conflict_do_nothing()
                        .returning(t.c.tool)
                    ).all()
                    if added:
                        return True
                unseen = or_(
                    t.c.observed_digest.is_(None),
                    t.c.observed_digest != change.digest,
                    t.c.removed_at.is_not(None),
                )
                values: dict[str, Any] = {
                    "observed_digest": change.digest,
                    "observed_definition": change.definition,
                    "observed_at": at,
                    "removed_at": None,
                }
                done = conn.execute(update(t).where(key, unseen).values(**values)).rowcount
            elif change.kind == "removed":
                done = conn.execute(
                    update(t)
                    .where(key, t.c.removed_at.is_(None))
                    .values(removed_at=at, observed_digest=None, observed_definition=None, observed_at=None)
                ).rowcount
            else:
                done = conn.execute(
                    update(t)
                    .where(key, or_(t.c.observed_digest.is_not(None), t.c.removed_at.is_not(None)))
                    .values(observed_digest=None, observed_definition=None, observed_at=None, removed_at=None)
                ).rowcount
        return bool(done)

    def approve(
        self, upstream: str, tool: str, *, by: str, at: datetime, digest: str | None = None
    ) -> PinRecord:
        key = and_(t.c.upstream == upstream, t.c.tool == tool)
        with self.transaction() as conn:
            row = conn.execute(select(t).where(key)).mappings().first()
            _, target = _approval_target(_record(row) if row is not None else None, upstream, tool, digest)
            done = conn.execute(
                update(t)
                .where(key, t.c.observed_digest == target)
                .values(
                    pinned_digest=target,
                    pinned_definition=t.c.observed_definition,
                    pinned_at=at,
                    pinned_by=by,
                    observed_digest=None,
                    observed_definition=None,
                    observed_at=None,
                )
            ).rowcount
            if not done:
                raise Conflict(f"tool {tool!r} of {upstream!r} changed while it was being approved")
            fresh = conn.execute(select(t).where(key)).mappings().one()
        return _record(fresh)

    def records(self, upstream: str | None = None, *, pending_only: bool = False) -> list[PinRecord]:
        query = select(t).order_by(t.c.upstream, t.c.tool)
        if upstream is not None:
            query = query.where(t.c.upstream == upstream)
        if pending_only:
            query = query.where(t.c.observed_digest.is_not(None))
        with self.reading() as conn:
            return [_record(r) for r in conn.execute(query).mappings()]


def _insert_ignore(conn: Connection) -> Any:
    return (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(t)


def _record(row: RowMapping) -> PinRecord:
    return PinRecord(**{name: row[name] for name in PinRecord.__slots__})


class MemoryPinStore:
    """The in-memory PinStore, with the SQL adapter's semantics."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[tuple[str, str], PinRecord] = {}

    def pins(self, upstream: str) -> dict[str, Pin]:
        with self._lock:
            return {tool: r.pin() for (up, tool), r in self._rows.items() if up == upstream}

    def pin_first_use(self, upstream: str, definitions: Mapping[str, dict[str, Any]], at: datetime) -> bool:
        with self._lock:
            if not definitions or any(up == upstream for up, _ in self._rows):
                return False
            for name, definition in definitions.items():
                self._rows[(upstream, name)] = PinRecord(
                    upstream,
                    name,
                    digest_json(definition),
                    definition,
                    at,
                    FIRST_USE,
                    None,
                    None,
                    None,
                    None,
                    at,
                )
            return True

    def note(self, upstream: str, change: ToolChange, at: datetime) -> bool:
        with self._lock:
            row = self._rows.get((upstream, change.tool))
            if row is None:
                if change.kind != "new":
                    return False
                row = PinRecord(upstream, change.tool, None, None, None, None, None, None, None, None, at)
            if change.kind in ("new", "changed"):
                if row.observed_digest == change.digest and row.removed_at is None:
                    return False
                row = replace(
                    row,
                    observed_digest=change.digest,
                    observed_definition=change.definition,
                    observed_at=at,
                    removed_at=None,
                )
            elif change.kind == "removed":
                if row.removed_at is not None:
                    return False
                row = replace(
                    row, removed_at=at, observed_digest=None, observed_definition=None, observed_at=None
                )
            else:
                if row.observed_digest is None and row.removed_at is None:
                    return False
                row = replace(
                    row, observed_digest=None, observed_definition=None, observed_at=None, removed_at=None
                )
            self._rows[(upstream, change.tool)] = row
            return True

    def approve(
        self, upstream: str, tool: str, *, by: str, at: datetime, digest: str | None = None
    ) -> PinRecord:
        with self._lock:
            row, target = _approval_target(self._rows.get((upstream, tool)), upstream, tool, digest)
            row = replace(
                row,
                pinned_digest=target,
                pinned_definition=row.observed_definition,
                pinned_at=at,
                pinned_by=by,
                observed_digest=None,
                observed_definition=None,
                observed_at=None,
            )
            self._rows[(upstream, tool)] = row
            return row

    def records(self, upstream: str | None = None, *, pending_only: bool = False) -> list[PinRecord]:
        with self._lock:
            rows = [r for r in self._rows.values() if upstream is None or r.upstream == upstream]
        return sorted((r for r in rows if r.pending or not pending_only), key=lambda r: (r.upstream, r.tool))
