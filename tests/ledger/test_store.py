"""The stored log on SQLite and PostgreSQL: proofs and tiles from stored hashes, erasure, fsck."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from agentgov.errors import InvalidInput, NotFound
from agentgov.ledger.audit import DeletedEntry, ModifiedEntry, ReorderedEntries
from agentgov.ledger.fsck import fsck
from agentgov.ledger.merkle import InMemoryTree
from agentgov.ledger.proofs import verify_consistency, verify_inclusion
from agentgov.ledger.service import LedgerService
from agentgov.ledger.tiles import TILE_WIDTH, unpack_bundle
from tests.ledger.helpers import corrupt_node, fill, lifecycle, version

SIZE = 300  # more than one full level-0 tile


def reference(service: LedgerService) -> InMemoryTree:
    entries = service.store.entries(0, service.reader.size(), payloads=False)
    return InMemoryTree.from_entries(entry.leaf for entry in entries)


def test_proofs_served_from_stored_hashes_verify(sql_ledger: LedgerService) -> None:
    fill(sql_ledger, SIZE)
    tree = reference(sql_ledger)
    for size in (1, 2, 7, 256, 257, SIZE):
        root = sql_ledger.reader.root(size)
        for index in {0, size // 2, size - 1}:
            verify_inclusion(index, size, tree.node(0, index), sql_ledger.reader.inclusion(index, size), root)
        for old in {1, size // 3 or 1, size - 1 or 1}:
            proof = sql_ledger.reader.consistency(old, size)
            verify_consistency(old, size, proof, sql_ledger.reader.root(old), root)
    assert sql_ledger.reader.root(SIZE) == tree.root()


def test_proofs_beyond_the_integrated_tree_are_not_found(sql_ledger: LedgerService) -> None:
    fill(sql_ledger, 3)
    with pytest.raises(NotFound):
        sql_ledger.reader.inclusion(0, 4)
    with pytest.raises(InvalidInput):
        sql_ledger.reader.inclusion(3, 3)


def test_tiles_and_entry_bundles_match_the_tree(sql_ledger: LedgerService) -> None:
    fill(sql_ledger, SIZE)
    tree = reference(sql_ledger)
    full = sql_ledger.reader.tile(0, 0, None)
    assert full == b"".join(tree.node(0, i) for i in range(TILE_WIDTH))
    partial = sql_ledger.reader.tile(0, 1, SIZE - TILE_WIDTH)
    assert partial == b"".join(tree.node(0, i) for i in range(TILE_WIDTH, SIZE))
    assert sql_ledger.reader.tile(1, 0, 1) == tree.node(8, 0)
    leaves = unpack_bundle(sql_ledger.reader.bundle(1, SIZE - TILE_WIDTH))
    assert [InMemoryTree.from_entries([leaf]).root() for leaf in leaves] == [
        tree.node(0, i) for i in range(TILE_WIDTH, SIZE)
    ]
    with pytest.raises(NotFound):
        sql_ledger.reader.tile(0, 1, None)  # not full yet
    with pytest.raises(NotFound):
        sql_ledger.reader.tile(0, 1, SIZE - TILE_WIDTH + 1)


def test_erased_entry_reads_erased_and_its_proof_still_verifies(sql_ledger: LedgerService) -> None:
    fill(sql_ledger, 10)
    assert sql_ledger.erase(4) is True
    assert sql_ledger.erase(4) is False
    view, leaf_hash = sql_ledger.reader.entry(4)
    assert (view.status, view.event) == ("erased", None)
    verify_inclusion(4, 10, leaf_hash, sql_ledger.reader.inclusion(4, 10), sql_ledger.reader.root(10))
    assert fsck(sql_ledger.store).erased == 1


def test_fsck_passes_on_an_untouched_log(sql_ledger: LedgerService) -> None:
    fill(sql_ledger, SIZE)
    sql_ledger.publish()
    report = fsck(sql_ledger.store)
    assert (report.size, report.checkpoints) == (SIZE, 1)
    assert report.nodes_checked == SIZE - SIZE.bit_count()  # every complete subtree above the leaves


def _execute(engine: Engine, statement: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement))


def _engine(service: LedgerService) -> Engine:
    engine: Engine = service.store.engine  # type: ignore[attr-defined]
    return engine


def test_fsck_reports_a_modified_leaf(sql_ledger: LedgerService) -> None:
    fill(sql_ledger, 20)
    entry = sql_ledger.store.entries(7, 8)[0]
    with _engine(sql_ledger).begin() as conn:
        conn.execute(
            text("UPDATE ledger_entries SET leaf = :leaf WHERE idx = 7"),
            {"leaf": entry.leaf.replace(b'"kind":"note"', b'"kind":"nope"')},
        )
    with pytest.raises(ModifiedEntry, match="entry 7"):
        fsck(sql_ledger.store)


def test_fsck_reports_a_modified_payload(sql_ledger: LedgerService) -> None:
    fill(sql_ledger, 20)
    with _engine(sql_ledger).begin() as conn:
        conn.execute(text("UPDATE ledger_payloads SET salt = :salt WHERE idx = 3"), {"salt": b"\x00" * 32})
    with pytest.raises(ModifiedEntry, match="payload of entry 3"):
        fsck(sql_ledger.store)
    assert sql_ledger.reader.entry(3)[0].status == "tampered"


def test_fsck_reports_a_deleted_entry(sql_ledger: LedgerService) -> None:
    fill(sql_ledger, 20)
    _execute(_engine(sql_ledger), "DELETE FROM ledger_entries WHERE idx = 11")
    with pytest.raises(DeletedEntry, match=r"\[11, 12\)"):
        fsck(sql_ledger.store)


def test_fsck_reports_reordered_entries(sql_ledger: LedgerService) -> None:
    fill(sql_ledger, 20)
    _execute(_engine(sql_ledger), "UPDATE ledger_entries SET idx = -1 WHERE idx = 5")
    _execute(_engine(sql_ledger), "UPDATE ledger_entries SET idx = 5 WHERE idx = 6")
    _execute(_engine(sql_ledger), "UPDATE ledger_entries SET idx = 6 WHERE idx = -1")
    with pytest.raises(ReorderedEntries):
        fsck(sql_ledger.store)


def test_fsck_reports_a_modified_subtree_hash(sql_ledger: LedgerService) -> None:
    fill(sql_ledger, 20)
    corrupt_node(_engine(sql_ledger), 2, 1)
    with pytest.raises(ModifiedEntry, match="level 2, index 1"):
        fsck(sql_ledger.store)


def test_registry_events_link_to_the_agents_previous_event(memory_ledger: LedgerService) -> None:
    agent = "urn:agent:acme.example:clinic"
    first = memory_ledger.record(version(agent, 1, None))
    second = memory_ledger.record(version(agent, 2, first))
    memory_ledger.record(lifecycle(agent, "suspend", second))
    assert fsck(memory_ledger.store).size == 3
