"""API keys and roles. Keys are shown once and stored only as SHA-256 hashes of their secret part.

A key reads ``agk_<id>_<secret>``: the id locates the row, the 256-bit secret is compared by hash in
constant time. A high-entropy secret needs no slow KDF; a leaked table yields no usable key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from agentgov.errors import InvalidInput, Unauthenticated

__all__ = ["KEY_PREFIX", "Principal", "Role", "hash_secret", "new_key", "parse_key", "secret_matches"]

KEY_PREFIX = "agk"


class Role(StrEnum):
    ADMIN = "admin"
    REGISTRAR = "registrar"
    DEVELOPER = "developer"
    EVALUATOR = "evaluator"
    REGULATOR = "regulator"
    USER = "user"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a key id, its role and its scope (organisation for developers, self for users)."""

    key_id: str
    role: Role
    org_id: str | None = None
    subject: str | None = None

    @property
    def actor(self) -> str:
        """The name recorded as actor of what this principal does."""
        scope = self.org_id or self.subject
        return f"{self.role.value}:{scope}:{self.key_id}" if scope else f"{self.role.value}:{self.key_id}"

    def __post_init__(self) -> None:
        if self.role is Role.DEVELOPER and not self.org_id:
            raise InvalidInput("a developer key is scoped to one organisation", field="org")
        if self.role is Role.USER and not self.subject:
            raise InvalidInput("a user key is scoped to its user", field="subject")
        if self.role not in (Role.DEVELOPER,) and self.org_id:
            raise InvalidInput(f"a {self.role.value} key is not scoped to an organisation", field="org")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_key() -> tuple[str, str, str]:
    """A fresh key: (full key text to show once, key id, hash of the secret to store)."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return f"{KEY_PREFIX}_{key_id}_{secret}", key_id, hash_secret(secret)


def parse_key(text: str) -> tuple[str, str]:
    """Split a presented key into (id, secret), or raise Unauthenticated."""
    parts = text.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 16 or not parts[2]:
        raise Unauthenticated("malformed API key: expected agk_<id>_<secret>")
    return parts[1], parts[2]


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)
