"""The offline verifier: from the log's public key (and witness keys with a quorum) alone.

Two kinds of evidence are accepted. A full export (every leaf, payloads optional) is recomputed
entry by entry (fsck) and must hash to the root of every checkpoint. Proof bundles (one entry, its
inclusion proof and a cosigned checkpoint) are checked by their proofs, and consistency proofs must
connect every checkpoint seen to the largest one. In both cases the checkpoint history (oldest
first) must be signed, cosigned by the quorum, free of forks and never shrink.
"""

from __future__ import annotations

import base64
import hmac
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agentgov.errors import InvalidInput, InvalidSignature
from agentgov.ledger.audit import (
    BadSignature,
    Fork,
    InconsistentHistory,
    InsufficientEvidence,
    MissingQuorum,
    ModifiedEntry,
    ReorderedEntries,
    Rollback,
    TreeAudit,
)
from agentgov.ledger.checkpoint import Checkpoint, parse_checkpoint
from agentgov.ledger.entries import parse_leaf, payload_digest
from agentgov.ledger.merkle import EMPTY_ROOT, ProofError, leaf_hash
from agentgov.ledger.note import UnverifiedNote, verify_note
from agentgov.ledger.note_keys import CosignatureV1Verifier, Ed25519NoteVerifier
from agentgov.ledger.proofs import verify_consistency, verify_inclusion

__all__ = [
    "BundleDoc",
    "ProofDoc",
    "SeenCheckpoint",
    "TrustedKeys",
    "VerifyReport",
    "check_history",
    "open_trusted",
    "verify_bundles",
    "verify_export",
]


@dataclass(frozen=True)
class TrustedKeys:
    log: Ed25519NoteVerifier
    witnesses: tuple[CosignatureV1Verifier, ...] = ()
    quorum: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.quorum <= len(self.witnesses):
            raise InvalidInput(
                f"a quorum of {self.quorum} cannot be met by {len(self.witnesses)} witness keys"
            )


@dataclass(frozen=True)
class SeenCheckpoint:
    checkpoint: Checkpoint
    cosignatures: int
    source: str


@dataclass(frozen=True)
class VerifyReport:
    origin: str
    size: int
    checkpoints: int
    entries: int
    without_payload: int  # erased, or not carried by the evidence
    min_cosignatures: int


class ProofDoc(BaseModel):
    model_config = ConfigDict(extra="ignore")
    old: int = Field(ge=0)
    new: int = Field(ge=0)
    hashes: list[str]


class _InclusionDoc(BaseModel):
    size: int = Field(ge=1)
    hashes: list[str]


class BundleDoc(BaseModel):
    model_config = ConfigDict(extra="ignore")
    format: Literal["agentgov-ledger-bundle/1"]
    index: int = Field(ge=0)
    leaf: str
    checkpoint: str
    inclusion: _InclusionDoc
    consistency: list[ProofDoc] = Field(default_factory=list)
    payload: str | None = None
    salt: str | None = None


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise InvalidInput(f"{what} is not base64") from exc


def open_trusted(note: str, keys: TrustedKeys, source: str) -> SeenCheckpoint:
    """Verify one checkpoint: the log's signature, its origin, and the witness quorum."""
    try:
        verified = verify_note(note, [keys.log, *keys.witnesses])
    except (InvalidSignature, UnverifiedNote) as exc:
        raise BadSignature(f"{source}: {exc.detail}") from exc
    if verified.signature_by(keys.log) is None:
        raise BadSignature(f"{source}: not signed by the log key {keys.log.name}")
    checkpoint = parse_checkpoint(verified.text)
    if checkpoint.origin != keys.log.name:
        raise BadSignature(f"{source}: origin {checkpoint.origin!r} is not the log {keys.log.name!r}")
    count = sum(1 for witness in keys.witnesses if verified.signature_by(witness) is not None)
    if count < keys.quorum:
        raise MissingQuorum(f"{source}: {count} witness cosignatures, the quorum is {keys.quorum}")
    return SeenCheckpoint(checkpoint, count, source)


def check_history(history: Sequence[SeenCheckpoint], *, ordered: bool = True) -> None:
    """No two roots for one size (fork); in an ordered history, no later checkpoint smaller (rollback)."""
    roots: dict[int, SeenCheckpoint] = {}
    for seen in history:
        other = roots.setdefault(seen.checkpoint.size, seen)
        if not hmac.compare_digest(other.checkpoint.root_hash, seen.checkpoint.root_hash):
            raise Fork(
                f"{other.source} and {seen.source} both have size {seen.checkpoint.size} but different roots"
            )
    if ordered:
        for earlier, later in itertools.pairwise(history):
            if later.checkpoint.size < earlier.checkpoint.size:
                raise Rollback(
                    f"{later.source} (size {later.checkpoint.size}) comes after {earlier.source}"
                    f" (size {earlier.checkpoint.size})"
                )


def _report(seen: Sequence[SeenCheckpoint], entries: int, without_payload: int) -> VerifyReport:
    largest = max(seen, key=lambda s: s.checkpoint.size)
    return VerifyReport(
        largest.checkpoint.origin, largest.checkpoint.size, len(seen), entries, without_payload,
        min(s.cosignatures for s in seen),
    )  # fmt: skip


