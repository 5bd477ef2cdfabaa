"""did:key for Ed25519 keys, and the proof that an agent holds the key it registers.

A did:key (W3C CCG did:key method) is ``did:key:`` followed by the multibase base58btc (``z``) encoding of
the multicodec ``ed25519-pub`` prefix (varint of 0xed, the bytes ``0xed 0x01``) and the 32-byte public key.
Its one verification method is ``<did>#<multibase value>``.

Proof of possession (Art. 4, verifiable identity): the holder signs the RFC 8785 canonical JSON of
``{"purpose": "agentgov/key-binding/v1", "agent": ..., "did": ..., "time": ...}`` with the key the DID
names; the registry checks the signature and that ``time`` is within a window around its own clock.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from agentgov.core.canonical import canonical_json
from agentgov.core.clock import ensure_utc
from agentgov.core.keys import Ed25519Verifier, Signer, b64url, b64url_decode
from agentgov.errors import InvalidInput, InvalidSignature

__all__ = [
    "DID_KEY_PREFIX",
    "POSSESSION_PURPOSE",
    "b58decode",
    "b58encode",
    "did_key_from_public",
    "did_key_kid",
    "possession_challenge",
    "public_from_did_key",
    "public_from_did_key_url",
    "sign_possession",
    "verify_possession",
]

DID_KEY_PREFIX = "did:key:"
POSSESSION_PURPOSE = "agentgov/key-binding/v1"

_ED25519_CODEC = b"\xed\x01"  # multicodec ed25519-pub (0xed) as an unsigned varint
_ED25519_KEY_LEN = 32
_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}
_MAX_DID_LEN = 128  # an Ed25519 did:key is 56 characters; anything far longer is not one
# RFC 3339 §5.6 date-time, seconds required, offset required.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})$")
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def b58encode(data: bytes) -> str:
    """Base58 with the Bitcoin alphabet (multibase ``z``); leading zero bytes become ``1``."""
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, digit = divmod(number, 58)
        out.append(_B58_ALPHABET[digit])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        digit = _B58_INDEX.get(char)
        if digit is None:
            raise InvalidInput(f"{char!r} is not a base58btc character")
        number = number * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def did_key_from_public(pub: bytes) -> str:
    """The did:key of a raw 32-byte Ed25519 public key."""
    if len(pub) != _ED25519_KEY_LEN:
        raise InvalidInput(f"an Ed25519 public key is 32 bytes, got {len(pub)}")
    return DID_KEY_PREFIX + "z" + b58encode(_ED25519_CODEC + pub)


def public_from_did_key(did: str) -> bytes:
    """The raw Ed25519 public key a did:key names; InvalidInput for anything else."""
    if len(did) > _MAX_DID_LEN:
        raise InvalidInput("not an Ed25519 did:key: too long")
    if not did.startswith(DID_KEY_PREFIX):
        raise InvalidInput(f"not a did:key: {did[:40]!r} does not start with {DID_KEY_PREFIX!r}")
    value = did.removeprefix(DID_KEY_PREFIX)
    if any(c in value for c in "#?/;"):
        raise InvalidInput("a did:key carries no path, query, parameter or fragment here")
    if not value.startswith("z"):
        raise InvalidInput("a did:key is multibase base58btc and starts with 'z'")
    raw = b58decode(value[1:])
    if not raw.startswith(_ED25519_CODEC):
        raise InvalidInput(f"not an Ed25519 did:key (multicodec prefix {raw[:2].hex()}, expected ed01)")
    pub = raw[len(_ED25519_CODEC) :]
    if len(pub) != _ED25519_KEY_LEN:
        raise InvalidInput(f"an Ed25519 did:key holds 32 key bytes, this one holds {len(pub)}")
    if did_key_from_public(pub) != did:
        raise InvalidInput("did:key is not in its canonical encoding")
    return pub


def did_key_kid(did: str) -> str:
    """The verification method id of a did:key: ``<did>#<multibase value>`` (did:key §3.1.2)."""
    public_from_did_key(did)
    return f"{did}#{did.removeprefix(DID_KEY_PREFIX)}"


def public_from_did_key_url(url: str) -> bytes:
    """The key of a did:key or of its one verification method ``<did>#<multibase value>``."""
    did, sep, fragment = url.partition("#")
    pub = public_from_did_key(did)
    if sep and fragment != did.removeprefix(DID_KEY_PREFIX):
        raise InvalidInput("a did:key has one verification method, #<its multibase value>")
    return pub


def possession_challenge(agent_id: str, did: str, timestamp: str) -> bytes:
    """The bytes the key holder signs to bind ``did`` to ``agent_id`` at ``timestamp`` (RFC 8785)."""
    for field, value in (("agent", agent_id), ("did", did), ("time", timestamp)):
        if not isinstance(value, str) or not value:
            raise InvalidInput(f"proof of possession needs a non-empty {field}", field=field)
    return canonical_json({"purpose": POSSESSION_PURPOSE, "agent": agent_id, "did": did, "time": timestamp})


def sign_possession(signer: Signer, agent_id: str, timestamp: str) -> tuple[str, str]:
    """The did:key of ``signer`` and its base64url proof of possession for ``agent_id``."""
    did = did_key_from_public(signer.public_key_bytes())
    return did, b64url(signer.sign(possession_challenge(agent_id, did, timestamp)))


def _parse_time(timestamp: str) -> datetime:
    if not _RFC3339.match(timestamp):
        raise InvalidInput(
            "proof time must be RFC 3339 with an offset, e.g. 2026-01-02T03:04:05Z", field="time"
        )
    try:
        return ensure_utc(datetime.fromisoformat(timestamp))
    except ValueError as exc:
        raise InvalidInput(f"proof time is not a valid date-time: {exc}", field="time") from exc


def verify_possession(
    agent_id: str,
    did: str,
    timestamp: str,
    signature_b64url: str,
    *,
    now: datetime,
    window: timedelta,
) -> None:
    """Return if the holder of ``did`` signed the challenge within ``window`` of ``now``; raise otherwise.

    InvalidInput for malformed values; InvalidSignature for a signature that does not verify or a proof
    whose time is outside the window (a replayed or pre-dated proof).
    """
    if window <= timedelta(0):
        raise InvalidInput("the possession window must be positive")
    try:
        current = ensure_utc(now)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    message = possession_challenge(agent_id, did, timestamp)
    verifier = Ed25519Verifier(public_from_did_key(did))
    signed_at = _parse_time(timestamp)
    if not _B64URL.match(signature_b64url):
        raise InvalidSignature("proof signature is not base64url")
    verifier.verify(message, b64url_decode(signature_b64url))
    if abs(current - signed_at) > window:
        raise InvalidSignature(f"proof of possession was made at {timestamp}, outside the accepted window")
