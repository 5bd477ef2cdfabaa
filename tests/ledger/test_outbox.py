"""Authority and approval events on the record (Art. 6, 7): straight into the log in the writer process,
through the durable outbox from any other process (the CLI, a gateway beside the server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from agentgov.approvals.wiring import open_authority
from agentgov.core.clock import FixedClock
from agentgov.db import make_engine
from agentgov.db.driver import DriverTransaction
from agentgov.errors import InvalidInput
from agentgov.ledger.entries import ActionEvent, NoteEvent, parse_event
from agentgov.ledger.fsck import fsck
from agentgov.ledger.outbox import LedgerRecorder, OutboxDrain, OutboxRecorder, OutboxStore, recorder_for
from agentgov.ledger.service import LedgerService, LedgerSettings
from agentgov.ledger.tables import ledger_outbox
from agentgov.policy.model import Effect
from tests.policy.authority_helpers import activate, request


@pytest.fixture
def ledger(engine: Engine, clock: FixedClock, tmp_path: Path) -> Iterator[LedgerService]:
    settings = LedgerSettings(origin="test.example/ledger", key_path=tmp_path / "log.key")
    service = LedgerService.open(engine, settings, clock).start(schedule=False)
    yield service
    service.close()


def _recorded(ledger: LedgerService) -> list[ActionEvent | NoteEvent]:
    found: list[ActionEvent | NoteEvent] = []
    for entry in ledger.store.entries(0, ledger.writer.head.size):
        assert entry.payload is not None
        event = parse_event(entry.payload)
        assert isinstance(event, ActionEvent | NoteEvent)
        found.append(event)
    return found


def test_a_decision_in_the_writer_process_is_sequenced_before_it_is_returned(
    engine: Engine, clock: FixedClock, ledger: LedgerService
) -> None:
    recorder = recorder_for(engine, ledger, clock)
    assert isinstance(recorder, LedgerRecorder)
    services = open_authority(engine, clock, recorder)
    activate(services)
    outcome = services.authority.decide(request(clock, "wipe"), actor="gateway:test")

    assert outcome.decision.effect is Effect.DENY
    assert outcome.record_index is not None
    event = _recorded(ledger)[outcome.record_index]
    assert isinstance(event, ActionEvent)
    assert (event.kind, event.subject) == ("authority.decision", "alice")
    assert event.data["effect"] == "deny"
    assert event.data["decision_id"] == outcome.id


def test_events_from_other_processes_wait_in_the_outbox_and_drain_in_order(
    engine: Engine, clock: FixedClock, ledger: LedgerService
) -> None:
    store = OutboxStore(engine)
    elsewhere = OutboxRecorder(store, clock)  # e.g. the CLI approving while the server writes
    for n in range(5):
        assert elsewhere.record("approval.approved", "alice", "user:alice", {"n": n}) is None
    assert store.count() == 5
    assert ledger.writer.head.size == 0

    assert OutboxDrain(store, ledger).drain_once() == 5
    assert store.count() == 0
    assert [e.data["n"] for e in _recorded(ledger) if isinstance(e, ActionEvent)] == [0, 1, 2, 3, 4]
    fsck(ledger.store)


def test_an_unreadable_outbox_row_is_recorded_as_a_note_not_lost_or_blocking(
    engine: Engine, clock: FixedClock, ledger: LedgerService
) -> None:
    store = OutboxStore(engine)
    with engine.begin() as conn:
        conn.execute(insert(ledger_outbox).values(event=b"{not json", created_at=clock.now()))
    OutboxRecorder(store, clock).record("approval.refused", "alice", "user:alice", {})

    assert OutboxDrain(store, ledger).drain_once() == 2
    first, second = _recorded(ledger)
    assert isinstance(first, NoteEvent)
    assert str(first.data["digest"]).startswith("sha256:")
    assert isinstance(second, ActionEvent)
    assert second.kind == "approval.refused"


def test_an_unknown_event_kind_is_refused_before_anything_is_stored(
    engine: Engine, clock: FixedClock
) -> None:
    store = OutboxStore(engine)
    with pytest.raises(InvalidInput, match="kind"):
        OutboxRecorder(store, clock).record("made.up", "alice", "x", {})
    assert store.count() == 0


def test_an_event_written_in_a_callers_transaction_commits_and_rolls_back_with_it(
    engine: Engine, clock: FixedClock
) -> None:
    """A decision's row and its event go in one commit: neither is ever stored without the other."""
    store = OutboxStore(engine)
    recorder = OutboxRecorder(store, clock)
    assert recorder.joins(engine)
    other = make_engine("sqlite://")  # another database: its transactions cannot carry this outbox's rows
    assert not recorder.joins(other)
    other.dispose()

    def failing_caller() -> None:
        with engine.begin() as conn:
            txn = DriverTransaction.of(conn, "test")
            assert recorder.record_in(txn, "authority.decision", "alice", "gateway:t", {"n": 1}) is None
            raise RuntimeError("the caller's own write failed")

    with pytest.raises(RuntimeError):
        failing_caller()
    assert store.count() == 0

    with engine.begin() as conn:
        recorder.record_in(
            DriverTransaction.of(conn, "test"), "authority.decision", "alice", "gateway:t", {"n": 2}
        )
    taken = [parse_event(event) for _, event in store.take(10)]
    assert [e.data for e in taken if isinstance(e, ActionEvent)] == [{"n": 2}]
    assert len(taken) == 1
