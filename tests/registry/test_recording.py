"""The registry on the record (Art. 7): every version and lifecycle move is a ledger event, in order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from agentgov.core.clock import FixedClock
from agentgov.identity.apikeys import Principal, Role
from agentgov.ledger.entries import RegistryLifecycle, RegistryVersion, parse_event
from agentgov.ledger.fsck import fsck
from agentgov.ledger.service import LedgerService, LedgerSettings
from agentgov.registry.recording import RegistryRecorder, version_event
from agentgov.registry.service import RegistryService
from agentgov.registry.store import RegistryStore
from tests.conftest import REGISTRAR, declaration, org_doc


@pytest.fixture
def ledger(engine: Engine, clock: FixedClock, tmp_path: Path) -> Iterator[LedgerService]:
    settings = LedgerSettings(origin="test.example/ledger", key_path=tmp_path / "log.key")
    service = LedgerService.open(engine, settings, clock).start(schedule=False)
    yield service
    service.close()


def _developer(service: RegistryService) -> Principal:
    org_id = service.get_org("acme.example").id
    return Principal(key_id="t-dev", role=Role.DEVELOPER, org_id=org_id)


def _events(ledger: LedgerService) -> list[tuple[int, RegistryVersion | RegistryLifecycle]]:
    size = ledger.writer.head.size
    found = []
    for entry in ledger.store.entries(0, size):
        assert entry.payload is not None
        event = parse_event(entry.payload)
        assert isinstance(event, RegistryVersion | RegistryLifecycle)
        found.append((entry.index, event))
    return found


def test_every_version_and_move_is_recorded_and_the_api_names_its_entry(
    engine: Engine, clock: FixedClock, ledger: LedgerService
) -> None:
    store = RegistryStore(engine)
    service = RegistryService(store, clock, recorder=RegistryRecorder(store, ledger))
    service.create_org(REGISTRAR, org_doc())
    dev = _developer(service)
    filed = service.register_agent(dev, "acme.example", "clinic", declaration())
    published = service.publish_version(dev, filed.id, declaration(display_name="Clinic helper 2"))
    service.move(dev, filed.id, "submit")
    service.move(REGISTRAR, filed.id, "approve")
    suspended = service.move(REGISTRAR, filed.id, "suspend", reason="complaint under review")

    events = _events(ledger)
    assert [type(e).__name__ for _, e in events] == [
        "RegistryVersion",
        "RegistryLifecycle",
        "RegistryVersion",
        "RegistryLifecycle",
        "RegistryLifecycle",
        "RegistryLifecycle",
    ]
    assert (filed.ledger_index, published.ledger_index, suspended.ledger_index) == (1, 2, 5)
    # each event follows the agent's previous one, so a gap or a reordering is visible to the verifier
    assert [e.follows for _, e in events] == [None, 0, 1, 2, 3, 4]
    version2 = events[2][1]
    assert isinstance(version2, RegistryVersion)
    assert (version2.version, version2.digest, version2.prev_digest) == (2, published.digest, filed.digest)
    move = events[5][1]
    assert isinstance(move, RegistryLifecycle)
    assert (move.action, move.from_status, move.to_status) == ("suspend", "registered", "suspended")
    assert move.reason_digest is not None
    assert "complaint" not in move.payload().decode()
    # the stored rows name their entries too
    assert [v.ledger_index for v in service.versions(REGISTRAR, filed.id)] == [0, 2]
    assert [e.ledger_index for e in service.events(REGISTRAR, filed.id)] == [1, 3, 4, 5]
    fsck(ledger.store)  # the links check out on a full recompute


def test_changes_made_without_the_writer_are_recorded_by_the_next_sweep(
    engine: Engine, clock: FixedClock, ledger: LedgerService
) -> None:
    store = RegistryStore(engine)
    offline = RegistryService(store, clock)  # e.g. the CLI beside a running server
    offline.create_org(REGISTRAR, org_doc())
    agent = offline.register_agent(_developer(offline), "acme.example", "clinic", declaration())
    offline.move(_developer(offline), agent.id, "submit")
    assert offline.get_agent(REGISTRAR, agent.id).ledger_index is None

    assert RegistryRecorder(store, ledger).record_pending() == 3
    assert [e.follows for _, e in _events(ledger)] == [None, 0, 1]
    assert offline.get_agent(REGISTRAR, agent.id).ledger_index == 2
    assert RegistryRecorder(store, ledger).record_pending() == 0  # nothing is recorded twice


def test_an_event_appended_before_a_crash_is_adopted_not_appended_again(
    engine: Engine, clock: FixedClock, ledger: LedgerService
) -> None:
    store = RegistryStore(engine)
    offline = RegistryService(store, clock)
    offline.create_org(REGISTRAR, org_doc())
    agent = offline.register_agent(_developer(offline), "acme.example", "clinic", declaration())
    # a writer appended version 1 and died before it marked the row
    row = store.version_of(store.find_agent(agent.id)["seq"], 1)
    assert row is not None
    ledger.record(version_event(agent.id, row, None))

    assert RegistryRecorder(store, ledger).record_pending() == 2  # one adopted, one appended
    assert len(_events(ledger)) == 2
    assert [v.ledger_index for v in offline.versions(REGISTRAR, agent.id)] == [0]
    fsck(ledger.store)
