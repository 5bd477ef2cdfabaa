"""RFC 8785 (JSON Canonicalization Scheme) bytes, via the ``rfc8785`` package, and a fast path.

:func:`canonical_json` is exact for every value but slow (pure Python). For the values the hot paths
carry (strings, integers within 2**53, booleans, null, objects with ASCII member names) the standard
library's sorted, compact output *is* the RFC 8785 form: §3.2.2.2 escapes exactly what ``json``
escapes (with lowercase hex), and code-point order equals UTF-16 order for ASCII names (§3.2.3).
:func:`fast_canonical` takes that path and leaves anything else (floats, non-ASCII member names) to
the exact one; a property test holds the two byte-identical.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import rfc8785

from agentgov.errors import InvalidInput, MalformedRequest

__all__ = ["canonical_json", "fast_canonical", "parse_json", "simple_canonical"]

_MAX_SAFE_INT = 2**53 - 1  # RFC 8785 §3.2.2.3 via ECMAScript Number
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def canonical_json(value: Any) -> bytes:
    """Serialise ``value`` to RFC 8785 canonical bytes.

    Raises InvalidInput for values JCS cannot represent (NaN, infinities, integers beyond IEEE 754
    double precision, non-string keys).
    """
    try:
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise InvalidInput(f"value cannot be canonicalised (RFC 8785): {exc}") from exc


def _simple(value: Any) -> bool:
    """Whether ``value`` holds only what the standard library writes in RFC 8785 form (one pass, no
    recursion: every guarded call's event and arguments come this way)."""
    pending = [value]
    pop, extend = pending.pop, pending.extend
    while pending:
        item = pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if -_MAX_SAFE_INT <= item <= _MAX_SAFE_INT:
                continue
            return False
        if kind is dict:
            for key in item:
                if type(key) is not str or not key.isascii():
                    return False
            extend(item.values())
        elif kind is list:
            extend(item)
        else:
            return False
    return True


def simple_canonical(value: Any) -> bytes | None:
    """RFC 8785 bytes of ``value`` when the standard library's output is that form; None otherwise."""
    if _simple(value):
        # A lone surrogate cannot be UTF-8: left to the exact path, which raises InvalidInput.
        with contextlib.suppress(UnicodeEncodeError):
            return _ENCODER.encode(value).encode("utf-8")
    return None


def fast_canonical(value: Any) -> bytes:
    """RFC 8785 bytes of ``value``, identical to ``canonical_json`` (a property test checks it)."""
    simple = simple_canonical(value)
    return simple if simple is not None else canonical_json(value)


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
