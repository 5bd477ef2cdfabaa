"""Note key types: Ed25519 note signatures (0x01), cosignature/v1 (0x04), and their key texts.

Verifier key text: ``<name>+<hex key ID>+<base64(type || public key)>``; signer key text:
``PRIVATE+KEY+<name>+<hex key ID>+<base64(type || seed)>`` (golang.org/x/mod/sumdb/note, which
C2SP signed-note follows). The base64 part may contain ``+``, so the text is split from the left.
"""

from __future__ import annotations

import base64
import re

from agentgov.core.clock import Clock
from agentgov.core.keys import Ed25519Signer, Ed25519Verifier, Signer, b64decode_any
from agentgov.errors import InvalidInput, InvalidSignature, UnsupportedAlgorithm
from agentgov.ledger.note import (
    SIG_TYPE_COSIGNATURE_V1,
    SIG_TYPE_ED25519,
    MalformedNote,
    check_key_name,
    key_id,
)

__all__ = [
    "CosignatureV1Signer",
    "CosignatureV1Verifier",
    "Ed25519NoteSigner",
    "Ed25519NoteVerifier",
    "cosignature_message",
    "cosignature_timestamp",
    "format_signer_key",
    "format_verifier_key",
    "parse_signer_key",
    "parse_verifier_key",
]

_ED25519_KEY_SIZE = 32
_ED25519_SIG_SIZE = 64
_TIMESTAMP_SIZE = 8  # C2SP tlog-cosignature: u64 timestamp, big-endian, before the signature
_MAX_TIMESTAMP = 2**63 - 1  # C2SP tlog-cosignature: the timestamp MUST NOT exceed 2^63 - 1
_COSIGNATURE_HEADER = "cosignature/v1\n"
_KEY_ID_HEX = re.compile(r"[0-9a-f]{8}")
_SIGNER_KEY_PREFIX = "PRIVATE+KEY+"


class _NoteVerifierKey:
    """What every note verifier key holds: its name, its key ID for ``sig_type``, its Ed25519 key."""

    sig_type: int

    def __init__(self, name: str, public_key: bytes) -> None:
        self._name = check_key_name(name)
        self._verifier = Ed25519Verifier(public_key)
        self._key_id = key_id(name, self.sig_type, public_key)

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> bytes:
        return self._key_id

    @property
    def public_key(self) -> bytes:
        return self._verifier.public_key


class Ed25519NoteVerifier(_NoteVerifierKey):
    """An Ed25519 note key, signature type 0x01 (C2SP signed-note, "Ed25519 signatures")."""

    sig_type = SIG_TYPE_ED25519

    def verify(self, text: bytes, signature: bytes) -> None:
        if len(signature) != _ED25519_SIG_SIZE:
            raise InvalidSignature(f"an Ed25519 signature is {_ED25519_SIG_SIZE} bytes, got {len(signature)}")
        self._verifier.verify(text, signature)

    def verifier_key(self) -> str:
        return format_verifier_key(self._name, self.sig_type, self.public_key)


class Ed25519NoteSigner:
    """Signs note text with an Ed25519 key (any :class:`~agentgov.core.keys.Signer` port)."""

    sig_type = SIG_TYPE_ED25519

    def __init__(self, name: str, signer: Signer) -> None:
        if signer.algorithm != "EdDSA":
            raise UnsupportedAlgorithm(
                f"note signature type 0x01 needs an Ed25519 key, not {signer.algorithm}"
            )
        self._name = check_key_name(name)
        self._signer = signer
        self._key_id = key_id(name, self.sig_type, signer.public_key_bytes())

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> bytes:
        return self._key_id

    def sign(self, text: bytes) -> bytes:
        return self._signer.sign(text)

    def verifier(self) -> Ed25519NoteVerifier:
        return Ed25519NoteVerifier(self._name, self._signer.public_key_bytes())


def cosignature_message(body: str | bytes, timestamp: int) -> bytes:
    """``cosignature/v1``, ``time <timestamp>``, then the checkpoint body (C2SP tlog-cosignature)."""
    if not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise InvalidInput(f"cosignature timestamp {timestamp} is outside [0, 2^63 - 1]")
    payload = body.encode() if isinstance(body, str) else body
    return f"{_COSIGNATURE_HEADER}time {timestamp}\n".encode() + payload


def cosignature_timestamp(signature: bytes) -> int:
    """The POSIX time a cosignature/v1 signature (timestamp || Ed25519 signature) was made at."""
    if len(signature) != _TIMESTAMP_SIZE + _ED25519_SIG_SIZE:
        raise InvalidSignature(
            f"a cosignature/v1 signature is {_TIMESTAMP_SIZE + _ED25519_SIG_SIZE} bytes, got {len(signature)}"
        )
    return int.from_bytes(signature[:_TIMESTAMP_SIZE], "big")


