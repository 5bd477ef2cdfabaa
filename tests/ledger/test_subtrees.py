"""The subtree rows: every inner node has exactly one slot, and a stored tree reads back every node."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine

from agentgov.ledger.merkle import InMemoryTree, extend_edge, leaf_hash
from agentgov.ledger.store import Batch
from agentgov.ledger.store_sql import SqlLedgerStore
from agentgov.ledger.subtrees import BLOB_SIZE, locate


def test_the_255_inner_nodes_of_a_subtree_fill_its_255_slots() -> None:
    slots = {locate(level, index) for level in range(1, 9) for index in range(256 >> level)}
    assert {key for key, _ in slots} == {(0, 0)}
    assert sorted(slot for _, slot in slots) == list(range(BLOB_SIZE // 32))


@given(st.integers(1, 40), st.integers(0, 2**40))
def test_a_node_lives_in_the_subtree_over_its_leaves(level: int, index: int) -> None:
    (tile_level, tile_index), slot = locate(level, index)
    assert 8 * tile_level < level <= 8 * tile_level + 8
    first_base = (index << (level - 8 * tile_level)) >> 8  # its first base hash, in base tiles of 256
    assert tile_index == first_base
    assert 0 <= slot < 255


def test_every_leaf_and_subtree_hash_reads_back_after_batches_of_every_size(sqlite_engine: Engine) -> None:
    store = SqlLedgerStore(sqlite_engine, fsync=False)
    writer = store.open_writer()
    tree = InMemoryTree()
    edge: list[bytes] = []
    size = 0
    for batch_size in (1, 2, 255, 1, 700, 3, 4096, 60):
        hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(size, size + batch_size)]
        nodes = extend_edge(edge, size, hashes)
        entries = [(size + i, (size + i).to_bytes(4, "big"), h) for i, h in enumerate(hashes)]
        writer.commit(Batch(size, size + batch_size, tuple(edge), entries, [], nodes))
        for value in hashes:
            tree.append(value)
        size += batch_size
    writer.close()
    wanted = [(level, index) for level in range(14) for index in range(size >> level)]
    assert store.nodes(wanted) == {address: tree.node(*address) for address in wanted}
    for level in (0, 1, 7, 8, 9, 16):
        count = size >> level
        assert store.node_range(level, 0, count) == [tree.node(level, i) for i in range(count)]
