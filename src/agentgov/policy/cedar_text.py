"""Where in a Cedar text something is: tokens, policy spans, and the position of a parse error.

``cedarpy`` reports a parse error as a message without its position. The Cedar parser is LR, so every
prefix of the text up to the offending token is a viable prefix ("unexpected end of input"); the first
token whose inclusion gives any other error is where the text goes wrong. We find it by bisection
over token boundaries, parsing prefixes, and report it as 1-based line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import cedarpy

__all__ = ["Token", "error_offset", "line_column", "policy_spans", "refine_offset", "tokenize"]

_TOKEN = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<comment>//[^\n]*)
    | (?P<string>"(?:[^"\\]|\\.)*"?)
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<number>[0-9]+)
    | (?P<op>::|==|!=|<=|>=|&&|\|\||.)
    """,
    re.VERBOSE | re.DOTALL,
)
_EOF_MESSAGE = "unexpected end of input"


@dataclass(frozen=True, slots=True)
class Token:
    start: int
    end: int
    text: str


def tokenize(text: str) -> list[Token]:
    """The significant tokens of ``text`` (no whitespace, no comments)."""
    out: list[Token] = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind not in ("space", "comment"):
            out.append(Token(m.start(), m.end(), m.group()))
    return out


def policy_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each policy statement, in order: from its first token to its ``;``."""
    spans: list[tuple[int, int]] = []
    start: int | None = None
    for token in tokenize(text):
        if start is None:
            start = token.start
        if token.text == ";":
            spans.append((start, token.end))
            start = None
    if start is not None:
        spans.append((start, len(text)))
    return spans


def line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of ``offset``."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _failure(prefix: str) -> str | None:
    """The parse error of ``prefix``, or None when it parses."""
    try:
        cedarpy.PolicySet.from_str(prefix)
    except ValueError as exc:
        return str(exc)
    return None


def _breaks(prefix: str) -> bool:
    """True when ``prefix`` already holds the error: it fails for a reason other than ending early."""
    failure = _failure(prefix)
    return failure is not None and _EOF_MESSAGE not in failure


_UNEXPECTED = re.compile(r"unexpected token `([^`]+)`")


def error_offset(text: str) -> int:
    """Offset of the first token at which ``text`` stops being a valid Cedar policy set."""
    tokens = tokenize(text)
    low, high = (
        0,
        len(tokens),
    )  # invariant: prefix up to tokens[low - 1] is fine; up to tokens[high - 1] breaks
    if not tokens or not _breaks(text):
        return len(text)
    while low < high - 1:
        mid = (low + high) // 2
        if _breaks(text[: tokens[mid - 1].end]):
            high = mid
        else:
            low = mid
    # The parser may only notice a bad token at the next one ("when { x == };" fails at ";" naming
    # "}"): step back to the token the message names.
    named = _UNEXPECTED.search(_failure(text[: tokens[high - 1].end]) or "")
    if named is not None:
        for token in reversed(tokens[:high]):
            if token.text == named.group(1):
                return token.start
    return tokens[high - 1].start


_QUOTED = re.compile(r"`([^`]+)`|: (\S+)$")


def refine_offset(text: str, span: tuple[int, int], message: str) -> int:
    """Inside a policy span, the offset of what the message names (`` `x` ``, ``: x``), else its start."""
    start, end = span
    body = text[start:end]
    for m in _QUOTED.finditer(message):
        fragment = m.group(1) or m.group(2)
        for candidate in (fragment, fragment.rsplit(".", 1)[-1]):
            if candidate and (at := body.find(candidate)) >= 0:
                return start + at
    return start
