"""The single writer: sequences events in batches and acknowledges each only once it is durable.

Callers :meth:`LedgerWriter.submit` events from any thread and get a :class:`Receipt`; one thread
forms batches (up to ``max_batch`` entries, or whatever arrived within ``max_delay_s`` of the first)
and commits each batch in one transaction: leaves, payloads, the subtree nodes the batch completes
and the new right edge. A receipt resolves only after that commit, so an acknowledged entry survives
a crash; a failed commit fails every receipt of the batch (fail closed). The writer keeps only the
right edge of the tree in memory (O(log n) hashes) and restores it from the store when it starts.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from dataclasses import dataclass

from agentgov.errors import AgentGovError, Conflict, InvalidInput, Unavailable
from agentgov.ledger.entries import MAX_PAYLOAD_BYTES, AnyEvent, PreparedEntry, leaf_bytes, prepare
from agentgov.ledger.merkle import CompactRange, extend_edge
from agentgov.ledger.store import Batch, LedgerStore, TreeState, WriterSession

__all__ = ["LedgerWriter", "Receipt", "WriterSettings"]

_sha256 = hashlib.sha256


@dataclass(frozen=True)
class WriterSettings:
    # A batch is one transaction: 4,096 entries amortise the commit (and its fsync) while a batch's
    # rows (about 12,000) still commit in milliseconds and fit easily in memory.
    max_batch: int = 4096
    # How long the first entry of a batch may wait for company: the worst added latency of an append.
    max_delay_s: float = 0.050
    # Entries accepted but not yet committed; beyond this, submit() blocks (backpressure), so a burst
    # cannot grow memory without bound; four batches of slack keep the writer busy.
    max_pending: int = 16_384
    # The largest canonical payload of one event (see entries.MAX_PAYLOAD_BYTES).
    max_payload_bytes: int = MAX_PAYLOAD_BYTES

    def __post_init__(self) -> None:
        if self.max_batch < 1 or self.max_pending < self.max_batch or self.max_delay_s < 0:
            raise InvalidInput(
                "writer settings need max_batch >= 1, max_pending >= max_batch, max_delay_s >= 0"
            )


class Receipt:
    """The promise of an index: :meth:`result` returns it once the entry is durably sequenced."""

    __slots__ = ("_writer", "done", "error", "index")

    def __init__(self, writer: LedgerWriter) -> None:
        self._writer = writer
        self.index = -1
        self.error: AgentGovError | None = None
        self.done = False

    def result(self, timeout: float | None = None) -> int:
        if not self.done:
            self._writer._wait(self, timeout)
        if self.error is not None:
            raise self.error
        return self.index


class LedgerWriter:
    def __init__(self, store: LedgerStore, settings: WriterSettings | None = None) -> None:
        self.store = store
        self.settings = settings or WriterSettings()
        self._arrived = threading.Condition(threading.Lock())
        self._acked = threading.Condition(threading.Lock())
        self._max_batch = self.settings.max_batch
        self._max_pending = self.settings.max_pending
        self._intake: deque[tuple[Receipt, PreparedEntry]] = deque()  # the entry is dropped once committed
        self._first_at = 0.0
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
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)
        self._thread.start()
        return self

    def close(self, timeout: float = 30.0) -> None:
        """Commit what was accepted, stop, and release the writer lock."""
        with self._arrived:
            self._closing = True
            self._arrived.notify_all()
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
        return self.submit_prepared(prepare(event, self.settings.max_payload_bytes))

    def submit_prepared(self, entry: PreparedEntry) -> Receipt:
        receipt = Receipt(self)
        intake = self._intake
        with self._arrived:
            while len(intake) >= self._max_pending and self._accepting():
                self._arrived.wait()
            if self._failed is not None or self._closing or self._thread is None:
                self._accepting(raise_if_not=True)
            intake.append((receipt, entry))
            waiting = len(intake)
            if waiting == 1:
                self._first_at = time.monotonic()
                self._arrived.notify_all()
            elif waiting == self._max_batch:
                self._arrived.notify_all()
        return receipt

    def append(self, event: AnyEvent, timeout: float | None = None) -> int:
        """Submit and wait: the index of the entry, returned only once it is durably sequenced."""
        return self.submit(event).result(timeout)

    def _accepting(self, raise_if_not: bool = False) -> bool:
        problem: AgentGovError | None = None
        if self._failed is not None:
            problem = Unavailable(f"the ledger writer stopped after an error: {self._failed.detail}")
        elif self._closing or self._thread is None:
            problem = Unavailable("the ledger writer is not running")
        if problem is not None and raise_if_not:
            raise problem
        return problem is None

    def _wait(self, receipt: Receipt, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._acked:
            while not receipt.done:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise Unavailable("the ledger did not acknowledge the append in time")
                self._acked.wait(remaining)

    # the writer thread ---------------------------------------------------------------------------

    def _next_batch(self) -> list[tuple[Receipt, PreparedEntry]]:
        settings = self.settings
        with self._arrived:
            while not self._intake and not self._closing:
                self._arrived.wait()
            deadline = self._first_at + settings.max_delay_s
            while len(self._intake) < settings.max_batch and not self._closing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._arrived.wait(remaining)
            count = min(len(self._intake), settings.max_batch)
            batch = [self._intake.popleft() for _ in range(count)]
            if self._intake:
                self._first_at = time.monotonic()
            self._arrived.notify_all()  # room for submitters held back by max_pending
        return batch

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if not batch:
                return
            try:
                self._commit(batch)
            except AgentGovError as exc:
                self._fail(batch, exc)
            except Exception as exc:  # noqa: BLE001 - a bug must fail the callers, not kill them silently
                self._fail(batch, Unavailable(f"ledger writer error: {exc.__class__.__name__}: {exc}"))

    def _commit(self, batch: list[tuple[Receipt, PreparedEntry]]) -> None:
        if self._session is None:
            raise Unavailable("the ledger writer is not running")
        old_size = self._head.size
        edge = list(self._edge)
        entries: list[tuple[int, bytes, bytes]] = []
        payloads: list[tuple[int, bytes, bytes]] = []
        hashes: list[bytes] = []
        for offset, (_, e) in enumerate(batch):
            index = old_size + offset
            leaf = leaf_bytes(index, e.kind, e.time, e.digest, e.follows)
            value = _sha256(b"\x00" + leaf).digest()  # RFC 9162 §2.1.1 leaf hash
            entries.append((index, leaf, value))
            payloads.append((index, e.salt, e.payload))
            hashes.append(value)
        nodes = extend_edge(edge, old_size, hashes)
        new_size = old_size + len(batch)
        self._session.commit(Batch(old_size, new_size, tuple(edge), entries, payloads, nodes))
        self._edge, self._head = edge, TreeState(new_size, tuple(edge))
        for offset, (receipt, _) in enumerate(batch):
            receipt.index = old_size + offset
            receipt.done = True
        with self._acked:
            self._acked.notify_all()

    def _fail(self, batch: list[tuple[Receipt, PreparedEntry]], error: AgentGovError) -> None:
        if isinstance(error, Conflict) or self._session is None:
            self._failed = error  # another writer moved the tree: this one must stop for good
        else:
            try:  # the batch was rolled back; carry on only if the store agrees with the edge
                if self._session.state().size != self._head.size:
                    self._failed = Conflict("the stored tree moved under the writer after a failed commit")
            except AgentGovError as exc:
                self._failed = exc
        for receipt, _ in batch:
            receipt.error = error
            receipt.done = True
        with self._acked:
            self._acked.notify_all()
        if self._failed is not None:
            with self._arrived:
                pending = list(self._intake)
                self._intake.clear()
                self._closing = True
            for receipt, _ in pending:
                receipt.error = Unavailable(f"the ledger writer stopped: {error.detail}")
                receipt.done = True
            with self._acked:
                self._acked.notify_all()
