"""A C2SP tlog-witness (https://c2sp.org/tlog-witness): the add-checkpoint exchange, without HTTP.

The witness knows some logs by their verifier keys (origin = key name) and remembers, per origin,
the latest checkpoint it cosigned. It cosigns a new checkpoint only if the log proves it consistent
with that one. Checking the old size and recording the new checkpoint happen under one lock, and the
record is written atomically to disk before the cosignature is returned (tlog-witness: "the
witness MUST persist the new checkpoint before responding").
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from agentgov.errors import InvalidInput, InvalidSignature
from agentgov.ledger.checkpoint import Checkpoint, parse_checkpoint
from agentgov.ledger.keyfiles import atomic_write
from agentgov.ledger.merkle import HASH_SIZE, ProofError
from agentgov.ledger.note import (
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    UnverifiedNote,
    parse_note,
    verify_note,
)
from agentgov.ledger.proofs import verify_consistency

__all__ = [
    "MAX_PROOF_LINES",
    "SIZE_CONTENT_TYPE",
    "FileWitnessState",
    "LogRecord",
    "MemoryWitnessState",
    "Witness",
    "WitnessReply",
    "WitnessState",
    "format_add_checkpoint",
]

MAX_PROOF_LINES = 63  # C2SP tlog-witness: "The client MUST NOT send more than 63 consistency proof lines"
SIZE_CONTENT_TYPE = "text/x.tlog.size"  # C2SP tlog-witness: the 409 body with the latest cosigned size
_OLD_LINE = re.compile(r"old (0|[1-9][0-9]*)", re.ASCII)


@dataclass(frozen=True, slots=True)
class LogRecord:
    """The latest checkpoint a witness cosigned for one origin."""

    size: int
    root_hash: bytes


@dataclass(frozen=True, slots=True)
class WitnessReply:
    status: int
    content_type: str
    body: str


class WitnessState(Protocol):
    def load(self) -> dict[str, LogRecord]: ...

    def save(self, records: dict[str, LogRecord]) -> None: ...


class MemoryWitnessState:
    def __init__(self) -> None:
        self.records: dict[str, LogRecord] = {}

    def load(self) -> dict[str, LogRecord]:
        return dict(self.records)

    def save(self, records: dict[str, LogRecord]) -> None:
        self.records = dict(records)


class FileWitnessState:
    """Witness state as a JSON file, replaced atomically (temp file, fsync, rename, fsync dir)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, LogRecord]:
        if not self.path.exists():
            return {}
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return {
                origin: LogRecord(int(item["size"]), base64.b64decode(item["root_hash"], validate=True))
                for origin, item in raw["logs"].items()
            }
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InvalidInput(f"witness state {self.path} is unreadable: {exc}") from exc

    def save(self, records: dict[str, LogRecord]) -> None:
        logs = {
            origin: {"size": record.size, "root_hash": base64.b64encode(record.root_hash).decode("ascii")}
            for origin, record in sorted(records.items())
        }
        atomic_write(self.path, json.dumps({"logs": logs}, indent=2).encode() + b"\n")


def format_add_checkpoint(old_size: int, proof: Sequence[bytes], note: str) -> str:
    """The add-checkpoint request body: old size line, proof lines, an empty line, the checkpoint."""
    lines = [f"old {old_size}", *(base64.b64encode(p).decode("ascii") for p in proof)]
    return "".join(f"{line}\n" for line in lines) + "\n" + note


class _Refused(Exception):
    """A refusal with its tlog-witness status; never leaves this module."""

    def __init__(self, status: int, message: str, content_type: str = "text/plain; charset=utf-8") -> None:
        super().__init__(message)
        self.reply = WitnessReply(status, content_type, message + "\n")