class CosignatureV1Verifier(_NoteVerifierKey):
    """A witness key, signature type 0x04: timestamped Ed25519 cosignatures (C2SP tlog-cosignature)."""

    sig_type = SIG_TYPE_COSIGNATURE_V1

    def verify(self, text: bytes, signature: bytes) -> None:
        timestamp = cosignature_timestamp(signature)
        if timestamp > _MAX_TIMESTAMP:
            raise InvalidSignature(f"cosignature timestamp {timestamp} exceeds 2^63 - 1")
        self._verifier.verify(cosignature_message(text, timestamp), signature[_TIMESTAMP_SIZE:])

    def verifier_key(self) -> str:
        return format_verifier_key(self._name, self.sig_type, self.public_key)


class CosignatureV1Signer:
    """Cosigns checkpoint bodies at the clock's current time (C2SP tlog-cosignature)."""

    sig_type = SIG_TYPE_COSIGNATURE_V1

    def __init__(self, name: str, signer: Signer, clock: Clock) -> None:
        if signer.algorithm != "EdDSA":
            raise UnsupportedAlgorithm(f"cosignature/v1 needs an Ed25519 key, not {signer.algorithm}")
        self._name = check_key_name(name)
        self._signer = signer
        self._clock = clock
        self._key_id = key_id(name, self.sig_type, signer.public_key_bytes())

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> bytes:
        return self._key_id

    def sign(self, text: bytes) -> bytes:
        timestamp = int(self._clock.now().timestamp())
        signature = self._signer.sign(cosignature_message(text, timestamp))
        return timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + signature

    def verifier(self) -> CosignatureV1Verifier:
        return CosignatureV1Verifier(self._name, self._signer.public_key_bytes())


def format_verifier_key(name: str, sig_type: int, public_key: bytes) -> str:
    """``<name>+<hex key ID>+<base64(type || public key)>``."""
    material = base64.b64encode(bytes([sig_type]) + public_key).decode("ascii")
    return f"{check_key_name(name)}+{key_id(name, sig_type, public_key).hex()}+{material}"


def _split_key(text: str, what: str) -> tuple[str, bytes, bytes]:
    name, _, rest = text.partition("+")
    hex_id, _, material = rest.partition("+")
    check_key_name(name)
    if not _KEY_ID_HEX.fullmatch(hex_id):
        raise MalformedNote(f"{what} key ID must be 8 lowercase hex digits, got {hex_id!r}")
    try:
        raw = b64decode_any(material)
    except InvalidInput as exc:
        raise MalformedNote(f"{what} key material is not standard base64") from exc
    if len(raw) != 1 + _ED25519_KEY_SIZE:
        raise MalformedNote(f"{what} key material is {len(raw)} bytes, expected a type byte and 32 bytes")
    return name, bytes.fromhex(hex_id), raw


def parse_verifier_key(text: str) -> Ed25519NoteVerifier | CosignatureV1Verifier:
    """A verifier from its key text; the key ID must match the name, type and key."""
    name, claimed_id, raw = _split_key(text, "verifier")
    sig_type, public_key = raw[0], raw[1:]
    verifier: Ed25519NoteVerifier | CosignatureV1Verifier
    if sig_type == SIG_TYPE_ED25519:
        verifier = Ed25519NoteVerifier(name, public_key)
    elif sig_type == SIG_TYPE_COSIGNATURE_V1:
        verifier = CosignatureV1Verifier(name, public_key)
    else:
        raise UnsupportedAlgorithm(f"note signature type 0x{sig_type:02x} is not supported")
    if verifier.key_id != claimed_id:
        raise MalformedNote(f"verifier key ID {claimed_id.hex()} does not match its name and key")
    return verifier


def format_signer_key(name: str, signer: Ed25519Signer) -> str:
    """``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>``; secret material, handle as such."""
    identifier = key_id(name, SIG_TYPE_ED25519, signer.public_key_bytes()).hex()
    material = base64.b64encode(bytes([SIG_TYPE_ED25519]) + signer.seed()).decode("ascii")
    return f"{_SIGNER_KEY_PREFIX}{check_key_name(name)}+{identifier}+{material}"


def parse_signer_key(text: str) -> Ed25519NoteSigner:
    """An Ed25519 note signer from its signer key text."""
    if not text.startswith(_SIGNER_KEY_PREFIX):
        raise MalformedNote("a signer key starts with PRIVATE+KEY+")
    name, claimed_id, raw = _split_key(text.removeprefix(_SIGNER_KEY_PREFIX), "signer")
    if raw[0] != SIG_TYPE_ED25519:
        raise UnsupportedAlgorithm(f"signer keys of type 0x{raw[0]:02x} are not supported")
    signer = Ed25519NoteSigner(name, Ed25519Signer.from_seed(raw[1:]))
    if signer.key_id != claimed_id:
        raise MalformedNote(f"signer key ID {claimed_id.hex()} does not match its name and key")
    return signer
