"""The offline verifier tells each kind of tampering apart, with its own message and exit code."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from agentgov.cli.ledger import ledger
from agentgov.core.clock import FixedClock
from agentgov.ledger.audit import EXIT_CODES
from agentgov.ledger.checkpoint import Checkpoint, sign_checkpoint
from agentgov.ledger.export import write_export
from agentgov.ledger.note import add_signatures
from agentgov.ledger.service import LedgerService
from agentgov.ledger.store import MemoryLedgerStore
from tests.ledger.helpers import LOG_SIGNER, fill, service_over, version, witness_signer

VKEY = LOG_SIGNER.verifier().verifier_key()


@pytest.fixture
def log(clock: FixedClock) -> LedgerService:
    service = service_over(MemoryLedgerStore(), clock).start(schedule=False)
    fill(service, 10)
    service.publish()
    fill(service, 15)
    service.publish()
    service.close()
    return service


def export_lines(service: LedgerService, *, payloads: bool = False) -> list[str]:
    out = io.StringIO()
    notes = [service.publisher.cosigned_note(c) for c in service.store.checkpoints()]
    write_export(service.store, out, origin=LOG_SIGNER.name, vkey=VKEY, notes=notes, with_payloads=payloads)
    return out.getvalue().splitlines(keepends=True)


def verify(tmp_path: Path, lines: list[str], *extra: str) -> tuple[int, str]:
    path = tmp_path / "export.jsonl"
    path.write_text("".join(lines))
    result = CliRunner().invoke(ledger, ["verify", "--vkey", VKEY, "--export", str(path), *extra])
    return result.exit_code, result.output


def checkpoint_file(tmp_path: Path, name: str, note: str) -> str:
    path = tmp_path / name
    path.write_text(note)
    return str(path)


def test_every_finding_has_its_own_exit_code() -> None:
    codes = [kind.exit_code for kind in EXIT_CODES]
    assert len(set(codes)) == len(codes)
    assert not {0, 1, 2} & set(codes)  # success, unusable input, usage


def test_untouched_export_verifies(tmp_path: Path, log: LedgerService) -> None:
    code, output = verify(tmp_path, export_lines(log, payloads=True))
    assert (code, output.startswith("verified: ledger.test/log size 25")) == (0, True)


def test_modified_entry_is_reported_as_modified(tmp_path: Path, log: LedgerService) -> None:
    lines = export_lines(log)
    leaf = base64.b64decode(json.loads(lines[4])["leaf"]).replace(b"T09:00:03Z", b"T10:00:03Z")
    lines[4] = json.dumps({"leaf": base64.b64encode(leaf).decode()}) + "\n"
    code, output = verify(tmp_path, lines)
    assert code == 7
    assert "ledger_modified_entry" in output
    assert "an entry in [0, 10) was modified" in output


def test_modified_payload_is_reported_as_modified(tmp_path: Path, log: LedgerService) -> None:
    lines = export_lines(log, payloads=True)
    item = json.loads(lines[12])
    payload = base64.b64decode(item["payload"]).replace(b'"text":"note', b'"text":"edit')
    lines[12] = json.dumps({**item, "payload": base64.b64encode(payload).decode()}) + "\n"
    code, output = verify(tmp_path, lines)
    assert (code, "the payload of entry 11 does not match" in output) == (7, True)


def test_erased_payloads_still_verify(tmp_path: Path, log: LedgerService) -> None:
    log.erase(3)
    code, output = verify(tmp_path, export_lines(log, payloads=True))
    assert (code, "(1 without payload)" in output) == (0, True)


def test_deleted_entry_is_reported_as_deleted(tmp_path: Path, log: LedgerService) -> None:
    lines = export_lines(log)
    del lines[6]  # entry 5
    code, output = verify(tmp_path, lines)
    assert (code, "ledger_deleted_entry" in output, "[5, 6) are missing" in output) == (8, True, True)


def test_truncated_export_is_reported_as_deleted(tmp_path: Path, log: LedgerService) -> None:
    code, output = verify(tmp_path, export_lines(log)[:-3])
    assert (code, "a checkpoint covers 25" in output) == (8, True)


def test_reordered_entries_are_reported_as_reordered(tmp_path: Path, log: LedgerService) -> None:
    lines = export_lines(log)
    lines[3], lines[4] = lines[4], lines[3]
    code, output = verify(tmp_path, lines)
    assert (code, "ledger_reordered_entries" in output) == (9, True)


def test_fork_is_reported_as_fork(tmp_path: Path, log: LedgerService) -> None:
    other = sign_checkpoint(Checkpoint(LOG_SIGNER.name, 10, b"\x07" * 32), [LOG_SIGNER])
    code, output = verify(
        tmp_path, export_lines(log), "--checkpoint", checkpoint_file(tmp_path, "fork", other)
    )
    assert (code, "ledger_fork" in output, "both have size 10" in output) == (5, True, True)


def test_rollback_is_reported_as_rollback(tmp_path: Path, log: LedgerService) -> None:
    small, large = (c.note for c in log.store.checkpoints())
    arguments = [
        "--checkpoint",
        checkpoint_file(tmp_path, "a", large),
        "--checkpoint",
        checkpoint_file(tmp_path, "b", small),
    ]
    code, output = verify(tmp_path, export_lines(log), *arguments)
    assert (code, "ledger_rollback" in output) == (6, True)


def test_bad_signature_is_reported_as_bad_signature(tmp_path: Path, log: LedgerService) -> None:
    note = log.store.checkpoints()[0].note
    lines = note.split("\n")
    lines[1] = "11"  # the size the log did not sign
    code, output = verify(
        tmp_path, export_lines(log), "--checkpoint", checkpoint_file(tmp_path, "bad", "\n".join(lines))
    )
    assert (code, "ledger_bad_signature" in output) == (3, True)


def test_missing_witness_quorum_is_reported(tmp_path: Path, log: LedgerService) -> None:
    witness = witness_signer(1).verifier().verifier_key()
    code, output = verify(tmp_path, export_lines(log), "--witness-vkey", witness, "--quorum", "1")
    assert (code, "ledger_missing_quorum" in output, "quorum is 1" in output) == (4, True, True)


def test_cosigned_checkpoints_meet_the_quorum(tmp_path: Path, log: LedgerService) -> None:
    signer = witness_signer(1)
    cosigned = [add_signatures(c.note, [signer]) for c in log.store.checkpoints()]
    files = [
        x
        for i, note in enumerate(cosigned)
        for x in ("--checkpoint", checkpoint_file(tmp_path, f"c{i}", note))
    ]
    arguments = ["--witness-vkey", signer.verifier().verifier_key(), "--quorum", "1", *files]
    lines = export_lines(log)
    lines[0] = json.dumps({**json.loads(lines[0]), "checkpoints": cosigned}) + "\n"
    assert verify(tmp_path, lines, *arguments)[0] == 0


def test_registry_event_with_a_broken_link_is_reported(tmp_path: Path, clock: FixedClock) -> None:
    service = service_over(MemoryLedgerStore(), clock).start(schedule=False)
    agent = "urn:agent:acme.example:clinic"
    first = service.record(version(agent, 1, None))
    service.record(version(agent, 2, first))
    service.record(version(agent, 3, first))  # skips version 2: the history of the agent forks
    service.publish()
    service.close()
    code, output = verify(tmp_path, export_lines(service, payloads=True))
    assert (
        code,
        "ledger_broken_link" in output,
        "not urn:agent:acme.example:clinic's latest 1" in output,
    ) == (10, True, True)


def bundle_file(tmp_path: Path, service: LedgerService, entry: int, name: str, **changes: object) -> str:
    bundle = {**service.bundle(entry), **changes}
    path = tmp_path / name
    path.write_text(json.dumps(bundle))
    return str(path)


def run(*arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(ledger, ["verify", "--vkey", VKEY, *arguments])
    return result.exit_code, result.output


def test_proof_bundle_verifies(tmp_path: Path, log: LedgerService) -> None:
    assert run("--bundle", bundle_file(tmp_path, log, 20, "b.json"))[0] == 0


def test_bundle_with_a_modified_entry_is_reported_as_modified(tmp_path: Path, log: LedgerService) -> None:
    leaf = base64.b64decode(log.bundle(20)["leaf"]).replace(b"note", b"nope")
    path = bundle_file(tmp_path, log, 20, "b.json", leaf=base64.b64encode(leaf).decode())
    assert run("--bundle", path)[0] == 7


def test_bundle_of_another_position_is_reported_as_reordered(tmp_path: Path, log: LedgerService) -> None:
    path = bundle_file(tmp_path, log, 20, "b.json", index=21)
    assert run("--bundle", path)[0] == 9


def test_checkpoints_without_a_consistency_proof_are_insufficient_evidence(
    tmp_path: Path, log: LedgerService
) -> None:
    first = checkpoint_file(tmp_path, "first", log.store.checkpoints()[0].note)
    code, output = run("--checkpoint", first, "--bundle", bundle_file(tmp_path, log, 20, "b.json"))
    assert (code, "ledger_insufficient_evidence" in output) == (12, True)
    with_proof = tmp_path / "proof.json"
    with_proof.write_text(
        json.dumps(
            {
                "old": 10,
                "new": 25,
                "hashes": [base64.b64encode(h).decode() for h in log.reader.consistency(10, 25)],
            }
        )
    )
    assert (
        run(
            "--checkpoint",
            first,
            "--bundle",
            bundle_file(tmp_path, log, 20, "b.json"),
            "--consistency",
            str(with_proof),
        )[0]
        == 0
    )


def test_inconsistent_checkpoints_are_reported(tmp_path: Path, log: LedgerService) -> None:
    other = sign_checkpoint(Checkpoint(LOG_SIGNER.name, 10, b"\x07" * 32), [LOG_SIGNER])
    proof = tmp_path / "proof.json"
    proof.write_text(
        json.dumps(
            {
                "old": 10,
                "new": 25,
                "hashes": [base64.b64encode(h).decode() for h in log.reader.consistency(10, 25)],
            }
        )
    )
    code, output = run(
        "--checkpoint",
        checkpoint_file(tmp_path, "x", other),
        "--bundle",
        bundle_file(tmp_path, log, 20, "b.json"),
        "--consistency",
        str(proof),
    )
    assert (code, "ledger_inconsistent" in output) == (11, True)


def test_unusable_input_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "junk.jsonl"
    path.write_text("not json\n")
    assert run("--export", str(path))[0] == 1
    assert run("--bundle", str(path))[0] == 1