def _parse_request(body: str) -> tuple[int, list[bytes], str]:
    head, separator, note = body.partition("\n\n")
    if not separator:
        raise InvalidInput("no empty line between the old size and proof lines and the checkpoint")
    lines = head.split("\n")
    match = _OLD_LINE.fullmatch(lines[0])
    if match is None:
        raise InvalidInput("the first line must be 'old <size>' in decimal without leading zeroes")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise InvalidInput(f"more than {MAX_PROOF_LINES} consistency proof lines")
    proof: list[bytes] = []
    for line in lines[1:]:
        try:
            value = base64.b64decode(line, validate=True)
        except ValueError:
            raise InvalidInput("a consistency proof line is not base64") from None
        if len(value) != HASH_SIZE:
            raise InvalidInput(f"a consistency proof line is not a {HASH_SIZE}-byte hash")
        proof.append(value)
    return int(match.group(1)), proof, note


class Witness:
    def __init__(self, cosigner: NoteSigner, logs: Sequence[NoteVerifier], state: WitnessState) -> None:
        if not logs:
            raise InvalidInput("a witness needs at least one log key")
        self.cosigner = cosigner
        self._keys: dict[str, list[NoteVerifier]] = {}
        for verifier in logs:
            self._keys.setdefault(verifier.name, []).append(verifier)
        self._state = state
        self._lock = threading.Lock()

    @property
    def origins(self) -> list[str]:
        return sorted(self._keys)

    def add_checkpoint(self, body: bytes) -> WitnessReply:
        """Handle one add-checkpoint request; every outcome of C2SP tlog-witness has its status."""
        try:
            old, proof, text, checkpoint = self._open(body)
            with self._lock:  # check and record atomically (C2SP tlog-witness, the rollback race)
                records = self._state.load()
                known = records.get(checkpoint.origin, LogRecord(0, b""))
                _check_extends(known, old, proof, checkpoint)
                records[checkpoint.origin] = LogRecord(checkpoint.size, checkpoint.root_hash)
                self._state.save(records)
        except _Refused as refusal:
            return refusal.reply
        signature = self.cosigner.sign(text.encode())
        line = NoteSignature(self.cosigner.name, self.cosigner.key_id, signature).line()
        return WitnessReply(200, "text/plain; charset=utf-8", line)

    def _open(self, body: bytes) -> tuple[int, list[bytes], str, Checkpoint]:
        try:
            old, proof, note = _parse_request(body.decode("utf-8"))
            origin = parse_checkpoint(parse_note(note).text).origin
        except UnicodeDecodeError as exc:
            raise _Refused(400, "the request is not UTF-8") from exc
        except InvalidInput as exc:
            raise _Refused(400, f"malformed add-checkpoint request: {exc.detail}") from exc
        keys = self._keys.get(origin)
        if keys is None:  # C2SP tlog-witness: an unknown origin is 404
            raise _Refused(404, f"unknown log origin {origin!r}")
        try:  # C2SP tlog-witness: no signature that verifies against a trusted key is 403
            text = verify_note(note, keys).text
        except (InvalidSignature, UnverifiedNote) as exc:
            raise _Refused(403, f"no valid signature from a key of {origin!r}: {exc.detail}") from exc
        checkpoint = parse_checkpoint(text)
        if old > checkpoint.size:  # C2SP tlog-witness: an old size above the checkpoint size is 400
            raise _Refused(400, f"old size {old} is larger than the checkpoint size {checkpoint.size}")
        return old, proof, text, checkpoint


def _check_extends(known: LogRecord, old: int, proof: list[bytes], checkpoint: Checkpoint) -> None:
    if old != known.size:  # C2SP tlog-witness: 409 with the latest cosigned size as text/x.tlog.size
        raise _Refused(409, f"{known.size}", SIZE_CONTENT_TYPE)
    if old == 0:
        if proof:
            raise _Refused(422, "the consistency proof must be empty when the old size is 0")
        return
    if old == checkpoint.size:  # C2SP tlog-witness: same size, the roots must be identical (409)
        if proof or known.root_hash != checkpoint.root_hash:
            raise _Refused(409, f"a different root for the already cosigned size {old}")
        return
    try:  # RFC 6962 §2.1.2 consistency from the cosigned checkpoint to the new one (422 if not)
        verify_consistency(old, checkpoint.size, proof, known.root_hash, checkpoint.root_hash)
    except ProofError as exc:
        raise _Refused(422, f"consistency proof does not verify: {exc.detail}") from exc
