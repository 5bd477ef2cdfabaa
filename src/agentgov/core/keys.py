"""Signer and Verifier ports, with Ed25519 (and ES256 for verification) adapters over ``cryptography``."""

from __future__ import annotations

import base64
from typing import Protocol

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from agentgov.errors import InvalidInput, InvalidSignature

__all__ = [
    "Ed25519Signer",
    "Ed25519Verifier",
    "P256Verifier",
    "Signer",
    "Verifier",
    "b64decode_any",
    "b64url",
    "b64url_decode",
]


class Signer(Protocol):
    algorithm: str

    def sign(self, message: bytes) -> bytes: ...

    def public_key_bytes(self) -> bytes: ...


class Verifier(Protocol):
    algorithm: str

    def verify(self, message: bytes, signature: bytes) -> None:
        """Return if the signature is good; raise InvalidSignature otherwise (never return False)."""
        ...


class Ed25519Signer:
    algorithm = "EdDSA"

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key

    @classmethod
    def generate(cls) -> Ed25519Signer:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> Ed25519Signer:
        if len(seed) != 32:
            raise InvalidInput("an Ed25519 seed is 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    def seed(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def public_key_bytes(self) -> bytes:
        return self._key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier(self.public_key_bytes())


class Ed25519Verifier:
    algorithm = "EdDSA"

    def __init__(self, public_key: bytes) -> None:
        if len(public_key) != 32:
            raise InvalidInput(f"an Ed25519 public key is 32 bytes, got {len(public_key)}")
        self.public_key = public_key
        self._key = Ed25519PublicKey.from_public_bytes(public_key)

    def verify(self, message: bytes, signature: bytes) -> None:
        try:
            self._key.verify(signature, message)
        except _CryptoInvalidSignature as exc:
            raise InvalidSignature("Ed25519 signature does not verify") from exc


class P256Verifier:
    """ES256 verification (JWS: signature is the 64-byte R||S, RFC 7518 §3.4)."""

    algorithm = "ES256"

    def __init__(self, public_key: ec.EllipticCurvePublicKey) -> None:
        if not isinstance(public_key.curve, ec.SECP256R1):
            raise InvalidInput("ES256 needs a P-256 key")
        self._key = public_key

    def verify(self, message: bytes, signature: bytes) -> None:
        if len(signature) != 64:
            raise InvalidSignature("an ES256 signature is 64 bytes (R||S)")
        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        try:
            self._key.verify(der, message, ec.ECDSA(hashes.SHA256()))
        except _CryptoInvalidSignature as exc:
            raise InvalidSignature("ES256 signature does not verify") from exc


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    if "=" in text:
        raise InvalidInput("base64url in JOSE carries no padding")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"not base64url: {exc}") from exc


def b64decode_any(text: str) -> bytes:
    """Standard base64 (with padding), as used by the MCP registry proof record and C2SP notes."""
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"not base64: {exc}") from exc
