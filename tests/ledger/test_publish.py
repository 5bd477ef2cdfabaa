"""Checkpoints: signed with the log key, published on demand and on a schedule, never inconsistent."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from agentgov.core.clock import FixedClock
from agentgov.errors import Conflict, InvalidInput, Unavailable, VerificationFailed
from agentgov.ledger.checkpoint import open_checkpoint
from agentgov.ledger.keyfiles import create_key_file, load_log_signer, load_or_create_log_signer
from agentgov.ledger.note_keys import parse_verifier_key
from agentgov.ledger.publisher import PublishSchedule, parse_witness_endpoint
from agentgov.ledger.service import LedgerService, LedgerSettings
from agentgov.ledger.store import MemoryLedgerStore, StoredCheckpoint
from tests.ledger.helpers import LOG_SIGNER, ORIGIN, corrupt_node, fill, note, service_over, witness_signer


def test_published_checkpoint_is_signed_by_the_log_for_its_origin(memory_ledger: LedgerService) -> None:
    fill(memory_ledger, 5)
    signed = memory_ledger.publish()
    opened = open_checkpoint(memory_ledger.checkpoint(), LOG_SIGNER.verifier())
    assert (opened.checkpoint.origin, opened.checkpoint.size) == (ORIGIN, 5)
    assert opened.checkpoint.root_hash == signed.root_hash == memory_ledger.reader.root(5)


def test_publishing_without_new_entries_reuses_the_last_checkpoint(memory_ledger: LedgerService) -> None:
    fill(memory_ledger, 3)
    first = memory_ledger.publish()
    assert memory_ledger.publish() == first
    fill(memory_ledger, 2)
    assert memory_ledger.publish().size == 5
    assert [c.size for c in memory_ledger.store.checkpoints()] == [3, 5]


def test_the_empty_log_can_be_checkpointed(memory_ledger: LedgerService) -> None:
    assert memory_ledger.publish().size == 0
    fill(memory_ledger, 1)
    assert memory_ledger.publish().size == 1


def test_log_refuses_to_sign_a_tree_inconsistent_with_its_last_checkpoint(sql_ledger: LedgerService) -> None:
    fill(sql_ledger, 8)
    sql_ledger.publish()
    fill(sql_ledger, 4)
    engine = sql_ledger.store.engine  # type: ignore[attr-defined]
    corrupt_node(engine, 3, 0)  # rewrite history below the signed size
    with pytest.raises(VerificationFailed, match="not consistent"):
        sql_ledger.publish()
    assert [c.size for c in sql_ledger.store.checkpoints()] == [8]


def test_log_refuses_to_sign_a_smaller_tree(memory_ledger: LedgerService) -> None:
    fill(memory_ledger, 4)
    signed = memory_ledger.publish()
    memory_ledger.store.save_checkpoint(
        signed.__class__(9, signed.root_hash, signed.note, signed.published_at)
    )
    with pytest.raises(Conflict, match="refusing"):
        memory_ledger.publish()


def test_checkpoints_are_published_on_a_schedule(clock: FixedClock) -> None:
    service = service_over(MemoryLedgerStore(), clock).start(schedule=False)
    published = threading.Event()
    original = service.publisher.publish

    def publish_and_tell() -> StoredCheckpoint:
        result = original()
        published.set()
        return result

    service.publisher.publish = publish_and_tell  # type: ignore[method-assign]
    schedule = PublishSchedule(service.publisher, 0.01).start()
    try:
        fill(service, 3)
        assert published.wait(10)
    finally:
        schedule.stop()
        service.close()
    assert service.store.checkpoints()[-1].size <= 3


def test_log_key_file_is_private_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "log.key"
    vkey = create_key_file(path, ORIGIN)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_log_signer(path, ORIGIN).verifier().verifier_key() == vkey
    assert parse_verifier_key(vkey).name == ORIGIN
    with pytest.raises(Conflict):
        create_key_file(path, ORIGIN)
    assert load_or_create_log_signer(path, ORIGIN).verifier().verifier_key() == vkey


def test_log_key_named_for_another_origin_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "log.key"
    create_key_file(path, "other.test/log")
    with pytest.raises(InvalidInput, match="origin"):
        load_log_signer(path, ORIGIN)


def test_witness_key_cannot_sign_as_a_log(tmp_path: Path) -> None:
    path = tmp_path / "witness.key"
    create_key_file(path, "witness.test/w1", witness=True)
    with pytest.raises(InvalidInput, match="type"):
        load_log_signer(path)


def test_witness_endpoints_need_a_cosignature_key_and_a_url() -> None:
    vkey = witness_signer(1).verifier().verifier_key()
    assert parse_witness_endpoint(f"{vkey} https://w1.test/").url == "https://w1.test/"
    with pytest.raises(InvalidInput, match="URL"):
        parse_witness_endpoint(vkey)
    with pytest.raises(InvalidInput, match="cosignature"):
        parse_witness_endpoint(f"{LOG_SIGNER.verifier().verifier_key()} https://w1.test")


def test_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    vkey = witness_signer(1).verifier().verifier_key()
    monkeypatch.setenv("AGENTGOV_LEDGER_ORIGIN", "env.test/log")
    monkeypatch.setenv("AGENTGOV_LEDGER_KEY", "/keys/log.key")
    monkeypatch.setenv("AGENTGOV_LEDGER_CHECKPOINT_INTERVAL", "2.5")
    monkeypatch.setenv("AGENTGOV_LEDGER_WITNESSES", f"{vkey} https://w1.test; {vkey} https://w2.test")
    settings = LedgerSettings.from_env()
    assert (settings.origin, settings.key_path, settings.checkpoint_interval_s) == (
        "env.test/log",
        Path("/keys/log.key"),
        2.5,
    )
    assert len(settings.witnesses) == 2
    monkeypatch.setenv("AGENTGOV_LEDGER_CHECKPOINT_INTERVAL", "soon")
    with pytest.raises(InvalidInput):
        LedgerSettings.from_env()


def test_recording_needs_the_writer_of_this_process(clock: FixedClock) -> None:
    service = service_over(MemoryLedgerStore(), clock)
    with pytest.raises(Unavailable, match="not started"):
        service.record(note(0))
