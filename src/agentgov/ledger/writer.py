"""The single writer: sequences events in batches and acknowledges each only once it is durable.

Callers :meth:`LedgerWriter.submit` events from any thread and get a :class:`Receipt`; one thread
commits batches (up to ``max_batch`` entries, or whatever arrived within ``max_delay_s`` of the first),
each in one transaction: leaves, payloads, the subtree nodes the batch completes and the new right
edge. A receipt resolves only after that commit, so an acknowledged entry survives a crash; a failed
commit fails every receipt of the batch (fail closed). The writer keeps only the right edge of the
tree in memory (O(log n) hashes) and restores it from the store when it starts.

Entries gather in :class:`_Ticket` objects, one per batch in the making: a receipt names its ticket
and its place in it, and the writer settles a whole batch by settling its ticket (first index or
error), so the per-entry work of the writer thread is the leaf, its hash and its share of the rows.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from dataclasses import dataclass

from agentgov.errors import AgentGovError, Conflict, InvalidInput, Unavailable
from agentgov.ledger.entries import (
    MAX_PAYLOAD_BYTES,
    AnyEvent,
    EntryFields,
    PreparedEntry,
    leaves_from,
    prepare_fields,
)
from agentgov.ledger.merkle import CompactRange
from agentgov.ledger.store import Batch, LedgerStore, Rows, TreeState, WriterSession
from agentgov.ledger.subtrees import extend_runs

__all__ = ["LedgerWriter", "Receipt", "WriterSettings"]

_sha256 = hashlib.sha256


@dataclass(frozen=True)
class WriterSettings:
    # A batch is one transaction: 4,096 entries amortise the commit (and its fsync) while a batch's
    # rows commit in milliseconds and fit easily in memory.
    max_batch: int = 4096
    # How long the first entry of a batch may wait for company: the worst added latency of an append.
    max_delay_s: float = 0.050
    # Entries accepted but not yet taken into a commit; beyond this, submit() blocks (backpressure), so
    # a burst cannot grow memory without bound; four batches of slack keep the writer busy.
    max_pending: int = 16_384
    # The largest canonical payload of one event (see entries.MAX_PAYLOAD_BYTES).
    max_payload_bytes: int = MAX_PAYLOAD_BYTES

    def __post_init__(self) -> None:
        if self.max_batch < 1 or self.max_pending < self.max_batch or self.max_delay_s < 0:
            raise InvalidInput(
                "writer settings need max_batch >= 1, max_pending >= max_batch, max_delay_s >= 0"
            )


class _Ticket:
    """One batch in the making: its entries, then its outcome (first index, or the error).

    The entries are kept by field, in columns (dropped once the batch is settled): one container
    object per queued entry (a tuple, a PreparedEntry) would double what the garbage collector counts
    and scans on the hottest path of the log, and the store takes columns anyway.
    """

    __slots__ = (
        "acked",
        "digests",
        "done",
        "error",
        "first",
        "follows",
        "kinds",
        "opened_at",
        "payloads",
        "salts",
        "times",
    )

    def __init__(self, acked: threading.Condition, opened_at: float) -> None:
        self.acked = acked
        self.opened_at = opened_at
        self.kinds: list[str] = []
        self.times: list[str] = []
        self.follows: list[int | None] = []
        self.payloads: list[bytes] = []
        self.salts: list[bytes] = []
        self.digests: list[str] = []
        self.first = -1
        self.error: AgentGovError | None = None
        self.done = False

    def drop_entries(self) -> None:
        self.kinds, self.times, self.follows, self.payloads, self.salts, self.digests = [], [], [], [], [], []


class Receipt:
    """The promise of an index: :meth:`result` returns it once the entry is durably sequenced."""

    __slots__ = ("_offset", "_ticket")

    def __init__(self, ticket: _Ticket, offset: int) -> None:
        self._ticket = ticket
        self._offset = offset

    @property
    def done(self) -> bool:
        """Whether the entry's batch is settled: committed, or failed (then :attr:`error` says why)."""
        return self._ticket.done

    @property
    def error(self) -> AgentGovError | None:
        return self._ticket.error

    @property
    def index(self) -> int:
        """The entry's index once committed, -1 before (or if its batch failed)."""
        ticket = self._ticket
        return ticket.first + self._offset if ticket.done and ticket.error is None else -1

    def result(self, timeout: float | None = None) -> int:
        ticket = self._ticket
        if not ticket.done:
            _wait(ticket, timeout)
        if ticket.error is not None:
            raise ticket.error
        return ticket.first + self._offset


