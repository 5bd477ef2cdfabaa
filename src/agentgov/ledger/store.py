"""The ledger's store port, its records, and the in-memory adapter shipped for tests and demos.

The port has two faces. Readers (any number, any replica) read entries, subtree hashes, checkpoints
and cosignatures. The one writer opens a :class:`WriterSession`, which holds the store's writer lock
for its lifetime and commits whole batches: entries, payloads, the subtree nodes they complete and
the new right edge, atomically, and only if the tree still has the size the writer believes it has.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, overload

from agentgov.errors import Conflict, InvalidInput, NotFound
from agentgov.ledger.merkle import HASH_SIZE

__all__ = [
    "Batch",
    "LedgerStore",
    "MemoryLedgerStore",
    "Rows",
    "StoredCheckpoint",
    "StoredCosignature",
    "StoredEntry",
    "TreeState",
    "WriterSession",
]

Address = tuple[int, int]


@dataclass(frozen=True, slots=True)
class TreeState:
    """The integrated size and its right edge (one hash per set bit of ``size``, largest first)."""

    size: int
    edge: tuple[bytes, ...] = ()


class Rows(Sequence[tuple[int, bytes, bytes]]):
    """Rows ``(first + i, a[i], b[i])`` kept as two columns: no tuple per row until one is read.

    The writer hands its batches to the store in this form; the SQL adapter bulk-inserts the
    columns as they are, and anything else sees an ordinary sequence of row tuples.
    """

    __slots__ = ("a", "b", "first")

    def __init__(self, first: int, a: Sequence[bytes], b: Sequence[bytes]) -> None:
        if len(a) != len(b):
            raise InvalidInput(f"columns of {len(a)} and {len(b)} values do not make rows")
        self.first, self.a, self.b = first, a, b

    def __len__(self) -> int:
        return len(self.a)

    @overload
    def __getitem__(self, position: int) -> tuple[int, bytes, bytes]: ...

    @overload
    def __getitem__(self, position: slice) -> Sequence[tuple[int, bytes, bytes]]: ...

    def __getitem__(
        self, position: int | slice
    ) -> tuple[int, bytes, bytes] | Sequence[tuple[int, bytes, bytes]]:
        if isinstance(position, slice):
            start, stop, step = position.indices(len(self.a))
            return [self[i] for i in range(start, stop, step)]
        index = position + len(self.a) if position < 0 else position
        if not 0 <= index < len(self.a):
            raise IndexError(f"row {position} of {len(self.a)}")
        return (self.first + index, self.a[index], self.b[index])

    def __iter__(self) -> Iterator[tuple[int, bytes, bytes]]:
        return zip(range(self.first, self.first + len(self.a)), self.a, self.b, strict=True)


@dataclass(frozen=True, slots=True)
class Batch:
    """What one writer commit adds, as sequences of row tuples that adapters can bulk-insert.

    ``entries`` hold the indexes ``old_size`` to ``new_size - 1`` in order, and so do ``payloads``
    (the writer passes both as :class:`Rows`). ``nodes`` are runs (:data:`agentgov.ledger.subtrees.Run`):
    ``(level >= 1, first index, hashes)``, the concatenated hashes of consecutive nodes of one level;
    a single node is a run of one hash.
    """

    old_size: int
    new_size: int
    edge: tuple[bytes, ...]
    entries: Sequence[tuple[int, bytes, bytes]]  # (index, leaf, leaf hash)
    payloads: Sequence[tuple[int, bytes, bytes]]  # (index, salt, payload)
    nodes: Sequence[tuple[int, int, bytes]]  # runs: (level >= 1, first index, hashes)


@dataclass(frozen=True, slots=True)
class StoredEntry:
    index: int
    leaf: bytes
    leaf_hash: bytes
    payload: bytes | None = None
    salt: bytes | None = None


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A checkpoint the log signed: ``note`` carries the log's signature only."""

    size: int
    root_hash: bytes
    note: str
    published_at: datetime


@dataclass(frozen=True, slots=True)
class StoredCosignature:
    """A witness's cosignature line (C2SP tlog-cosignature) over the checkpoint of ``size``."""

    size: int
    witness: str
    line: str
    timestamp: int


class WriterSession(Protocol):
    """The single writer's hold on the store; refuse a batch that does not start at the stored size."""

    def state(self) -> TreeState: ...

    def commit(self, batch: Batch) -> None:
        """Durably commit the batch or raise (Conflict if another writer moved the tree)."""
        ...

    def close(self) -> None: ...


class LedgerStore(Protocol):
    def open_writer(self) -> WriterSession:
        """Take the writer lock; Conflict if another writer holds it."""
        ...

    def tree_state(self) -> TreeState: ...

    def nodes(self, addresses: Collection[Address]) -> dict[Address, bytes]:
        """Complete-subtree hashes by ``(level, index)``; level 0 is the leaf hash. NotFound if absent."""
        ...

    def node_range(self, level: int, start: int, end: int) -> list[bytes]:
        """Hashes of ``(level, i)`` for ``start <= i < end``, in order; NotFound if one is missing."""
        ...

    def entries(self, start: int, end: int, *, payloads: bool = True) -> list[StoredEntry]:
        """Entries with ``start <= index < end`` that exist, in index order."""
        ...

    def erase(self, index: int) -> bool:
        """Delete the payload and salt of one entry; False when already erased."""
        ...

    def checkpoints(self, limit: int | None = None) -> list[StoredCheckpoint]:
        """Signed checkpoints, oldest first (the last ``limit`` when given)."""
        ...

    def checkpoint_at(self, size: int) -> StoredCheckpoint | None: ...

    def save_checkpoint(self, checkpoint: StoredCheckpoint) -> None: ...

    def cosignatures(self, size: int) -> list[StoredCosignature]: ...

    def add_cosignature(self, cosignature: StoredCosignature) -> None: ...

    def witness_size(self, witness: str) -> int:
        """The largest size ``witness`` cosigned for this log, 0 if none."""
        ...


