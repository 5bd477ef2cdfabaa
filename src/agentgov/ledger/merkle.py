"""RFC 6962 / RFC 9162 Merkle tree hashing, the hash-reader port and the right-edge accumulator.

Node addressing follows the tile layout (c2sp.org/tlog-tiles): the node at ``level`` L and ``index`` i
is the root of the complete subtree over leaves ``[i * 2**L, (i + 1) * 2**L)``; level 0 holds the leaf
hashes. Complete subtrees never change once written, so a store can serve every proof of every tree
size from them alone (see :mod:`agentgov.ledger.proofs`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from agentgov.errors import InvalidInput, NotFound, VerificationFailed

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "HashReader",
    "InMemoryTree",
    "Node",
    "ProofError",
    "extend_edge",
    "leaf_hash",
    "node_hash",
    "root_from_leaf_hashes",
    "tree_hash",
]

HASH_SIZE = 32
"""Bytes in a SHA-256 digest, the only hash of RFC 6962 logs."""

_LEAF_PREFIX = b"\x00"  # RFC 9162 §2.1.1: leaf hashes are domain-separated from node hashes
_NODE_PREFIX = b"\x01"

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256(), the root of the empty tree (RFC 9162 §2.1.1)."""


class ProofError(VerificationFailed):
    """A Merkle inclusion or consistency proof that does not prove what it claims."""

    code = "bad_proof"
    title = "Invalid Merkle proof"


def leaf_hash(entry: bytes) -> bytes:
    """MTH({d(0)}) = SHA-256(0x00 || d(0)) (RFC 9162 §2.1.1)."""
    return hashlib.sha256(_LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right) (RFC 9162 §2.1.1)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise InvalidInput(f"{what} is {len(value)} bytes, a SHA-256 hash is {HASH_SIZE}")


@dataclass(frozen=True, slots=True)
class Node:
    """A complete subtree: ``hash`` is the root of leaves ``[index * 2**level, (index + 1) * 2**level)``."""

    level: int
    index: int
    hash: bytes


class HashReader(Protocol):
    """Read access to the hashes of complete subtrees, as a store of tiles keeps them."""

    def node(self, level: int, index: int) -> bytes:
        """The root hash of the complete subtree at ``(level, index)``; raise NotFound if not stored."""
        ...


class CompactRange:
    """The right edge of a growing tree: O(log n) hashes that give the root at the current size.

    ``hashes`` holds one complete-subtree root per set bit of ``size``, largest subtree first; they
    decompose ``[0, size)`` exactly as the recursion of RFC 9162 §2.1.1 splits it.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._hashes: list[bytes] = []

    @classmethod
    def restore(cls, size: int, hashes: Sequence[bytes]) -> CompactRange:
        """Resume from a persisted right edge (for example the nodes a writer stored)."""
        if size < 0:
            raise InvalidInput(f"tree size cannot be negative: {size}")
        if len(hashes) != size.bit_count():
            raise InvalidInput(
                f"a tree of size {size} has {size.bit_count()} right-edge hashes, got {len(hashes)}"
            )
        for position, value in enumerate(hashes):
            _check_hash(value, f"right-edge hash {position}")
        compact = cls()
        compact._size = size
        compact._hashes = list(hashes)
        return compact

    @property
    def size(self) -> int:
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        return tuple(self._hashes)

    def edge(self) -> tuple[Node, ...]:
        """The right-edge hashes with their ``(level, index)`` addresses, largest subtree first."""
        nodes: list[Node] = []
        start = 0
        for level, value in zip(_set_bits_descending(self._size), self._hashes, strict=True):
            nodes.append(Node(level, start >> level, value))
            start += 1 << level
        return tuple(nodes)

    def append(self, leaf: bytes) -> list[Node]:
        """Add one leaf hash; return the complete subtrees this leaf completes, the leaf itself first.

        A writer persists the returned nodes; with them any later proof can be served.
        """
        _check_hash(leaf, "leaf hash")
        index = self._size
        value = leaf
        level = 0
        completed = [Node(0, index, value)]
        # RFC 9162 §2.1.1: an odd index at a level means its left sibling is complete and on the edge.
        while index & 1:
            value = node_hash(self._hashes.pop(), value)
            index >>= 1
            level += 1
            completed.append(Node(level, index, value))
        self._hashes.append(value)
        self._size += 1
        return completed

    def root(self) -> bytes:
        """MTH(D[0:size]) (RFC 9162 §2.1.1): fold the edge from the smallest subtree leftwards."""
        if not self._hashes:
            return EMPTY_ROOT
        value = self._hashes[-1]
        for left in reversed(self._hashes[:-1]):
            value = node_hash(left, value)
        return value


def _set_bits_descending(value: int) -> list[int]:
    return [bit for bit in range(value.bit_length() - 1, -1, -1) if value >> bit & 1]


def extend_edge(edge: list[bytes], size: int, leaf_hashes: list[bytes]) -> list[tuple[int, int, bytes]]:
    """Append leaf hashes to a right edge in place; return the nodes above level 0 they complete.

    The same computation as :meth:`CompactRange.append` (RFC 9162 §2.1.1) on a plain list, returning
    plain tuples: it runs once per entry on a writer's hot path. A test checks the two agree.
    """
    nodes: list[tuple[int, int, bytes]] = []
    for leaf in leaf_hashes:
        index, level, value = size, 0, leaf
        while index & 1:
            value = hashlib.sha256(_NODE_PREFIX + edge.pop() + value).digest()
            index >>= 1
            level += 1
            nodes.append((level, index, value))
        edge.append(value)
        size += 1
    return nodes


def root_from_leaf_hashes(leaves: Iterable[bytes]) -> bytes:
    """MTH over already-hashed leaves, in O(log n) memory."""
    compact = CompactRange()
    for leaf in leaves:
        compact.append(leaf)
    return compact.root()


def tree_hash(entries: Iterable[bytes]) -> bytes:
    """MTH(D[n]) of raw entries (RFC 9162 §2.1.1)."""
    return root_from_leaf_hashes(leaf_hash(entry) for entry in entries)


class InMemoryTree:
    """A whole tree held in memory: every complete subtree, addressed as a store would address it.

    Shipped in the product for tests, demos and small logs; it implements :class:`HashReader`.
    """

    __slots__ = ("_compact", "_nodes")

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self._compact = CompactRange()
        self._nodes: dict[tuple[int, int], bytes] = {}
        for leaf in leaves:
            self.append(leaf)

    @classmethod
    def from_entries(cls, entries: Iterable[bytes]) -> InMemoryTree:
        return cls(leaf_hash(entry) for entry in entries)

    @property
    def size(self) -> int:
        return self._compact.size

    def append(self, leaf: bytes) -> list[Node]:
        completed = self._compact.append(leaf)
        for node in completed:
            self._nodes[(node.level, node.index)] = node.hash
        return completed

    def root(self) -> bytes:
        return self._compact.root()

    def node(self, level: int, index: int) -> bytes:
        try:
            return self._nodes[(level, index)]
        except KeyError:
            raise NotFound(
                f"no complete subtree at level {level}, index {index} in a tree of size {self.size}"
            ) from None
