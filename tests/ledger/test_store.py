"""The stored log on SQLite and PostgreSQL: proofs and tiles from stored hashes, erasure, fsck."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from agentgov.errors import Conflict, InvalidInput, NotFound
from agentgov.ledger import store_sql
from agentgov.ledger.audit import DeletedEntry, ModifiedEntry, ReorderedEntries
from agentgov.ledger.entries import NoteEvent, open_entry
from agentgov.ledger.fsck import fsck
from agentgov.ledger.merkle import InMemoryTree, leaf_hash
from agentgov.ledger.proofs import verify_consistency, verify_inclusion
from agentgov.ledger.service import LedgerService
from agentgov.ledger.store import Batch, Rows, TreeState
from agentgov.ledger.store_sql import SqlLedgerStore
from agentgov.ledger.subtrees import extend_runs
from agentgov.ledger.tiles import TILE_WIDTH, unpack_bundle
from agentgov.ledger.writer import LedgerWriter, WriterSettings
from tests.ledger.helpers import START, corrupt_node, fill, lifecycle, version

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


def _notes(count: int) -> list[NoteEvent]:
    """Notes of very different sizes, with text that is not ASCII and bytes JSON must escape."""
    texts = ["", 'é\u0000"\\', "日本語のメモ " * 60, "x" * 4000]
    return [
        NoteEvent(actor="user:alice", subject=f"s-{i}", text=texts[i % len(texts)] + str(i), time=START)
        for i in range(count)
    ]


@pytest.mark.parametrize("path", ["one statement per table", "chunked statements", "row by row"])
def test_entries_and_payloads_read_back_byte_for_byte_on_every_insert_path(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    if path == "chunked statements":
        monkeypatch.setattr(store_sql, "_MAX_STATEMENT_BYTES", 10_000)
    if path == "row by row":
        monkeypatch.setattr(store_sql, "_has_json_each", lambda conn: False)
    store = SqlLedgerStore(sqlite_engine, fsync=False)
    events = _notes(300)
    with LedgerWriter(store, WriterSettings(max_batch=128, max_delay_s=0.001)) as writer:
        receipts = [writer.submit(event) for event in events]
        indexes = [receipt.result(10) for receipt in receipts]
    assert indexes == list(range(300))
    for entry, event in zip(store.entries(0, 300), events, strict=True):
        assert entry.payload == event.payload()
        view = open_entry(entry.index, entry.leaf, entry.payload, entry.salt)
        assert (view.status, view.event) == ("ok", event)
    assert fsck(store).size == 300


def _batch(rows: list[tuple[int, bytes, bytes]], payloads: list[tuple[int, bytes, bytes]]) -> Batch:
    edge: list[bytes] = []
    runs = extend_runs(edge, 0, [leaf_hash for _, _, leaf_hash in rows])
    return Batch(0, len(rows), tuple(edge), rows, payloads, runs)


def test_a_batch_that_skips_an_index_is_refused(engine: Engine) -> None:
    store = SqlLedgerStore(engine, fsync=False)
    leaves = [b'{"index":0}', b'{"index":2}']
    rows = [(index, leaf, leaf_hash(leaf)) for index, leaf in zip((0, 2), leaves, strict=True)]
    session = store.open_writer()
    try:
        with pytest.raises(InvalidInput, match="in order"):
            session.commit(_batch(rows, []))
    finally:
        session.close()
    assert store.tree_state().size == 0
    assert store.entries(0, 3) == []


def test_a_salt_of_the_wrong_size_is_refused(sqlite_engine: Engine) -> None:
    store = SqlLedgerStore(sqlite_engine, fsync=False)
    leaf = b'{"index":0}'
    session = store.open_writer()
    try:
        with pytest.raises(InvalidInput, match="salt"):
            session.commit(_batch([(0, leaf, leaf_hash(leaf))], [(0, b"\x01" * 31, b"{}")]))
    finally:
        session.close()
    assert store.tree_state().size == 0
    assert store.entries(0, 1) == []


def test_rows_read_as_row_tuples_whatever_the_access() -> None:
    rows = Rows(10, [b"a", b"b", b"c"], [b"x", b"y", b"z"])
    assert list(rows) == [(10, b"a", b"x"), (11, b"b", b"y"), (12, b"c", b"z")]
    assert (len(rows), rows[0], rows[-1]) == (3, (10, b"a", b"x"), (12, b"c", b"z"))
    assert rows[1:] == [(11, b"b", b"y"), (12, b"c", b"z")]
    with pytest.raises(IndexError):
        rows[3]
    with pytest.raises(IndexError):
        rows[-4]
    with pytest.raises(InvalidInput):
        Rows(0, [b"a"], [])


def test_a_failed_batch_leaves_no_trace_and_the_next_one_extends_the_stored_rows(engine: Engine) -> None:
    store = SqlLedgerStore(engine, fsync=False)
    session = store.open_writer()
    tree = InMemoryTree()
    edge: list[bytes] = []

    def batch(first: int, count: int, salt: bytes = b"\x02" * 32) -> Batch:
        leaves = [f'{{"index":{i}}}'.encode() for i in range(first, first + count)]
        hashes = [leaf_hash(leaf) for leaf in leaves]
        trial = list(edge)
        runs = extend_runs(trial, first, hashes)
        return Batch(
            first,
            first + count,
            tuple(trial),
            Rows(first, leaves, hashes),
            Rows(first, [salt] * count, [b"{}"] * count),
            runs,
        )

    try:
        for first, count in ((0, 5), (5, 300)):
            good = batch(first, count)
            if first == 5:  # the same rows, refused
                with pytest.raises(InvalidInput):
                    session.commit(batch(first, count, salt=b"\x02" * 31))
                _execute(engine, "INSERT INTO ledger_entries (idx, leaf) VALUES (100, 'x')")
                with pytest.raises(Conflict):  # refused inside the transaction: rolled back
                    session.commit(good)
                _execute(engine, "DELETE FROM ledger_entries WHERE idx = 100")
            session.commit(good)
            edge[:] = good.edge
            for _, _, value in good.entries:
                tree.append(value)
    finally:
        session.close()
    wanted = [(level, index) for level in range(9) for index in range(305 >> level)]
    assert store.nodes(wanted) == {address: tree.node(*address) for address in wanted}
    assert store.tree_state() == TreeState(305, tuple(edge))
    assert [entry.index for entry in store.entries(0, 400)] == list(range(305))
