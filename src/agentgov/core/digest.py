"""``sha256:<hex>`` digests, the one digest notation of the platform."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from agentgov.core.canonical import fast_canonical
from agentgov.errors import InvalidInput

__all__ = ["DIGEST_PATTERN", "digest_bytes", "digest_json", "parse_digest"]

DIGEST_PATTERN = r"^sha256:[0-9a-f]{64}$"
_DIGEST_RE = re.compile(DIGEST_PATTERN)


def digest_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def digest_json(value: Any) -> str:
    """Digest of the RFC 8785 canonical form of ``value``."""
    return digest_bytes(fast_canonical(value))


def parse_digest(text: str) -> bytes:
    """The raw 32 bytes of a ``sha256:`` digest, or InvalidInput."""
    if not _DIGEST_RE.match(text):
        raise InvalidInput(f"not a sha256 digest: {text!r} (expected sha256:<64 lowercase hex>)")
    return bytes.fromhex(text.removeprefix("sha256:"))