def verify_export(
    entries: Iterable[tuple[bytes, bytes | None, bytes | None]],
    keys: TrustedKeys,
    history: Sequence[str],
    embedded: Sequence[str] = (),
) -> VerifyReport:
    """Recompute the whole tree from an export and hold it against every checkpoint."""
    outside = [open_trusted(note, keys, f"checkpoint {i + 1}") for i, note in enumerate(history)]
    inside = [open_trusted(note, keys, f"export checkpoint {i + 1}") for i, note in enumerate(embedded)]
    seen = outside + inside
    if not seen:
        raise InvalidInput(
            "no checkpoint to verify against: give --checkpoint or an export that carries some"
        )
    check_history(outside)
    check_history(inside)
    check_history(seen, ordered=False)
    audit = TreeAudit(s.checkpoint.size for s in seen)
    for leaf, payload, salt in entries:
        audit.add(leaf, payload, salt)
    largest = max(s.checkpoint.size for s in seen)
    audit.finish_structure(largest)
    matched = 0
    for seen_checkpoint in sorted(seen, key=lambda s: s.checkpoint.size):
        checkpoint = seen_checkpoint.checkpoint
        root = audit.roots.get(checkpoint.size) if checkpoint.size else EMPTY_ROOT
        if root is None or not hmac.compare_digest(root, checkpoint.root_hash):
            raise ModifiedEntry(
                f"the entries do not hash to the root of {seen_checkpoint.source} (size {checkpoint.size}):"
                f" an entry in [{matched}, {checkpoint.size}) was modified"
            )
        matched = checkpoint.size
    audit.finish()
    return _report(seen, audit.size, audit.erased)


def _check_bundle(bundle: BundleDoc, keys: TrustedKeys, source: str) -> SeenCheckpoint:
    seen = open_trusted(bundle.checkpoint, keys, f"{source} checkpoint")
    size = seen.checkpoint.size
    if bundle.inclusion.size != size:
        raise InvalidInput(
            f"{source}: its proof is for size {bundle.inclusion.size}, its checkpoint has {size}"
        )
    leaf = _b64(bundle.leaf, f"{source} leaf")
    try:
        parsed = parse_leaf(leaf)
    except InvalidInput as exc:
        raise ModifiedEntry(
            f"{source}: entry {bundle.index} is not a leaf of this log: {exc.detail}"
        ) from exc
    if parsed.index != bundle.index:
        raise ReorderedEntries(f"{source}: the leaf at index {bundle.index} says it is entry {parsed.index}")
    proof = [_b64(h, f"{source} inclusion hash") for h in bundle.inclusion.hashes]
    try:  # RFC 9162 §2.1.3.2
        verify_inclusion(bundle.index, size, leaf_hash(leaf), proof, seen.checkpoint.root_hash)
    except ProofError as exc:
        raise ModifiedEntry(
            f"{source}: entry {bundle.index} is not in the tree of size {size}: {exc.detail}"
        ) from exc
    if bundle.payload is not None and bundle.salt is not None:
        payload, salt = _b64(bundle.payload, "payload"), _b64(bundle.salt, "salt")
        if not hmac.compare_digest(payload_digest(salt, payload), parsed.payload_digest):
            raise ModifiedEntry(f"{source}: the payload of entry {bundle.index} does not match its leaf")
    return seen


def verify_bundles(
    bundles: Sequence[BundleDoc], keys: TrustedKeys, history: Sequence[str], proofs: Sequence[ProofDoc] = ()
) -> VerifyReport:
    """Check each bundle, the history, and that consistency proofs connect every checkpoint."""
    outside = [open_trusted(note, keys, f"checkpoint {i + 1}") for i, note in enumerate(history)]
    check_history(outside)
    inside = [_check_bundle(b, keys, f"bundle {i + 1} (entry {b.index})") for i, b in enumerate(bundles)]
    seen = outside + inside
    if not seen:
        raise InvalidInput("nothing to verify: give bundles or checkpoints")
    check_history(seen, ordered=False)
    roots = {s.checkpoint.size: s.checkpoint.root_hash for s in seen}
    connected: dict[int, set[int]] = {size: set() for size in roots}
    for doc in [*proofs, *(p for b in bundles for p in b.consistency)]:
        if doc.old not in roots or doc.new not in roots or not 0 < doc.old < doc.new:
            continue
        hashes = [_b64(h, "consistency hash") for h in doc.hashes]
        try:  # RFC 9162 §2.1.4.2
            verify_consistency(doc.old, doc.new, hashes, roots[doc.old], roots[doc.new])
        except ProofError as exc:
            raise InconsistentHistory(f"checkpoints of sizes {doc.old} and {doc.new}: {exc.detail}") from exc
        connected[doc.old].add(doc.new)
    largest = max(roots)
    for size in sorted(roots):
        if size and size != largest and not _reaches(size, largest, connected):
            raise InsufficientEvidence(f"no consistency proof connects size {size} to size {largest}")
    return _report(seen, len(bundles), sum(1 for b in bundles if b.payload is None))


def _reaches(start: int, goal: int, edges: dict[int, set[int]]) -> bool:
    frontier, seen = [start], {start}
    while frontier:
        for nxt in edges[frontier.pop()]:
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return False