@dataclass
class _Memory:
    lock: threading.Lock = field(default_factory=threading.Lock)
    state: TreeState = field(default_factory=lambda: TreeState(0))
    entries: dict[int, tuple[bytes, bytes]] = field(default_factory=dict)
    payloads: dict[int, tuple[bytes, bytes]] = field(default_factory=dict)
    nodes: dict[Address, bytes] = field(default_factory=dict)
    checkpoints: dict[int, StoredCheckpoint] = field(default_factory=dict)
    cosignatures: dict[tuple[int, str], StoredCosignature] = field(default_factory=dict)
    writer_open: bool = False


class _MemoryWriter:
    def __init__(self, memory: _Memory) -> None:
        self._memory = memory

    def state(self) -> TreeState:
        return self._memory.state

    def commit(self, batch: Batch) -> None:
        memory = self._memory
        with memory.lock:
            if memory.state.size != batch.old_size:
                raise Conflict(f"the tree has size {memory.state.size}, the writer expected {batch.old_size}")
            for index, leaf, leaf_hash in batch.entries:
                memory.entries[index] = (leaf, leaf_hash)
            for index, salt, payload in batch.payloads:
                memory.payloads[index] = (salt, payload)
            for level, first, hashes in batch.nodes:
                for offset in range(0, len(hashes), HASH_SIZE):
                    memory.nodes[(level, first + offset // HASH_SIZE)] = hashes[offset : offset + HASH_SIZE]
            memory.state = TreeState(batch.new_size, batch.edge)

    def close(self) -> None:
        with self._memory.lock:
            self._memory.writer_open = False


class MemoryLedgerStore:
    """The whole store in dictionaries: the same behaviour as the SQL store, minus durability."""

    def __init__(self) -> None:
        self._m = _Memory()

    def open_writer(self) -> WriterSession:
        with self._m.lock:
            if self._m.writer_open:
                raise Conflict("another ledger writer is running on this store")
            self._m.writer_open = True
        return _MemoryWriter(self._m)

    def tree_state(self) -> TreeState:
        return self._m.state

    def nodes(self, addresses: Collection[Address]) -> dict[Address, bytes]:
        found: dict[Address, bytes] = {}
        with self._m.lock:
            for level, index in addresses:
                if level == 0:
                    entry = self._m.entries.get(index)
                    value = None if entry is None else entry[1]
                else:
                    value = self._m.nodes.get((level, index))
                if value is None:
                    raise NotFound(f"no subtree hash at level {level}, index {index}")
                found[(level, index)] = value
        return found

    def node_range(self, level: int, start: int, end: int) -> list[bytes]:
        found = self.nodes([(level, index) for index in range(start, end)])
        return [found[(level, index)] for index in range(start, end)]

    def entries(self, start: int, end: int, *, payloads: bool = True) -> list[StoredEntry]:
        out: list[StoredEntry] = []
        with self._m.lock:
            for index in range(start, min(end, self._m.state.size)):
                if index not in self._m.entries:
                    continue
                leaf, leaf_hash = self._m.entries[index]
                salt, payload = self._m.payloads.get(index, (None, None)) if payloads else (None, None)
                out.append(StoredEntry(index, leaf, leaf_hash, payload, salt))
        return out

    def erase(self, index: int) -> bool:
        with self._m.lock:
            if index not in self._m.entries:
                raise NotFound(f"no ledger entry {index}")
            return self._m.payloads.pop(index, None) is not None

    def checkpoints(self, limit: int | None = None) -> list[StoredCheckpoint]:
        with self._m.lock:
            ordered = [self._m.checkpoints[size] for size in sorted(self._m.checkpoints)]
        return ordered if limit is None else ordered[-limit:]

    def checkpoint_at(self, size: int) -> StoredCheckpoint | None:
        return self._m.checkpoints.get(size)

    def save_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        with self._m.lock:
            if checkpoint.size in self._m.checkpoints:
                raise Conflict(f"a checkpoint of size {checkpoint.size} is already stored")
            self._m.checkpoints[checkpoint.size] = checkpoint

    def cosignatures(self, size: int) -> list[StoredCosignature]:
        with self._m.lock:
            return [c for (s, _), c in sorted(self._m.cosignatures.items()) if s == size]

    def add_cosignature(self, cosignature: StoredCosignature) -> None:
        with self._m.lock:
            self._m.cosignatures[(cosignature.size, cosignature.witness)] = cosignature

    def witness_size(self, witness: str) -> int:
        with self._m.lock:
            return max((s for s, w in self._m.cosignatures if w == witness), default=0)
