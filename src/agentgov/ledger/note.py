"""C2SP signed notes (https://c2sp.org/signed-note): key names, key IDs, parsing, signing, verifying.

A note is a UTF-8 text ending in a newline, a blank line, then one or more signature lines
``— <key name> base64(key ID || signature)``. The key types live in :mod:`agentgov.ledger.note_keys`;
the checkpoint body in :mod:`agentgov.ledger.checkpoint`.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from agentgov.core.keys import b64decode_any
from agentgov.errors import InvalidInput, InvalidSignature, VerificationFailed

__all__ = [
    "KEY_ID_SIZE",
    "MAX_SIGNATURES",
    "SIG_TYPE_COSIGNATURE_V1",
    "SIG_TYPE_ED25519",
    "MalformedNote",
    "Note",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "UnverifiedNote",
    "VerifiedNote",
    "add_signatures",
    "check_key_name",
    "check_note_text",
    "key_id",
    "parse_note",
    "sign_note",
    "verify_note",
]

SIG_TYPE_ED25519 = 0x01  # C2SP signed-note, "Signature types"
SIG_TYPE_COSIGNATURE_V1 = 0x04  # C2SP signed-note / tlog-cosignature: timestamped Ed25519 cosignatures

KEY_ID_SIZE = 4
MAX_SIGNATURES = 100
"""Signature lines read from one note. C2SP signed-note: verifiers SHOULD bound the count and MUST
accept at least 16; 100 leaves room for a log key, its rotation and a large witness set while
bounding the work an untrusted note can cause."""

_SIG_PREFIX = "\u2014 "  # em dash, space (C2SP signed-note, "Format")
_NEWLINE = "\n"


class MalformedNote(InvalidInput):
    """Text that is not a well-formed signed note, key or checkpoint."""

    code = "malformed_note"
    title = "Malformed signed note"


class UnverifiedNote(VerificationFailed):
    """A note that carries no valid signature from the key that had to sign it."""

    code = "unverified_note"
    title = "Unverified signed note"


def check_key_name(name: str) -> str:
    """Return ``name`` if it is a legal key name (C2SP signed-note: non-empty, no spaces, no ``+``)."""
    if not name:
        raise MalformedNote("a key name cannot be empty")
    if any(char.isspace() for char in name) or "+" in name:
        raise MalformedNote(f"key name {name!r} contains a space or a plus sign")
    if any(ord(char) < 0x20 for char in name):
        raise MalformedNote(f"key name {name!r} contains a control character")
    return name


def key_id(name: str, sig_type: int, public_key: bytes) -> bytes:
    """SHA-256(key name || 0x0A || signature type || public key)[:4] (C2SP signed-note)."""
    check_key_name(name)
    if not 0 <= sig_type <= 0xFF:
        raise InvalidInput(f"signature type {sig_type} is not a byte")
    material = name.encode() + b"\n" + bytes([sig_type]) + public_key
    return hashlib.sha256(material).digest()[:KEY_ID_SIZE]


def check_note_text(text: str) -> str:
    """Return ``text`` if it can be signed: ends in a newline, no ASCII control character but newline."""
    if not text.endswith(_NEWLINE):
        raise MalformedNote("note text must end with a newline")
    _check_characters(text)
    return text


def _check_characters(text: str) -> None:
    # C2SP signed-note, "Format": no ASCII control characters other than newline.
    for position, char in enumerate(text):
        if ord(char) < 0x20 and char != _NEWLINE:
            raise MalformedNote(f"control character U+{ord(char):04X} at offset {position}")


class NoteVerifier(Protocol):
    """A known key: signatures whose name and key ID both match it are checked with it."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def verify(self, text: bytes, signature: bytes) -> None:
        """Return if ``signature`` (without the key ID) signs ``text``; raise InvalidSignature otherwise."""
        ...


