"""Signing checkpoints (C2SP tlog-checkpoint) and collecting witness cosignatures (C2SP tlog-witness).

The log never signs a checkpoint inconsistent with one it signed before: the new tree must be at
least as large, and a consistency proof computed from the store must verify from the last signed
root to the new one. A store that lost or changed an entry therefore stops the log from signing
rather than making it sign a fork.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from agentgov.core.clock import Clock
from agentgov.errors import (
    AgentGovError,
    Conflict,
    InvalidInput,
    InvalidSignature,
    NotFound,
    Unavailable,
    VerificationFailed,
)
from agentgov.ledger.checkpoint import Checkpoint, sign_checkpoint
from agentgov.ledger.merkle import ProofError
from agentgov.ledger.note import UnverifiedNote, verify_note
from agentgov.ledger.note_keys import (
    CosignatureV1Verifier,
    Ed25519NoteSigner,
    cosignature_timestamp,
    parse_verifier_key,
)
from agentgov.ledger.proofs import verify_consistency
from agentgov.ledger.reader import LedgerReader
from agentgov.ledger.store import LedgerStore, StoredCheckpoint, StoredCosignature
from agentgov.ledger.witness import SIZE_CONTENT_TYPE
from agentgov.ledger.witness_http import WitnessClient

__all__ = ["CheckpointPublisher", "PublishSchedule", "WitnessEndpoint", "parse_witness_endpoint"]

_log = logging.getLogger("agentgov.ledger")


@dataclass(frozen=True)
class WitnessEndpoint:
    """A witness the log asks for cosignatures: its cosignature/v1 key and its submission prefix."""

    verifier: CosignatureV1Verifier
    url: str

    @property
    def identity(self) -> str:
        return f"{self.verifier.name}+{self.verifier.key_id.hex()}"


def parse_witness_endpoint(text: str) -> WitnessEndpoint:
    """``<verifier key> <submission URL>``, as given on the command line or in settings."""
    vkey, _, url = text.strip().partition(" ")
    verifier = parse_verifier_key(vkey)
    if not isinstance(verifier, CosignatureV1Verifier):
        raise InvalidInput(f"witness key {verifier.name} is not a cosignature/v1 key (type 0x04)")
    if not url.strip().startswith(("http://", "https://")):
        raise InvalidInput(f"witness {verifier.name} needs an http(s) submission URL after its key")
    return WitnessEndpoint(verifier, url.strip())


class CheckpointPublisher:
    def __init__(
        self,
        store: LedgerStore,
        signer: Ed25519NoteSigner,
        clock: Clock,
        *,
        witnesses: Sequence[WitnessEndpoint] = (),
        client: WitnessClient | None = None,
    ) -> None:
        self.store = store
        self.signer = signer
        self.clock = clock
        self.witnesses = tuple(witnesses)
        self._client = client or (WitnessClient() if witnesses else None)
        self._reader = LedgerReader(store)
        self._lock = threading.Lock()

    @property
    def origin(self) -> str:
        return self.signer.name

    def latest(self) -> StoredCheckpoint | None:
        found = self.store.checkpoints(limit=1)
        return found[0] if found else None

    def publish(self) -> StoredCheckpoint:
        """Sign the integrated tree if it grew, then ask every witness to cosign the latest checkpoint."""
        with self._lock:
            checkpoint = self._sign_if_grown()
            self.collect(checkpoint)
            return checkpoint

    def _sign_if_grown(self) -> StoredCheckpoint:
        previous = self.latest()
        size = self._reader.size()
        if previous is not None and size == previous.size:
            return previous
        if previous is not None and size < previous.size:
            raise Conflict(
                f"the store holds {size} entries but the log signed size {previous.size}: refusing"
            )
        root = self._reader.root(size)
        if previous is not None and previous.size > 0:
            proof = self._reader.consistency(previous.size, size)
            try:  # never sign a tree that does not extend the last signed one
                verify_consistency(previous.size, size, proof, previous.root_hash, root)
            except ProofError as exc:
                raise VerificationFailed(
                    f"refusing to sign size {size}: it is not consistent with signed size {previous.size}"
                    f" ({exc.detail})"
                ) from exc
        note = sign_checkpoint(Checkpoint(self.origin, size, root), [self.signer])
        signed = StoredCheckpoint(size, root, note, self.clock.now())
        self.store.save_checkpoint(signed)
        _log.info("signed checkpoint %s at size %d", self.origin, size)
        return signed

    def collect(self, checkpoint: StoredCheckpoint) -> dict[str, str]:
        """Ask each witness for a cosignature; a witness that fails is reported, never fatal."""
        outcome: dict[str, str] = {}
        for witness in self.witnesses:
            try:
                self._cosign(witness, checkpoint)
                outcome[witness.identity] = "cosigned"
            except AgentGovError as exc:
                _log.warning("witness %s: %s", witness.identity, exc.detail)
                outcome[witness.identity] = f"{exc.code}: {exc.detail}"
        return outcome

    def _cosign(self, witness: WitnessEndpoint, checkpoint: StoredCheckpoint) -> None:
        if self._client is None:
            raise InvalidInput("no witness client configured")
        old = min(self.store.witness_size(witness.identity), checkpoint.size)
        for _ in range(2):  # a second try when the witness knows another old size (409)
            proof = self._reader.consistency(old, checkpoint.size) if 0 < old < checkpoint.size else []
            answer = self._client.add_checkpoint(witness.url, old, proof, checkpoint.note)
            if answer.status == 409 and answer.content_type == SIZE_CONTENT_TYPE:
                known = int(answer.body.strip() or "0")
                if known > checkpoint.size:
                    raise Conflict(
                        f"the witness has cosigned size {known}, larger than this log's {checkpoint.size}"
                    )
                old = known
                continue
            if answer.status != 200:
                refusal = Unavailable if answer.status >= 500 else VerificationFailed
                raise refusal(f"witness answered {answer.status}: {answer.body.strip()[:200]}")
            self._store_cosignature(witness, checkpoint, answer.body)
            return
        raise Conflict("the witness kept answering with another old size")

    def _store_cosignature(self, witness: WitnessEndpoint, checkpoint: StoredCheckpoint, lines: str) -> None:
        # C2SP tlog-witness: concatenate the reply to the checkpoint and verify it with the witness key.
        try:
            verified = verify_note(checkpoint.note + lines, [witness.verifier])
        except (InvalidSignature, UnverifiedNote) as exc:
            raise VerificationFailed(
                f"witness {witness.identity} sent no valid cosignature: {exc.detail}"
            ) from exc
        signature = verified.signature_by(witness.verifier)
        if signature is None:
            raise VerificationFailed(f"witness {witness.identity} sent no cosignature of its own")
        self.store.add_cosignature(
            StoredCosignature(
                checkpoint.size,
                witness.identity,
                signature.line(),
                cosignature_timestamp(signature.signature),
            )
        )

    def cosigned_note(self, checkpoint: StoredCheckpoint | None = None) -> str:
        """The checkpoint with the log's signature followed by every stored witness cosignature."""
        checkpoint = checkpoint or self.latest()
        if checkpoint is None:
            raise NotFound("the log has not published a checkpoint yet")
        return checkpoint.note + "".join(c.line for c in self.store.cosignatures(checkpoint.size))


class PublishSchedule:
    """Publishes every ``interval_s`` seconds on a daemon thread until stopped."""

    def __init__(self, publisher: CheckpointPublisher, interval_s: float) -> None:
        if interval_s <= 0:
            raise InvalidInput("the checkpoint interval must be positive")
        self._publisher = publisher
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ledger-checkpoints", daemon=True)

    def start(self) -> PublishSchedule:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._publisher.publish()
            except AgentGovError as exc:
                _log.error("scheduled checkpoint failed: %s", exc.detail)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
