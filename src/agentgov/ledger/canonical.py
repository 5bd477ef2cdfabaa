"""RFC 8785 canonical JSON on the ledger's hot path.

:func:`agentgov.core.canonical.canonical_json` is exact for every value but slow (pure Python). For
the values events carry (strings, integers within 2**53, booleans, null, objects with ASCII member
names) the standard library's sorted, compact output *is* the RFC 8785 form: §3.2.2.2 escapes
exactly what ``json`` escapes (with lowercase hex), and code-point order equals UTF-16 order for
ASCII names (§3.2.3). Anything else (floats, non-ASCII member names) takes the exact path.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from agentgov.core.canonical import canonical_json

__all__ = ["fast_canonical"]

_MAX_SAFE_INT = 2**53 - 1  # RFC 8785 §3.2.2.3 via ECMAScript Number
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _simple(value: Any) -> bool:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-_MAX_SAFE_INT <= value <= _MAX_SAFE_INT)
    if kind is dict:
        return all(type(k) is str and k.isascii() and _simple(v) for k, v in value.items())
    if kind is list:
        return all(_simple(item) for item in value)
    return False


def fast_canonical(value: Any) -> bytes:
    """RFC 8785 bytes of ``value``, identical to ``canonical_json`` (a property test checks it)."""
    if _simple(value):
        # A lone surrogate cannot be UTF-8: fall through to the exact path, which raises InvalidInput.
        with contextlib.suppress(UnicodeEncodeError):
            return _ENCODER.encode(value).encode("utf-8")
    return canonical_json(value)
