"""Where the store keeps the hashes above the leaves: one row per height-8 subtree. Pure.

The subtree ``(T, N)`` has as its base the 256 hashes of Merkle level ``8 * T`` with indices
``[256 * N, 256 * N + 256)`` (the tlog-tiles tile ``T/N``), and holds its 255 inner nodes (Merkle
levels ``8 * T + 1`` to ``8 * T + 8``) in one blob, level by level from the bottom: 128 hashes of
height 1, 64 of height 2, ..., 1 of height 8. A node not yet complete is 32 zero bytes. A writer thus
writes a few rows per batch instead of one per node, and a proof reads a few rows.
"""

from __future__ import annotations

from collections.abc import Iterable

from agentgov.errors import InvalidInput
from agentgov.ledger.merkle import HASH_SIZE
from agentgov.ledger.tiles import TILE_HEIGHT

__all__ = ["ABSENT", "BLOB_SIZE", "SubtreeKey", "group_nodes", "locate", "merge_blob", "read_node"]

_INNER = (1 << TILE_HEIGHT) - 1  # 255 inner nodes in a subtree of height 8
BLOB_SIZE = _INNER * HASH_SIZE
ABSENT = bytes(HASH_SIZE)
SubtreeKey = tuple[int, int]


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


def group_nodes(nodes: Iterable[tuple[int, int, bytes]]) -> dict[SubtreeKey, dict[int, bytes]]:
    """Nodes by the subtree row they belong to: ``{(T, N): {slot: hash}}``."""
    grouped: dict[SubtreeKey, dict[int, bytes]] = {}
    for level, index, value in nodes:
        key, slot = locate(level, index)
        grouped.setdefault(key, {})[slot] = value
    return grouped


def merge_blob(blob: bytes | None, slots: dict[int, bytes]) -> bytes:
    """The row's blob with ``slots`` written in (a new blob of absent nodes when ``blob`` is None)."""
    data = bytearray(blob if blob is not None else BLOB_SIZE)
    for slot, value in slots.items():
        data[slot * HASH_SIZE : (slot + 1) * HASH_SIZE] = value
    return bytes(data)


def read_node(blob: bytes, slot: int) -> bytes | None:
    value = blob[slot * HASH_SIZE : (slot + 1) * HASH_SIZE]
    return None if value == ABSENT or len(value) != HASH_SIZE else bytes(value)
