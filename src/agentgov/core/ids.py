"""Identifiers: random opaque ids and API-key material."""

from __future__ import annotations

import secrets

__all__ = ["new_id"]


def new_id(prefix: str) -> str:
    """A random, URL-safe id with a readable prefix, e.g. ``org_3k9...``."""
    return f"{prefix}_{secrets.token_urlsafe(12)}"
