"""C2SP tlog-checkpoint bodies (https://c2sp.org/tlog-checkpoint) and their verification with cosignatures.

A checkpoint is a signed note whose text is the origin line, the decimal tree size, the base64 root
hash and optional extension lines. Witnesses add cosignature/v1 lines (c2sp.org/tlog-cosignature).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass

from agentgov.errors import InvalidInput, VerificationFailed
from agentgov.ledger.merkle import HASH_SIZE
from agentgov.ledger.note import (
    MalformedNote,
    NoteSigner,
    NoteVerifier,
    UnverifiedNote,
    VerifiedNote,
    sign_note,
    verify_note,
)
from agentgov.ledger.note_keys import CosignatureV1Verifier, cosignature_timestamp

__all__ = [
    "MAX_TREE_SIZE",
    "Checkpoint",
    "Cosignature",
    "VerifiedCheckpoint",
    "open_checkpoint",
    "parse_checkpoint",
    "sign_checkpoint",
]

MAX_TREE_SIZE = 2**64 - 1
"""Tree sizes are uint64 in RFC 9162 and in every C2SP implementation; a larger size is malformed."""

# C2SP tlog-checkpoint: ASCII decimal, no leading zeroes unless the tree is empty.
_TREE_SIZE = re.compile(r"0|[1-9][0-9]*", re.ASCII)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for line in (self.origin, *self.extensions):
            # C2SP tlog-checkpoint: every line is non-empty; a newline would shift the lines.
            if not line or "\n" in line:
                raise MalformedNote(f"checkpoint lines must be non-empty single lines, got {line!r}")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise MalformedNote(f"tree size {self.size} is outside [0, 2^64 - 1]")
        if len(self.root_hash) != HASH_SIZE:
            raise MalformedNote(f"root hash is {len(self.root_hash)} bytes, expected {HASH_SIZE}")

    def body(self) -> str:
        """The note text: origin, size, base64 root, extension lines, each ending in a newline."""
        root = base64.b64encode(self.root_hash).decode("ascii")
        return "".join(f"{line}\n" for line in (self.origin, str(self.size), root, *self.extensions))


def parse_checkpoint(body: str) -> Checkpoint:
    """Parse a checkpoint note text (C2SP tlog-checkpoint, "Note text")."""
    if not body.endswith("\n"):
        raise MalformedNote("a checkpoint body ends with a newline")
    lines = body[:-1].split("\n")
    # C2SP tlog-checkpoint: at least three non-empty lines.
    if len(lines) < 3:
        raise MalformedNote(f"a checkpoint has at least three lines, got {len(lines)}")
    origin, size_text, root_text, *extensions = lines
    if not _TREE_SIZE.fullmatch(size_text):
        raise MalformedNote(f"tree size {size_text!r} is not a decimal without leading zeroes")
    try:
        root = base64.b64decode(root_text, validate=True)
    except ValueError as exc:
        raise MalformedNote(f"root hash {root_text!r} is not standard base64") from exc
    if base64.b64encode(root).decode("ascii") != root_text:
        raise MalformedNote(f"root hash {root_text!r} is not in canonical base64")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signers: Sequence[NoteSigner]) -> str:
    """The signed note of the checkpoint; the log's key name SHOULD be the origin (tlog-checkpoint)."""
    return sign_note(checkpoint.body(), signers)


@dataclass(frozen=True, slots=True)
class Cosignature:
    """A verified witness cosignature: who, and the POSIX time it vouches for the checkpoint as of."""

    name: str
    key_id: bytes
    timestamp: int


@dataclass(frozen=True, slots=True)
class VerifiedCheckpoint:
    checkpoint: Checkpoint
    note: VerifiedNote
    cosignatures: tuple[Cosignature, ...]


def open_checkpoint(
    note: str | bytes,
    log: NoteVerifier,
    *,
    witnesses: Sequence[CosignatureV1Verifier] = (),
    quorum: int = 0,
    origin: str | None = None,
) -> VerifiedCheckpoint:
    """Verify a checkpoint signed by ``log`` and cosigned by at least ``quorum`` of ``witnesses``.

    ``origin`` is the origin line the caller expects; it defaults to the log key's name. Signatures
    from keys that are neither the log nor a listed witness are ignored (C2SP signed-note).
    """
    if not 0 <= quorum <= len(witnesses):
        raise InvalidInput(f"a quorum of {quorum} cannot be met by {len(witnesses)} witnesses")
    verified = verify_note(note, [log, *witnesses])
    if verified.signature_by(log) is None:
        raise UnverifiedNote(f"checkpoint is not signed by the log key {log.name}+{log.key_id.hex()}")
    checkpoint = parse_checkpoint(verified.text)
    expected = log.name if origin is None else origin
    if checkpoint.origin != expected:
        raise VerificationFailed(f"checkpoint origin {checkpoint.origin!r} is not the expected {expected!r}")
    cosignatures: list[Cosignature] = []
    for witness in witnesses:
        signature = verified.signature_by(witness)
        if signature is not None:
            cosignatures.append(
                Cosignature(witness.name, witness.key_id, cosignature_timestamp(signature.signature))
            )
    if len(cosignatures) < quorum:
        raise UnverifiedNote(
            f"checkpoint has {len(cosignatures)} witness cosignatures, {quorum} are required"
        )
    return VerifiedCheckpoint(checkpoint, verified, tuple(cosignatures))
