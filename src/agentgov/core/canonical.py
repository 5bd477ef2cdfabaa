"""RFC 8785 (JSON Canonicalization Scheme) bytes, via the ``rfc8785`` package."""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from agentgov.errors import InvalidInput, MalformedRequest

__all__ = ["canonical_json", "parse_json"]


def canonical_json(value: Any) -> bytes:
    """Serialise ``value`` to RFC 8785 canonical bytes.

    Raises InvalidInput for values JCS cannot represent (NaN, infinities, integers beyond IEEE 754
    double precision, non-string keys).
    """
    try:
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise InvalidInput(f"value cannot be canonicalised (RFC 8785): {exc}") from exc


def _reject_constant(name: str) -> Any:
    raise MalformedRequest(f"JSON constant {name} is not allowed")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise MalformedRequest(f"duplicate JSON member {key!r}")
        out[key] = value
    return out


def parse_json(data: bytes | str) -> Any:
    """Parse JSON strictly: no NaN/Infinity, no duplicate member names (RFC 8785 §3.1)."""
    try:
        return json.loads(data, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedRequest(f"body is not valid JSON: {exc}") from exc
