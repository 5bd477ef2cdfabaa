"""Reading the log: proofs, roots, tiles, entry bundles and entries, served from stored hashes.

Proofs need about 2 log2(n) stored subtree hashes. They are fetched in one round trip: the proof is
first computed against a reader that only records which ``(level, index)`` it asks for, those hashes
are read at once, and the proof is computed again from them. Only integrated entries (those the
stored tree size covers) are ever proven or served.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from agentgov.errors import InvalidInput, NotFound
from agentgov.ledger.entries import EntryView, open_entry
from agentgov.ledger.merkle import HASH_SIZE, HashReader
from agentgov.ledger.proofs import consistency_proof, inclusion_proof, root_at
from agentgov.ledger.store import Address, LedgerStore
from agentgov.ledger.tiles import TILE_HEIGHT, TILE_WIDTH, pack_bundle, tile_available

__all__ = ["LedgerReader", "StoredHashes"]

T = TypeVar("T")
_DUMMY = b"\x00" * HASH_SIZE


class _Recorder:
    def __init__(self) -> None:
        self.wanted: set[Address] = set()

    def node(self, level: int, index: int) -> bytes:
        self.wanted.add((level, index))
        return _DUMMY


class StoredHashes:
    """A :class:`~agentgov.ledger.merkle.HashReader` over hashes already fetched from the store."""

    def __init__(self, hashes: dict[Address, bytes]) -> None:
        self._hashes = hashes

    def node(self, level: int, index: int) -> bytes:
        try:
            return self._hashes[(level, index)]
        except KeyError:
            raise NotFound(f"no subtree hash at level {level}, index {index}") from None


class LedgerReader:
    def __init__(self, store: LedgerStore) -> None:
        self.store = store
        self._known = 0  # a size already seen integrated: the tree only grows, so no need to ask again

    def size(self) -> int:
        """The integrated tree size: what proofs and checkpoints may cover."""
        self._known = max(self._known, self.store.tree_state().size)
        return self._known

    def _prefetched(self, compute: Callable[[HashReader], T]) -> T:
        recorder = _Recorder()
        compute(recorder)
        return compute(StoredHashes(self.store.nodes(recorder.wanted)))

    def _check_size(self, size: int) -> None:
        if size <= self._known:
            return
        current = self.size()
        if size > current:
            raise NotFound(f"the log has {current} integrated entries; tree size {size} does not exist yet")

    def root(self, size: int) -> bytes:
        self._check_size(size)
        return self._prefetched(lambda reader: root_at(size, reader))

    def inclusion(self, index: int, size: int) -> list[bytes]:
        """The audit path of entry ``index`` in the tree of ``size`` (RFC 9162 §2.1.3.1)."""
        if not 0 <= index < size:
            raise InvalidInput(f"entry {index} is not in a tree of size {size}", field="index")
        self._check_size(size)
        return self._prefetched(lambda reader: inclusion_proof(index, size, reader))

    def consistency(self, old: int, new: int) -> list[bytes]:
        """PROOF(old, D[new]) (RFC 9162 §2.1.4.1)."""
        if not 0 < old <= new:
            raise InvalidInput(f"a consistency proof needs 0 < old <= new, got {old} and {new}", field="old")
        self._check_size(new)
        return self._prefetched(lambda reader: consistency_proof(old, new, reader))

    def tile(self, level: int, index: int, width: int | None) -> bytes:
        """The tile at ``level`` (Merkle level 8 * level), full or partial (C2SP tlog-tiles)."""
        if not tile_available(level, index, width, self.size()):
            raise NotFound(f"tile {level}/{index}{'' if width is None else f'.p/{width}'} is not available")
        start = index * TILE_WIDTH
        return b"".join(self.store.node_range(TILE_HEIGHT * level, start, start + (width or TILE_WIDTH)))

    def bundle(self, index: int, width: int | None) -> bytes:
        """The entry bundle ``index`` (C2SP tlog-tiles): the leaves of the level-0 tile ``index``."""
        if not tile_available(0, index, width, self.size()):
            raise NotFound(f"entry bundle {index}{'' if width is None else f'.p/{width}'} is not available")
        start = index * TILE_WIDTH
        entries = self.store.entries(start, start + (width or TILE_WIDTH), payloads=False)
        if len(entries) != (width or TILE_WIDTH):
            raise NotFound(f"entries of bundle {index} are missing from the store")
        return pack_bundle(entry.leaf for entry in entries)

    def entry(self, index: int) -> tuple[EntryView, bytes]:
        """The entry's view (ok, erased or tampered) and its stored leaf hash."""
        if index < 0 or index >= self.size():
            raise NotFound(f"no ledger entry {index}")
        found = self.store.entries(index, index + 1)
        if not found:
            raise NotFound(f"ledger entry {index} is missing from the store")
        stored = found[0]
        return open_entry(index, stored.leaf, stored.payload, stored.salt), stored.leaf_hash
