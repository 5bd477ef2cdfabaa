"""SQL access to the hash rows (``ledger_leaf_tiles``, ``ledger_subtrees``), below SQLAlchemy for speed.

Plain driver SQL: a proof must read its rows in well under a millisecond, and statement building
would cost more than the lookup. Point lookups are OR-ed so that both backends search the primary
key (SQLite scans the whole table for a row-value IN list).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Connection

from agentgov.errors import Conflict, NotFound
from agentgov.ledger.merkle import HASH_SIZE
from agentgov.ledger.subtrees import SubtreeKey, group_nodes, locate, merge_blob, read_node
from agentgov.ledger.tiles import TILE_HEIGHT, TILE_WIDTH

__all__ = [
    "read_inner_nodes",
    "read_leaf_hashes",
    "read_level_range",
    "write_inner_nodes",
    "write_leaf_hashes",
]

Address = tuple[int, int]
_TOP_SLOT = (1 << TILE_HEIGHT) - 2  # the subtree's root, the last of its 255 slots


def _mark(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _blobs(conn: Connection, keys: Collection[SubtreeKey]) -> dict[SubtreeKey, bytes]:
    if not keys:
        return {}
    mark = _mark(conn)
    terms = " OR ".join([f"(level = {mark} AND idx = {mark})"] * len(keys))
    params = tuple(value for key in keys for value in key)
    rows = conn.exec_driver_sql(f"SELECT level, idx, hashes FROM ledger_subtrees WHERE {terms}", params)  # noqa: S608
    return {(row[0], row[1]): bytes(row[2]) for row in rows}


def write_inner_nodes(conn: Connection, nodes: Sequence[tuple[int, int, bytes]]) -> None:
    """Merge a batch's new inner nodes into their subtree rows (inside the batch's transaction)."""
    grouped = group_nodes(nodes)
    existing = _blobs(conn, grouped.keys())
    rows = [(key[0], key[1], merge_blob(existing.get(key), slots)) for key, slots in grouped.items()]
    if not rows:
        return
    mark = _mark(conn)
    conn.exec_driver_sql(
        f"INSERT INTO ledger_subtrees (level, idx, hashes) VALUES ({mark}, {mark}, {mark}) "  # noqa: S608
        "ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes",
        rows,
    )


def write_leaf_hashes(conn: Connection, first: int, hashes: Sequence[bytes]) -> None:
    """Append a batch's leaf hashes (entries ``first``, ``first + 1``...) to their leaf tile rows."""
    if not hashes:
        return
    mark = _mark(conn)
    existing = b""
    if first % TILE_WIDTH:  # the batch continues a partial tile: its row holds exactly what precedes
        sql = f"SELECT hashes FROM ledger_leaf_tiles WHERE idx = {mark}"  # noqa: S608
        row = conn.exec_driver_sql(sql, (first // TILE_WIDTH,))
        existing = bytes(row.scalar_one_or_none() or b"")
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
    conn.exec_driver_sql(
        f"INSERT INTO ledger_leaf_tiles (idx, hashes) VALUES ({mark}, {mark}) "  # noqa: S608
        "ON CONFLICT (idx) DO UPDATE SET hashes = excluded.hashes",
        rows,
    )


def _leaf_tiles(conn: Connection, first_tile: int, last_tile: int) -> dict[int, bytes]:
    mark = _mark(conn)
    sql = f"SELECT idx, hashes FROM ledger_leaf_tiles WHERE idx >= {mark} AND idx <= {mark}"  # noqa: S608
    return {row[0]: bytes(row[1]) for row in conn.exec_driver_sql(sql, (first_tile, last_tile))}


def read_leaf_hashes(conn: Connection, indexes: Collection[int]) -> dict[Address, bytes]:
    """Leaf hashes by address ``(0, index)``; absent ones are left out."""
    if not indexes:
        return {}
    tiles = sorted({index // TILE_WIDTH for index in indexes})
    mark = _mark(conn)
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
    mark = _mark(conn)
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
