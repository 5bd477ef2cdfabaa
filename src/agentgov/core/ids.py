"""Identifiers: random opaque ids and API-key material."""

from __future__ import annotations

import base64

from agentgov.core.randomness import RandomPool

__all__ = ["new_id"]

_ID_BYTES = RandomPool(12)  # 96 bits, as secrets.token_urlsafe(12) draws, without a system call per id


def new_id(prefix: str) -> str:
    """A random, URL-safe id with a readable prefix, e.g. ``org_3k9...``."""
    return f"{prefix}_{base64.urlsafe_b64encode(_ID_BYTES.take()).decode('ascii')}"
