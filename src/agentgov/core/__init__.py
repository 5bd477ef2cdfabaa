"""Core values shared by every module: canonical JSON, digests, clock, keys, ids."""

from agentgov.core.canonical import canonical_json, parse_json
from agentgov.core.clock import Clock, FixedClock, SystemClock, ensure_utc, isoformat_z
from agentgov.core.digest import DIGEST_PATTERN, digest_bytes, digest_json, parse_digest
from agentgov.core.ids import new_id
from agentgov.core.keys import (
    Ed25519Signer,
    Ed25519Verifier,
    P256Verifier,
    Signer,
    Verifier,
    b64decode_any,
    b64url,
    b64url_decode,
)
from agentgov.core.validation import validate_model

__all__ = [
    "DIGEST_PATTERN",
    "Clock",
    "Ed25519Signer",
    "Ed25519Verifier",
    "FixedClock",
    "P256Verifier",
    "Signer",
    "SystemClock",
    "Verifier",
    "b64decode_any",
    "b64url",
    "b64url_decode",
    "canonical_json",
    "digest_bytes",
    "digest_json",
    "ensure_utc",
    "isoformat_z",
    "new_id",
    "parse_digest",
    "parse_json",
    "validate_model",
]
