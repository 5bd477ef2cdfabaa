"""Where the store keeps the hashes above the leaves: one row per height-8 subtree. Pure.

The subtree ``(T, N)`` has as its base the 256 hashes of Merkle level ``8 * T`` with indices
``[256 * N, 256 * N + 256)`` (the tlog-tiles tile ``T/N``), and holds its 255 inner nodes (Merkle
levels ``8 * T + 1`` to ``8 * T + 8``) in one blob, level by level from the bottom: 128 hashes of
height 1, 64 of height 2, ..., 1 of height 8. A node not yet complete is 32 zero bytes. A writer thus
writes a few rows per batch instead of one per node, and a proof reads a few rows.

Nodes travel as *runs*: ``(level, first index, hashes)`` where ``hashes`` concatenates the hashes of
consecutive nodes of one level, so that a batch of 4,096 leaves is a dozen runs, not 4,095 tuples; a
single node is a run of one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from agentgov.errors import InvalidInput
from agentgov.ledger.merkle import HASH_SIZE
from agentgov.ledger.tiles import TILE_HEIGHT

__all__ = [
    "ABSENT",
    "BLOB_SIZE",
    "Run",
    "SubtreeKey",
    "extend_runs",
    "group_nodes",
    "locate",
    "merge_blob",
    "read_node",
]

_INNER = (1 << TILE_HEIGHT) - 1  # 255 inner nodes in a subtree of height 8
BLOB_SIZE = _INNER * HASH_SIZE
ABSENT = bytes(HASH_SIZE)
SubtreeKey = tuple[int, int]
Run = tuple[int, int, bytes]  # (level >= 1, first index, hashes of consecutive nodes)
_NODE_PREFIX = b"\x01"  # RFC 9162 §2.1.1: SHA-256(0x01 || left || right)


def _offset(height: int) -> int:
    # Nodes of heights 1..h-1 come first: 128 + 64 + ... = 256 - 2 ** (9 - h).
    return (1 << TILE_HEIGHT) - (1 << (TILE_HEIGHT + 1 - height))


def locate(level: int, index: int) -> tuple[SubtreeKey, int]:
    """The subtree row holding node ``(level, index)`` (level >= 1) and the node's slot in it."""
    if level < 1 or index < 0:
        raise InvalidInput(f"no stored inner node at level {level}, index {index}")
    tile_level, height = divmod(level - 1, TILE_HEIGHT)
    height += 1
    per_tile = 1 << (TILE_HEIGHT - height)
    return (tile_level, index >> (TILE_HEIGHT - height)), _offset(height) + (index & (per_tile - 1))


def extend_runs(edge: list[bytes], size: int, leaf_hashes: Sequence[bytes]) -> list[Run]:
    """Append leaf hashes to the right edge of a tree of ``size`` in place; return the nodes they complete.

    The computation of :func:`agentgov.ledger.merkle.extend_edge` (RFC 9162 §2.1.1) done a level at a
    time: the new complete nodes of level ``L`` are those with indices ``[size >> L, new >> L)``; when
    that range starts at an odd index, its first node's left sibling is the edge's node of level
    ``L``, complete before the batch. One run per level >= 1; a test holds it to ``CompactRange``.
    """
    if len(edge) != size.bit_count():
        raise InvalidInput(f"a tree of size {size} has {size.bit_count()} right-edge hashes, got {len(edge)}")
    new_size = size + len(leaf_hashes)
    old_levels = [level for level in range(size.bit_length() - 1, -1, -1) if size >> level & 1]
    old_edge = dict(zip(old_levels, edge, strict=True))
    last: dict[int, bytes] = {}  # the last new node of each level: the new edge where it ends
    runs: list[Run] = []
    sha256 = hashlib.sha256
    level, row = 0, list(leaf_hashes)
    while row:
        last[level] = row[-1]
        if (size >> level) & 1:
            row.insert(0, old_edge[level])
        pairs = zip(row[::2], row[1::2], strict=False)  # an unpaired last node waits on the edge
        row = [sha256(_NODE_PREFIX + left + right).digest() for left, right in pairs]
        level += 1
        if row:
            runs.append((level, size >> level, b"".join(row)))
    edge[:] = [
        last[level] if (new_size >> level) > (size >> level) else old_edge[level]
        for level in range(new_size.bit_length() - 1, -1, -1)
        if new_size >> level & 1
    ]
    return runs


def group_nodes(runs: Iterable[Run]) -> dict[SubtreeKey, dict[int, bytes]]:
    """Runs cut at subtree boundaries: ``{(T, N): {first slot: hashes of consecutive slots}}``."""
    grouped: dict[SubtreeKey, dict[int, bytes]] = {}
    for level, first, hashes in runs:
        if level < 1 or first < 0 or not hashes or len(hashes) % HASH_SIZE:
            raise InvalidInput(f"not a run of inner nodes: level {level}, index {first}, {len(hashes)} bytes")
        tile_level, height = divmod(level - 1, TILE_HEIGHT)
        shift = TILE_HEIGHT - height - 1
        per_tile = 1 << shift
        base = _offset(height + 1)
        index, end = first, first + len(hashes) // HASH_SIZE
        while index < end:
            take = min(per_tile - (index & (per_tile - 1)), end - index)
            start = (index - first) * HASH_SIZE
            slots = grouped.setdefault((tile_level, index >> shift), {})
            slots[base + (index & (per_tile - 1))] = hashes[start : start + take * HASH_SIZE]
            index += take
    return grouped


def merge_blob(blob: bytes | None, slots: dict[int, bytes]) -> bytes:
    """The row's blob with ``slots`` written in (a new blob of absent nodes when ``blob`` is None).

    Each value is the hash of its slot, or the hashes of consecutive slots starting there.
    """
    data = bytearray(blob if blob is not None else BLOB_SIZE)
    for slot, value in slots.items():
        data[slot * HASH_SIZE : slot * HASH_SIZE + len(value)] = value
    if len(data) != BLOB_SIZE:
        raise InvalidInput(f"a subtree row holds {BLOB_SIZE} bytes, not {len(data)}")
    return bytes(data)


def read_node(blob: bytes, slot: int) -> bytes | None:
    value = blob[slot * HASH_SIZE : (slot + 1) * HASH_SIZE]
    return None if value == ABSENT or len(value) != HASH_SIZE else bytes(value)