def _wait(ticket: _Ticket, timeout: float | None) -> None:
    deadline = None if timeout is None else time.monotonic() + timeout
    with ticket.acked:
        while not ticket.done:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise Unavailable("the ledger did not acknowledge the append in time")
            ticket.acked.wait(remaining)


class LedgerWriter:
    def __init__(self, store: LedgerStore, settings: WriterSettings | None = None) -> None:
        self.store = store
        self.settings = settings or WriterSettings()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)  # the writer thread waits here for entries
        self._room = threading.Condition(self._lock)  # submitters wait here for room (max_pending)
        self._acked = threading.Condition(threading.Lock())  # receipts wait here for their batch
        self._max_batch = self.settings.max_batch
        self._max_pending = self.settings.max_pending
        self._max_payload = self.settings.max_payload_bytes
        self._queue: deque[_Ticket] = deque()  # batches not yet taken; only the last may still grow
        self._queued = 0  # entries in the queue
        self._accepting = False  # started, not closing, not failed: the fast path of submit
        self._closing = False
        self._failed: AgentGovError | None = None
        self._session: WriterSession | None = None
        self._thread: threading.Thread | None = None
        self._edge: list[bytes] = []
        self._head = TreeState(0)

    # lifecycle -----------------------------------------------------------------------------------

    def start(self) -> LedgerWriter:
        """Take the store's writer lock (Conflict if held) and restore the right edge."""
        if self._thread is not None:
            raise Conflict("the ledger writer is already started")
        if self._failed is not None:
            raise Unavailable(f"the ledger writer stopped after an error: {self._failed.detail}")
        self._session = self.store.open_writer()
        try:
            state = self._session.state()
            CompactRange.restore(state.size, state.edge)  # validates the stored edge
        except BaseException:
            self._session.close()
            raise
        self._edge, self._head = list(state.edge), state
        with self._lock:
            self._closing = False
            self._accepting = True
        self._thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)
        self._thread.start()
        return self

    def close(self, timeout: float = 30.0) -> None:
        """Commit what was accepted, stop, and release the writer lock."""
        with self._lock:
            self._closing = True
            self._accepting = False
            self._arrived.notify_all()
            self._room.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._session is not None:
            self._session.close()
            self._session = None

    def __enter__(self) -> LedgerWriter:
        return self.start() if self._thread is None else self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def head(self) -> TreeState:
        """The size and right edge of everything committed so far."""
        return self._head

    # appending -----------------------------------------------------------------------------------

    def submit(self, event: AnyEvent) -> Receipt:
        """Accept an event for the next batch; raise at once if it is invalid or too large."""
        return self._enqueue(prepare_fields(event, self._max_payload))

    def submit_prepared(self, entry: PreparedEntry) -> Receipt:
        return self._enqueue((*entry,))

    def _enqueue(self, entry: EntryFields) -> Receipt:
        with self._lock:
            if self._queued >= self._max_pending or not self._accepting:
                self._wait_for_room()
            queue = self._queue
            ticket = queue[-1] if queue else None
            if ticket is None or len(ticket.payloads) >= self._max_batch:
                ticket = _Ticket(self._acked, time.monotonic())
                queue.append(ticket)
                self._arrived.notify()  # a writer waiting for entries
            kind, text, follows, payload, salt, digest = entry
            ticket.kinds.append(kind)
            ticket.times.append(text)
            ticket.follows.append(follows)
            ticket.salts.append(salt)
            ticket.digests.append(digest)
            payloads = ticket.payloads
            payloads.append(payload)
            self._queued += 1
            if len(payloads) == self._max_batch:
                self._arrived.notify()  # a writer waiting for its batch to fill
            return Receipt(ticket, len(payloads) - 1)

    def append(self, event: AnyEvent, timeout: float | None = None) -> int:
        """Submit and wait: the index of the entry, returned only once it is durably sequenced."""
        return self.submit(event).result(timeout)

    def _wait_for_room(self) -> None:
        """Under the lock: block while the queue is full; raise if the writer does not accept."""
        while self._queued >= self._max_pending and self._accepting:
            self._room.wait()
        if self._failed is not None:
            raise Unavailable(f"the ledger writer stopped after an error: {self._failed.detail}")
        if not self._accepting:
            raise Unavailable("the ledger writer is not running")

    # the writer thread ---------------------------------------------------------------------------

    def _next_batch(self) -> _Ticket | None:
        max_delay = self.settings.max_delay_s
        with self._lock:
            while not self._queue and not self._closing:
                self._arrived.wait()
            if not self._queue:
                return None
            ticket = self._queue[0]
            deadline = ticket.opened_at + max_delay
            while len(ticket.payloads) < self._max_batch and not self._closing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._arrived.wait(remaining)
            self._queue.popleft()
            self._queued -= len(ticket.payloads)
            self._room.notify_all()
        return ticket

    def _run(self) -> None:
        while True:
            ticket = self._next_batch()
            if ticket is None:
                return
            try:
                first = self._commit(ticket)
            except AgentGovError as exc:
                self._fail(ticket, exc)
            except Exception as exc:  # noqa: BLE001 - a bug must fail the callers, not kill them silently
                self._fail(ticket, Unavailable(f"ledger writer error: {exc.__class__.__name__}: {exc}"))
            else:
                self._settle(ticket, first, None)

    def _commit(self, ticket: _Ticket) -> int:
        """Commit one batch; return the index of its first entry."""
        if self._session is None:
            raise Unavailable("the ledger writer is not running")
        old_size = self._head.size
        new_size = old_size + len(ticket.payloads)
        fields = zip(ticket.kinds, ticket.times, ticket.follows, ticket.digests, strict=True)
        leaves = leaves_from(old_size, fields)
        hashes = [_sha256(b"\x00" + leaf).digest() for leaf in leaves]  # RFC 9162 §2.1.1 leaf hash
        edge = list(self._edge)
        nodes = extend_runs(edge, old_size, hashes)
        rows = Rows(old_size, leaves, hashes)
        payloads = Rows(old_size, ticket.salts, ticket.payloads)
        self._session.commit(Batch(old_size, new_size, tuple(edge), rows, payloads, nodes))
        self._edge, self._head = edge, TreeState(new_size, tuple(edge))
        return old_size

    def _settle(self, ticket: _Ticket, first: int, error: AgentGovError | None) -> None:
        ticket.first, ticket.error = first, error
        ticket.drop_entries()
        with self._acked:
            ticket.done = True
            self._acked.notify_all()

    def _fail(self, ticket: _Ticket, error: AgentGovError) -> None:
        if isinstance(error, Conflict) or self._session is None:
            self._failed = error  # another writer moved the tree: this one must stop for good
        else:
            try:  # the batch was rolled back; carry on only if the store agrees with the edge
                if self._session.state().size != self._head.size:
                    self._failed = Conflict("the stored tree moved under the writer after a failed commit")
            except AgentGovError as exc:
                self._failed = exc
        self._settle(ticket, -1, error)
        if self._failed is not None:
            with self._lock:
                pending = list(self._queue)
                self._queue.clear()
                self._queued = 0
                self._closing = True
                self._accepting = False
                self._room.notify_all()
            stopped = Unavailable(f"the ledger writer stopped: {error.detail}")
            for other in pending:
                self._settle(other, -1, stopped)