class NoteSigner(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def sign(self, text: bytes) -> bytes:
        """The signature bytes over the note text, without the key ID."""
        ...


@dataclass(frozen=True, slots=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        """``— <name> base64(key ID || signature)`` and a newline (C2SP signed-note, "Signatures")."""
        blob = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{_SIG_PREFIX}{self.name} {blob}{_NEWLINE}"


@dataclass(frozen=True, slots=True)
class Note:
    """A parsed note: the text (with its final newline) and every signature line, unverified."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def format(self) -> str:
        return self.text + _NEWLINE + "".join(signature.line() for signature in self.signatures)


@dataclass(frozen=True, slots=True)
class VerifiedNote:
    """A note with at least one verified signature; ``unverified`` lists the lines of unknown keys."""

    text: str
    verified: tuple[NoteSignature, ...]
    unverified: tuple[NoteSignature, ...]

    def signature_by(self, verifier: NoteVerifier) -> NoteSignature | None:
        for signature in self.verified:
            if signature.name == verifier.name and signature.key_id == verifier.key_id:
                return signature
        return None


def _parse_signature_line(line: str) -> NoteSignature:
    if not line.startswith(_SIG_PREFIX):
        raise MalformedNote(f"signature line does not start with an em dash and a space: {line[:40]!r}")
    name, _, blob = line[len(_SIG_PREFIX) :].partition(" ")
    check_key_name(name)
    try:
        raw = b64decode_any(blob)
    except InvalidInput as exc:
        raise MalformedNote(f"signature of {name!r} is not standard base64") from exc
    if len(raw) <= KEY_ID_SIZE:
        raise MalformedNote(f"signature of {name!r} is {len(raw)} bytes: a key ID and a signature are needed")
    return NoteSignature(name, raw[:KEY_ID_SIZE], raw[KEY_ID_SIZE:])


def parse_note(data: str | bytes) -> Note:
    """Split a signed note into its text and signature lines; verify nothing."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedNote("a signed note must be valid UTF-8") from exc
    _check_characters(data)
    # C2SP signed-note, "Format": the text is separated from the signatures by the last blank line.
    split = data.rfind(_NEWLINE * 2)
    if split < 0:
        raise MalformedNote("no blank line separates the note text from its signatures")
    text, block = data[: split + 1], data[split + 2 :]
    if not block or not block.endswith(_NEWLINE):
        raise MalformedNote("a signed note ends with one or more newline-terminated signature lines")
    lines = block[:-1].split(_NEWLINE)
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNote(f"note has {len(lines)} signature lines, more than the {MAX_SIGNATURES} read")
    return Note(text, tuple(_parse_signature_line(line) for line in lines))


def _sign(text: str, signers: Sequence[NoteSigner]) -> list[NoteSignature]:
    if not signers:
        raise InvalidInput("a signed note needs at least one signer")
    payload = check_note_text(text).encode()
    return [
        NoteSignature(check_key_name(signer.name), signer.key_id, signer.sign(payload)) for signer in signers
    ]


def sign_note(text: str, signers: Sequence[NoteSigner]) -> str:
    """The signed note of ``text`` with one signature line per signer, in order."""
    return Note(text, tuple(_sign(text, signers))).format()


def add_signatures(note: str | bytes, signers: Sequence[NoteSigner]) -> str:
    """Append signature lines (for example witness cosignatures) to an already signed note."""
    parsed = parse_note(note)
    added = _sign(parsed.text, signers)
    if len(parsed.signatures) + len(added) > MAX_SIGNATURES:
        raise MalformedNote(f"a note carries at most {MAX_SIGNATURES} signatures")
    return Note(parsed.text, parsed.signatures + tuple(added)).format()


def verify_note(note: str | bytes, verifiers: Sequence[NoteVerifier]) -> VerifiedNote:
    """Verify a note against known keys.

    C2SP signed-note, "Signatures": lines whose name and key ID do not both match a known key are
    ignored; a line from a known key must verify, or the whole note is rejected (InvalidSignature);
    and without one verified signature the note is rejected (UnverifiedNote).
    """
    known: dict[tuple[str, bytes], NoteVerifier] = {}
    for verifier in verifiers:
        identity = (verifier.name, verifier.key_id)
        if identity in known:
            raise InvalidInput(f"two known keys share the name {verifier.name!r} and key ID")
        known[identity] = verifier
    parsed = parse_note(note)
    payload = parsed.text.encode()
    verified: list[NoteSignature] = []
    unverified: list[NoteSignature] = []
    seen: set[tuple[str, bytes]] = set()
    for signature in parsed.signatures:
        match = known.get((signature.name, signature.key_id))
        if match is None:
            if signature not in unverified:
                unverified.append(signature)
            continue
        try:
            match.verify(payload, signature.signature)
        except InvalidSignature as exc:
            raise InvalidSignature(
                f"signature by {signature.name}+{signature.key_id.hex()} does not verify: {exc.detail}"
            ) from exc
        if (signature.name, signature.key_id) not in seen:
            seen.add((signature.name, signature.key_id))
            verified.append(signature)
    if not verified:
        names = ", ".join(sorted({f"{v.name}+{v.key_id.hex()}" for v in verifiers})) or "none"
        raise UnverifiedNote(f"no signature from a known key (known: {names})")
    return VerifiedNote(parsed.text, tuple(verified), tuple(unverified))
