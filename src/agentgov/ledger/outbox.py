"""Recording from any process: in the writer, straight to the log; elsewhere, through the outbox.

One process holds the ledger writer (the server, or a gateway running alone). Every other process that
must put something on the record (the CLI approving an action, a gateway beside a server, a replica)
commits the event to ``ledger_outbox``; the writer's :class:`OutboxDrain` appends outbox events in
the order they were committed and deletes them in the same step. An event in the outbox is committed
and ordered; it is in the tree within one drain interval. Committed means it survives a crash of any
process; on SQLite (WAL, ``synchronous=NORMAL``) a power cut may take the last commits before the
next checkpoint, whereas the log's own batches are fsynced (``LedgerSettings.fsync``).

If the writer dies between appending a drained batch and deleting it, the next drain appends those
events again: the record may hold a duplicate of an action event, never lose one. Action events carry
no ``follows`` link, so a duplicate does not break the verifier's chains.

Both recorders implement the authority's ``Recorder`` port: ``record(kind, subject, actor, payload)``.
The outbox recorder also writes an event in a caller's transaction on the same database
(``TransactionalRecorder``): a decision's row and its event then commit together, in one commit.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select

from agentgov.core.clock import Clock
from agentgov.db.driver import DriverTransaction
from agentgov.db.store import SqlStore
from agentgov.errors import AgentGovError, InvalidInput, Unavailable
from agentgov.ledger.entries import ActionEvent, AnyEvent, NoteEvent, action_payload, parse_event
from agentgov.ledger.service import LedgerService
from agentgov.ledger.tables import ledger_outbox

__all__ = ["LedgerRecorder", "OutboxDrain", "OutboxRecorder", "OutboxSettings", "OutboxStore", "recorder_for"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboxSettings:
    # How often the writer looks at the outbox: the most an outboxed event waits to enter the tree.
    drain_interval_s: float = 0.25
    # Events appended per drain step: one writer batch, so a backlog drains in full batches.
    drain_batch: int = 4096
    # How long an in-process append may wait to be sequenced before the action fails closed.
    append_timeout_s: float = 10.0


def _event(kind: str, subject: str, actor: str, payload: dict[str, Any], clock: Clock) -> ActionEvent:
    return ActionEvent(kind=kind, subject=subject, actor=actor, data=payload, time=clock.now())


# Compiled once, reused for every event; an event joining a caller's transaction needs no id back,
# and takes the driver path (by the driver's parameter mark).
_PUT = insert(ledger_outbox).returning(ledger_outbox.c.id)
_APPEND = {
    mark: f"INSERT INTO ledger_outbox (event, created_at) VALUES ({mark}, {mark})"  # noqa: S608
    for mark in ("?", "%s")
}


class OutboxStore(SqlStore):
    store_name = "ledger outbox"

    def put(self, event: bytes, clock: Clock) -> int:
        with self.transaction() as conn:
            return int(conn.execute(_PUT, {"event": event, "created_at": clock.now()}).scalar_one())

    def put_in(self, txn: DriverTransaction, event: bytes, clock: Clock) -> None:
        """The event in the caller's transaction on this store's database: durable once it commits.

        Driver SQL: every guarded call takes this path (see agentgov.db.driver)."""
        txn.run(_APPEND[txn.mark], (event, txn.time(clock.now())))

    def take(self, limit: int) -> list[tuple[int, bytes]]:
        with self.reading() as conn:
            rows = conn.execute(
                select(ledger_outbox.c.id, ledger_outbox.c.event).order_by(ledger_outbox.c.id).limit(limit)
            )
            return [(int(i), bytes(e)) for i, e in rows]

    def remove(self, up_to: int) -> None:
        with self.transaction() as conn:
            conn.execute(delete(ledger_outbox).where(ledger_outbox.c.id <= up_to))

    def count(self) -> int:
        with self.reading() as conn:
            return int(conn.execute(select(func.count()).select_from(ledger_outbox)).scalar_one())


class LedgerRecorder:
    """In the writer process: the event is durably sequenced when ``record`` returns its index."""

    def __init__(self, ledger: LedgerService, clock: Clock, settings: OutboxSettings | None = None) -> None:
        self.ledger = ledger
        self.clock = clock
        self.settings = settings or OutboxSettings()

    def record(self, kind: str, subject: str, actor: str, payload: dict[str, Any]) -> int | None:
        event = _event(kind, subject, actor, payload, self.clock)
        return self.ledger.record(event, self.settings.append_timeout_s)


class OutboxRecorder:
    """Elsewhere: the event is durable and ordered in the outbox when ``record`` returns (no index yet)."""

    def __init__(self, store: OutboxStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def record(self, kind: str, subject: str, actor: str, payload: dict[str, Any]) -> int | None:
        self.store.put(action_payload(kind, subject, actor, payload, self.clock.now()), self.clock)
        return None

    def joins(self, engine: Engine) -> bool:
        return engine is self.store.engine

    def record_in(
        self, txn: DriverTransaction, kind: str, subject: str, actor: str, payload: dict[str, Any]
    ) -> int | None:
        self.store.put_in(txn, action_payload(kind, subject, actor, payload, self.clock.now()), self.clock)
        return None


def recorder_for(
    engine: Engine, ledger: LedgerService | None, clock: Clock, settings: OutboxSettings | None = None
) -> LedgerRecorder | OutboxRecorder:
    """The log itself when this process is the writer, the outbox otherwise."""
    if ledger is not None and ledger.started:
        return LedgerRecorder(ledger, clock, settings)
    return OutboxRecorder(OutboxStore(engine), clock)


class OutboxDrain:
    """In the writer process: append outbox events in order, then delete them; on a schedule."""

    def __init__(
        self, store: OutboxStore, ledger: LedgerService, settings: OutboxSettings | None = None
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.settings = settings or OutboxSettings()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ledger-outbox-drain", daemon=True)

    def drain_once(self) -> int:
        """Append what the outbox holds, in order; the number of events appended."""
        if not self.ledger.started:
            raise Unavailable("the ledger writer is not started in this process")
        total = 0
        while True:
            rows = self.store.take(self.settings.drain_batch)
            if not rows:
                return total
            receipts = [self.ledger.submit(self._readable(event)) for _, event in rows]
            for receipt in receipts:
                receipt.result(self.settings.append_timeout_s)
            self.store.remove(rows[-1][0])
            total += len(rows)

    def _readable(self, event: bytes) -> AnyEvent:
        """The outboxed event; an unreadable row becomes a note naming its digest, so nothing vanishes."""
        try:
            return parse_event(event)
        except InvalidInput as exc:
            _log.error("unreadable ledger outbox event: %s", exc)
            return NoteEvent(
                actor="agentgov:outbox",
                subject="ledger_outbox",
                text="an outboxed event could not be read; its digest is kept",
                data={"digest": "sha256:" + hashlib.sha256(event).hexdigest()},
                time=self.ledger.clock.now(),
            )

    def start(self) -> OutboxDrain:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.settings.drain_interval_s):
            if not self.ledger.started:  # the writer closed: nothing to drain into, ever again
                return
            try:
                self.drain_once()
            except AgentGovError as exc:  # the database or the writer is down: try again next time
                _log.warning("ledger outbox drain failed: %s", exc)
