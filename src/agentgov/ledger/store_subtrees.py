"""SQL access to the hash rows (``ledger_leaf_tiles``, ``ledger_subtrees``), below SQLAlchemy for speed.

Plain driver SQL: a proof must read its rows in well under a millisecond, and statement building
would cost more than the lookup. Point lookups are OR-ed so that both backends search the primary
key (SQLite scans the whole table for a row-value IN list).

The writer's side computes a batch's new rows in Python (from a :class:`HashRowCache` of the rows
it is still filling, so nothing is read back in the steady state) and writes each table with one
statement on SQLite: the rows travel as one blob and a JSON array of :func:`spans` that
``json_each`` unrolls inside SQLite, where no Python lock is held.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from itertools import accumulate
from typing import Any

from sqlalchemy import Connection

from agentgov.db.driver import placeholder
from agentgov.errors import Conflict, NotFound
from agentgov.ledger.merkle import HASH_SIZE
from agentgov.ledger.subtrees import (
    ABSENT,
    BLOB_SIZE,
    SubtreeKey,
    group_nodes,
    locate,
    merge_blob,
    read_node,
)
from agentgov.ledger.tiles import TILE_HEIGHT, TILE_WIDTH

__all__ = [
    "SPAN_SHIFT",
    "HashRowCache",
    "leaf_tile_rows",
    "read_inner_nodes",
    "read_leaf_hashes",
    "read_level_range",
    "spans",
    "subtree_rows",
    "write_hash_rows",
]

Address = tuple[int, int]
_TOP_SLOT = (1 << TILE_HEIGHT) - 2  # the subtree's root, the last of its 255 slots
SPAN_SHIFT = 32  # a span is start << 32 | length: SQL takes it apart with >> 32 and & 0xFFFFFFFF


def spans(values: Sequence[bytes]) -> str:
    """Where each value sits in ``b"".join(values)``, as a JSON array of ``start << 32 | length``."""
    lengths = list(map(len, values))
    packed = [
        str((end - size) << SPAN_SHIFT | size) for end, size in zip(accumulate(lengths), lengths, strict=True)
    ]
    return "[" + ",".join(packed) + "]"


def _blobs(conn: Connection, keys: Collection[SubtreeKey]) -> dict[SubtreeKey, bytes]:
    if not keys:
        return {}
    mark = placeholder(conn)
    terms = " OR ".join([f"(level = {mark} AND idx = {mark})"] * len(keys))
    params = tuple(value for key in keys for value in key)
    rows = conn.exec_driver_sql(f"SELECT level, idx, hashes FROM ledger_subtrees WHERE {terms}", params)  # noqa: S608
    return {(row[0], row[1]): bytes(row[2]) for row in rows}


class HashRowCache:
    """The rows a writer session is still filling, as it last committed them.

    Only one session writes, so the rows it committed are the rows the store holds: the partial leaf
    tile and the incomplete subtree rows (at most one per tile level) are taken from here instead
    of being read back before every batch. A session forgets them all when a commit fails; the next
    batch then reads the rows again.
    """

    __slots__ = ("subtrees", "tile")

    def __init__(self) -> None:
        self.tile: tuple[int, bytes] | None = None  # (tile index, its hashes) while partial
        self.subtrees: dict[SubtreeKey, bytes] = {}

    def forget(self) -> None:
        self.tile = None
        self.subtrees.clear()

    def remember(
        self, tiles: Sequence[tuple[int, bytes]], subtrees: Sequence[tuple[int, int, bytes]]
    ) -> None:
        """After a successful commit: keep the rows that later batches will extend."""
        if tiles:
            index, hashes = tiles[-1]
            self.tile = (index, hashes) if len(hashes) < TILE_WIDTH * HASH_SIZE else None
        for level, index, blob in subtrees:
            if blob[_TOP_SLOT * HASH_SIZE :] == ABSENT:  # the subtree's root is not in yet
                self.subtrees[(level, index)] = blob
            else:
                self.subtrees.pop((level, index), None)


def leaf_tile_rows(
    conn: Connection, first: int, hashes: Sequence[bytes], cache: HashRowCache
) -> list[tuple[int, bytes]]:
    """The leaf tile rows after appending a batch's leaf hashes (entries ``first``, ``first + 1``...)."""
    if not hashes:
        return []
    existing = b""
    if first % TILE_WIDTH:  # the batch continues a partial tile: its row holds exactly what precedes
        if cache.tile is not None and cache.tile[0] == first // TILE_WIDTH:
            existing = cache.tile[1]
        else:
            sql = f"SELECT hashes FROM ledger_leaf_tiles WHERE idx = {placeholder(conn)}"  # noqa: S608
            existing = bytes(conn.exec_driver_sql(sql, (first // TILE_WIDTH,)).scalar_one_or_none() or b"")
        if len(existing) != (first % TILE_WIDTH) * HASH_SIZE:
            raise Conflict(f"the leaf tile of entry {first} does not end where the batch starts")
    rows: list[tuple[int, bytes]] = []
    position = 0
    while position < len(hashes):
        index = first + position
        take = min(TILE_WIDTH - index % TILE_WIDTH, len(hashes) - position)
        blob = b"".join(hashes[position : position + take])
        rows.append((index // TILE_WIDTH, existing + blob if not rows else blob))
        position += take
    return rows


def subtree_rows(
    conn: Connection, size: int, runs: Sequence[tuple[int, int, bytes]], cache: HashRowCache
) -> list[tuple[int, int, bytes]]:
    """The subtree rows after merging the inner nodes (runs) of a batch appended at ``size``."""
    grouped = group_nodes(runs)
    existing = {key: cache.subtrees[key] for key in grouped if key in cache.subtrees}
    # A row is stored once its first node is: node (8T + 1, 128N) of subtree (T, N) is complete.
    stored = [
        key
        for key in grouped
        if key not in existing and size >> (TILE_HEIGHT * key[0] + 1) > key[1] << (TILE_HEIGHT - 1)
    ]
    existing.update(_blobs(conn, stored))
    return [(key[0], key[1], merge_blob(existing.get(key), slots)) for key, slots in grouped.items()]


# SQLite: all the rows of a table in one statement (see store_sql); ``WHERE true`` lets the parser tell
# the upsert clause from a join constraint.
_UPSERT_TILES = (
    "INSERT INTO ledger_leaf_tiles (idx, hashes) "  # noqa: S608 - constants only
    f"SELECT ? + key, substr(?, (value >> {SPAN_SHIFT}) + 1, value & 0xFFFFFFFF) FROM json_each(?) "
    "WHERE true ON CONFLICT (idx) DO UPDATE SET hashes = excluded.hashes"
)
_UPSERT_SUBTREES = (
    "INSERT INTO ledger_subtrees (level, idx, hashes) "  # noqa: S608 - constants only
    f"SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), substr(?, key * {BLOB_SIZE} + 1, "
    f"{BLOB_SIZE}) FROM json_each(?) WHERE true "
    "ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes"
)


def write_hash_rows(
    conn: Connection,
    tiles: Sequence[tuple[int, bytes]],
    subtrees: Sequence[tuple[int, int, bytes]],
    *,
    json_each: bool,
) -> None:
    """Upsert leaf tile and subtree rows (inside the batch's transaction)."""
    if json_each:
        if tiles:
            blobs = [hashes for _, hashes in tiles]
            conn.exec_driver_sql(_UPSERT_TILES, (tiles[0][0], b"".join(blobs), spans(blobs)))
        if subtrees:
            keys = json.dumps([[level, index] for level, index, _ in subtrees])
            conn.exec_driver_sql(_UPSERT_SUBTREES, (b"".join(blob for _, _, blob in subtrees), keys))
        return
    mark = placeholder(conn)
    if tiles:
        conn.exec_driver_sql(
            f"INSERT INTO ledger_leaf_tiles (idx, hashes) VALUES ({mark}, {mark}) "  # noqa: S608
            "ON CONFLICT (idx) DO UPDATE SET hashes = excluded.hashes",
            list(tiles),
        )
    if subtrees:
        conn.exec_driver_sql(
            f"INSERT INTO ledger_subtrees (level, idx, hashes) VALUES ({mark}, {mark}, {mark}) "  # noqa: S608
            "ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes",
            list(subtrees),
        )


def _leaf_tiles(conn: Connection, first_tile: int, last_tile: int) -> dict[int, bytes]:
    mark = placeholder(conn)
    sql = f"SELECT idx, hashes FROM ledger_leaf_tiles WHERE idx >= {mark} AND idx <= {mark}"  # noqa: S608
    return {row[0]: bytes(row[1]) for row in conn.exec_driver_sql(sql, (first_tile, last_tile))}


def read_leaf_hashes(conn: Connection, indexes: Collection[int]) -> dict[Address, bytes]:
    """Leaf hashes by address ``(0, index)``; absent ones are left out."""
    if not indexes:
        return {}
    tiles = sorted({index // TILE_WIDTH for index in indexes})
    mark = placeholder(conn)
    sql = f"SELECT idx, hashes FROM ledger_leaf_tiles WHERE idx IN ({','.join([mark] * len(tiles))})"  # noqa: S608
    blobs = {row[0]: bytes(row[1]) for row in conn.exec_driver_sql(sql, tuple(tiles))}
    found: dict[Address, bytes] = {}
    for index in indexes:
        blob = blobs.get(index // TILE_WIDTH, b"")
        offset = (index % TILE_WIDTH) * HASH_SIZE
        if offset + HASH_SIZE <= len(blob):
            found[(0, index)] = blob[offset : offset + HASH_SIZE]
    return found


def read_inner_nodes(conn: Connection, addresses: Collection[Address]) -> dict[Address, bytes]:
    """Inner nodes (level >= 1) by address; absent ones are left out."""
    slots = {address: locate(*address) for address in addresses}
    blobs = _blobs(conn, {key for key, _ in slots.values()})
    found: dict[Address, bytes] = {}
    for address, (key, slot) in slots.items():
        value = read_node(blobs[key], slot) if key in blobs else None
        if value is not None:
            found[address] = value
    return found


def read_level_range(conn: Connection, level: int, start: int, end: int) -> list[bytes]:
    """Hashes ``(level, i)`` for ``start <= i < end``; NotFound if any is absent."""
    if level == 0:
        tiles = _leaf_tiles(conn, start // TILE_WIDTH, (end - 1) // TILE_WIDTH)
        joined = b"".join(tiles.get(t, b"") for t in range(start // TILE_WIDTH, (end - 1) // TILE_WIDTH + 1))
        offset = (start % TILE_WIDTH) * HASH_SIZE
        data = joined[offset : offset + (end - start) * HASH_SIZE]
        if len(data) != (end - start) * HASH_SIZE:
            raise NotFound(f"leaf hashes [{start}, {end}) are not all stored")
        return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]
    tile_level, height = divmod(level - 1, TILE_HEIGHT)
    height += 1
    shift = TILE_HEIGHT - height
    mark = placeholder(conn)
    params: tuple[Any, ...] = (tile_level, start >> shift, ((end - 1) >> shift) + 1)
    where = f"level = {mark} AND idx >= {mark} AND idx < {mark} ORDER BY idx"
    if height == TILE_HEIGHT:  # subtree roots (tlog-tiles at level >= 1): read 32 bytes of each row
        first = _TOP_SLOT * HASH_SIZE + 1
        sql = f"SELECT idx, substr(hashes, {first}, {HASH_SIZE}) FROM ledger_subtrees WHERE {where}"  # noqa: S608
        values = [bytes(row[1]) for row in conn.exec_driver_sql(sql, params)]
    else:
        rows = conn.exec_driver_sql(f"SELECT idx, hashes FROM ledger_subtrees WHERE {where}", params)  # noqa: S608
        blobs = {row[0]: bytes(row[1]) for row in rows}
        values = []
        for index in range(start, end):
            key, slot = locate(level, index)
            value = read_node(blobs[key[1]], slot) if key[1] in blobs else None
            values.append(value or b"")
    if len(values) != end - start or any(len(v) != HASH_SIZE or v == bytes(HASH_SIZE) for v in values):
        raise NotFound(f"subtree hashes at level {level}, [{start}, {end}) are not all stored")
    return values
