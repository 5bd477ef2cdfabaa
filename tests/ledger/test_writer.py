"""The single writer: durable acknowledgement, batching, restart from the stored edge, one writer only."""

from __future__ import annotations

import multiprocessing
import os
import threading
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine

from agentgov.errors import Conflict, InvalidInput, Unavailable
from agentgov.ledger.entries import (
    SALT_SIZE,
    PreparedEntry,
    _leaf_time,
    _time_text,
    leaf_bytes,
    leaves_from,
    prepare,
)
from agentgov.ledger.merkle import CompactRange, InMemoryTree, extend_edge
from agentgov.ledger.proofs import root_at, verify_inclusion
from agentgov.ledger.reader import LedgerReader
from agentgov.ledger.store import Batch, MemoryLedgerStore, TreeState, WriterSession
from agentgov.ledger.store_sql import SqlLedgerStore
from agentgov.ledger.subtrees import extend_runs
from agentgov.ledger.writer import LedgerWriter, WriterSettings
from tests.ledger.helpers import FAST, note


class GatedStore(MemoryLedgerStore):
    """A memory store whose commits wait for a gate, and which records batch sizes and can fail once."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()
        self.sizes: list[int] = []
        self.fail_next: Exception | None = None

    def open_writer(self) -> WriterSession:
        inner = super().open_writer()
        store = self

        class Session:
            def state(self) -> TreeState:
                return inner.state()

            def commit(self, batch: Batch) -> None:
                assert store.gate.wait(10)
                if store.fail_next is not None:
                    error, store.fail_next = store.fail_next, None
                    raise error
                inner.commit(batch)
                store.sizes.append(len(batch.entries))

            def close(self) -> None:
                inner.close()

        return Session()


def tree_of(store: MemoryLedgerStore | SqlLedgerStore) -> InMemoryTree:
    return InMemoryTree(
        entry.leaf_hash for entry in store.entries(0, store.tree_state().size, payloads=False)
    )


def test_append_is_acknowledged_only_after_its_batch_commits() -> None:
    store = GatedStore()
    store.gate.clear()
    with LedgerWriter(store, FAST) as writer:
        receipt = writer.submit(note(0))
        with pytest.raises(Unavailable):
            receipt.result(timeout=0.05)  # the commit is held: no acknowledgement
        assert store.tree_state().size == 0
        store.gate.set()
        assert receipt.result(timeout=10) == 0
        assert store.tree_state().size == 1


def test_batches_hold_at_most_max_batch_entries() -> None:
    store = GatedStore()
    store.gate.clear()
    with LedgerWriter(store, WriterSettings(max_batch=8, max_delay_s=0.5, max_pending=64)) as writer:
        receipts = [writer.submit(note(i)) for i in range(30)]
        store.gate.set()
        assert [r.result(10) for r in receipts] == list(range(30))
    assert max(store.sizes) == 8
    assert sum(store.sizes) == 30


def test_a_lone_entry_waits_at_most_max_delay() -> None:
    with LedgerWriter(MemoryLedgerStore(), WriterSettings(max_batch=4096, max_delay_s=0.01)) as writer:
        assert writer.append(note(0), timeout=5) == 0


def test_unbatched_settings_commit_each_entry_alone() -> None:
    store = GatedStore()
    with LedgerWriter(store, WriterSettings(max_batch=1, max_delay_s=0, max_pending=1)) as writer:
        assert [writer.append(note(i), timeout=5) for i in range(5)] == list(range(5))
    assert store.sizes == [1] * 5


def test_concurrent_appends_get_distinct_consecutive_indexes() -> None:
    store = MemoryLedgerStore()
    results: list[int] = []
    lock = threading.Lock()
    with LedgerWriter(store, FAST) as writer:

        def worker(offset: int) -> None:
            got = [writer.append(note(offset * 100 + i), timeout=10) for i in range(50)]
            with lock:
                results.extend(got)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert sorted(results) == list(range(200))


def test_writer_restarts_from_the_stored_edge(engine: Engine) -> None:
    store = SqlLedgerStore(engine, fsync=False)
    with LedgerWriter(store, FAST) as writer:
        for i in range(37):
            writer.submit(note(i))
        assert writer.append(note(37), timeout=10) == 37
    with LedgerWriter(store, FAST) as writer:
        assert writer.head.size == 38
        assert writer.append(note(38), timeout=10) == 38
    tree = tree_of(store)
    state = store.tree_state()
    assert CompactRange.restore(state.size, state.edge).root() == tree.root() == root_at(39, tree)
    proof = LedgerReader(store).inclusion(5, 39)
    verify_inclusion(5, 39, tree.node(0, 5), proof, tree.root())


def test_second_writer_on_the_same_store_is_refused(engine: Engine) -> None:
    store = SqlLedgerStore(engine, fsync=False)
    with LedgerWriter(store, FAST), pytest.raises(Conflict, match="another ledger writer"):
        LedgerWriter(SqlLedgerStore(engine, fsync=False), FAST).start()
    with LedgerWriter(store, FAST) as writer:  # the lock is released on close
        assert writer.append(note(0), timeout=10) == 0


def test_second_writer_on_a_memory_store_is_refused() -> None:
    store = MemoryLedgerStore()
    with LedgerWriter(store, FAST), pytest.raises(Conflict):
        LedgerWriter(store, FAST).start()


def test_failed_commit_fails_its_batch_and_the_writer_carries_on() -> None:
    store = GatedStore()
    store.fail_next = Unavailable("disk full")
    with LedgerWriter(store, WriterSettings(max_batch=1, max_delay_s=0, max_pending=1)) as writer:
        with pytest.raises(Unavailable, match="disk full"):
            writer.append(note(0), timeout=5)
        assert writer.append(note(1), timeout=5) == 0  # nothing of the failed batch was kept
    assert store.tree_state().size == 1


def test_writer_whose_tree_moved_underneath_stops_for_good() -> None:
    store = GatedStore()
    store.fail_next = Conflict("the stored tree is not at size 0: another writer moved it")
    with LedgerWriter(store, FAST) as writer:
        with pytest.raises(Conflict):
            writer.append(note(0), timeout=5)
        with pytest.raises(Unavailable, match="stopped"):
            writer.append(note(1), timeout=5)


def test_submit_to_a_closed_writer_is_refused() -> None:
    writer = LedgerWriter(MemoryLedgerStore(), FAST).start()
    writer.close()
    with pytest.raises(Unavailable):
        writer.submit(note(0))


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(InvalidInput, match="max_batch"):
        WriterSettings(max_batch=0)


@given(st.integers(0, 300), st.lists(st.binary(min_size=32, max_size=32), max_size=70))
def test_extend_edge_agrees_with_compact_range(start: int, leaves: list[bytes]) -> None:
    compact = CompactRange()
    for i in range(start):
        compact.append(i.to_bytes(32, "big"))
    edge = list(compact.hashes)
    nodes = extend_edge(edge, start, leaves)
    expected = [(n.level, n.index, n.hash) for leaf in leaves for n in compact.append(leaf)[1:]]
    assert nodes == expected
    assert tuple(edge) == compact.hashes


@given(st.integers(0, 600), st.lists(st.binary(min_size=32, max_size=32), max_size=300))
def test_extend_runs_agrees_with_compact_range(start: int, leaves: list[bytes]) -> None:
    compact = CompactRange()
    for i in range(start):
        compact.append(i.to_bytes(32, "big"))
    edge = list(compact.hashes)
    runs = extend_runs(edge, start, leaves)
    expected = {(n.level, n.index): n.hash for leaf in leaves for n in compact.append(leaf)[1:]}
    got = {
        (level, first + k): hashes[32 * k : 32 * k + 32]
        for level, first, hashes in runs
        for k in range(len(hashes) // 32)
    }
    assert got == expected
    assert len({level for level, _, _ in runs}) == len(runs)  # one run per level
    assert tuple(edge) == compact.hashes


def test_extend_runs_refuses_an_edge_of_the_wrong_size() -> None:
    with pytest.raises(InvalidInput, match="right-edge"):
        extend_runs([b"\x00" * 32], 3, [b"\x01" * 32])


def test_receipts_of_one_batch_resolve_to_consecutive_indexes_in_submission_order() -> None:
    store = GatedStore()
    store.gate.clear()
    with LedgerWriter(store, WriterSettings(max_batch=4, max_delay_s=5, max_pending=8)) as writer:
        receipts = [writer.submit(note(i)) for i in range(6)]
        assert not any(r.done for r in receipts)
        assert [r.index for r in receipts] == [-1] * 6
        store.gate.set()
        assert [r.result(10) for r in receipts] == list(range(6))
        assert [(r.done, r.index, r.error) for r in receipts[:2]] == [(True, 0, None), (True, 1, None)]
    assert store.sizes[0] == 4


def test_a_submitter_over_max_pending_waits_for_room() -> None:
    store = GatedStore()
    store.gate.clear()
    settings = WriterSettings(max_batch=2, max_delay_s=0, max_pending=2)
    with LedgerWriter(store, settings) as writer:
        first = [writer.submit(note(i)) for i in range(4)]  # two batches: one committing, one queued
        blocked: list[int] = []
        thread = threading.Thread(target=lambda: blocked.append(writer.append(note(4), timeout=10)))
        thread.start()
        thread.join(0.05)
        assert thread.is_alive()  # held back: the queue is full
        assert not blocked
        store.gate.set()
        thread.join(10)
        assert [r.result(10) for r in first] == [0, 1, 2, 3]
        assert blocked == [4]


def test_a_failed_writer_fails_what_was_queued_behind_the_batch() -> None:
    store = GatedStore()
    store.gate.clear()
    store.fail_next = Conflict("the stored tree is not at size 0: another writer moved it")
    with LedgerWriter(store, WriterSettings(max_batch=1, max_delay_s=0, max_pending=4)) as writer:
        receipts = [writer.submit(note(i)) for i in range(3)]
        store.gate.set()
        with pytest.raises(Conflict):
            receipts[0].result(10)
        for receipt in receipts[1:]:
            with pytest.raises(Unavailable, match="stopped"):
                receipt.result(10)
    assert store.tree_state().size == 0


@given(
    st.integers(0, 2**40),
    st.lists(
        st.tuples(
            st.sampled_from(["note", "registry.version", "registry.lifecycle"]),
            st.datetimes(timezones=st.just(UTC)),
            st.none() | st.integers(0, 2**53 - 1),
        ),
        max_size=20,
    ),
)
def test_bulk_leaves_are_the_leaves_of_each_entry(
    first: int, specs: list[tuple[str, datetime, int | None]]
) -> None:
    entries = [
        PreparedEntry(kind, _leaf_time(time), follows, b"{}", bytes(32), "sha256:" + "0" * 64)
        for kind, time, follows in specs
    ]
    assert leaves_from(first, [(e.kind, e.time, e.follows, e.digest) for e in entries]) == [
        leaf_bytes(first + i, e.kind, e.time, e.digest, e.follows) for i, e in enumerate(entries)
    ]


@given(st.datetimes(timezones=st.just(UTC)) | st.datetimes(timezones=st.timezones()))
def test_the_leaf_time_is_the_text_the_reader_checks_against(value: datetime) -> None:
    assert _leaf_time(value) == _time_text(value.astimezone(UTC))


def test_a_forked_child_never_reuses_the_parents_salts() -> None:
    prepare(note(0))  # the parent's pool now holds salts
    read_end, write_end = os.pipe()
    child = multiprocessing.get_context("fork").Process(
        target=lambda: os.write(write_end, prepare(note(1)).salt), daemon=True
    )
    child.start()
    child.join(30)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        salt_of_child = pipe.read()
    assert len(salt_of_child) == SALT_SIZE
    parents = {prepare(note(2)).salt for _ in range(2000)}
    assert salt_of_child not in parents


def test_a_closed_writer_can_start_again_where_it_stopped() -> None:
    writer = LedgerWriter(MemoryLedgerStore(), FAST)
    with writer:
        assert writer.append(note(0), timeout=5) == 0
    with writer:
        assert writer.append(note(1), timeout=5) == 1
