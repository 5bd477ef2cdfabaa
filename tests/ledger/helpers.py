"""Events, keys and ledgers shared by the ledger tests."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from agentgov.core.clock import FixedClock
from agentgov.core.keys import Ed25519Signer
from agentgov.ledger.entries import NoteEvent, RegistryLifecycle, RegistryVersion
from agentgov.ledger.note_keys import CosignatureV1Signer, Ed25519NoteSigner
from agentgov.ledger.service import LedgerService, LedgerSettings
from agentgov.ledger.store import LedgerStore
from agentgov.ledger.subtrees import locate, merge_blob
from agentgov.ledger.witness_http import WitnessClient
from agentgov.ledger.writer import WriterSettings

ORIGIN = "ledger.test/log"
START = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
FAST = WriterSettings(max_batch=64, max_delay_s=0.001)


def seed(label: str) -> Ed25519Signer:
    return Ed25519Signer.from_seed(hashlib.sha256(label.encode()).digest())


LOG_SIGNER = Ed25519NoteSigner(ORIGIN, seed("log"))


def witness_signer(number: int, clock: FixedClock | None = None) -> CosignatureV1Signer:
    return CosignatureV1Signer(f"witness.test/w{number}", seed(f"w{number}"), clock or FixedClock(START))


def note(number: int, *, actor: str = "user:alice") -> NoteEvent:
    return NoteEvent(
        actor=actor,
        subject=f"session-{number}",
        text=f"note {number}",
        time=START + timedelta(seconds=number),
    )


def version(agent: str, number: int, follows: int | None) -> RegistryVersion:
    return RegistryVersion(
        actor="developer:acme:k1",
        agent_id=agent,
        subject=agent,
        version=number,
        digest="sha256:" + hashlib.sha256(f"{agent}/{number}".encode()).hexdigest(),
        prev_digest=None
        if number == 1
        else "sha256:" + hashlib.sha256(f"{agent}/{number - 1}".encode()).hexdigest(),
        follows=follows,
        time=START,
    )


def lifecycle(agent: str, action: str, follows: int | None) -> RegistryLifecycle:
    return RegistryLifecycle(
        actor="registrar:k2",
        agent_id=agent,
        subject=agent,
        action=action,
        from_status="registered",
        to_status="suspended",
        reason_digest="sha256:" + "1" * 64,
        follows=follows,
        time=START,
    )


def service_over(
    store: LedgerStore,
    clock: FixedClock | None = None,
    *,
    witnesses: tuple[str, ...] = (),
    witness_client: WitnessClient | None = None,
) -> LedgerService:
    settings = LedgerSettings(origin=ORIGIN, writer=FAST, witnesses=witnesses)
    return LedgerService(
        store, LOG_SIGNER, clock or FixedClock(START), settings, witness_client=witness_client
    )


def fill(service: LedgerService, count: int) -> list[int]:
    """Append ``count`` notes (started service) and return their indexes."""
    receipts = [service.submit(note(i)) for i in range(count)]
    return [receipt.result(10) for receipt in receipts]


def corrupt_node(engine: Engine, level: int, index: int) -> None:
    """Overwrite one stored inner node with another hash, as an intruder with database access could."""
    (tile_level, tile_index), slot = locate(level, index)
    with engine.begin() as conn:
        where = "WHERE level = :level AND idx = :idx"
        params = {"level": tile_level, "idx": tile_index}
        blob = conn.execute(text(f"SELECT hashes FROM ledger_subtrees {where}"), params).scalar_one()  # noqa: S608
        changed = merge_blob(bytes(blob), {slot: b"\x01" * 32})
        conn.execute(text(f"UPDATE ledger_subtrees SET hashes = :blob {where}"), {**params, "blob": changed})  # noqa: S608
