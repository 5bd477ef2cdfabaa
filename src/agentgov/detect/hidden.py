"""Text a reader does not see but a model reads: invisible characters, Unicode tags, HTML comments.

:func:`reveal` returns the text as a model would read it (invisible format characters dropped, tag
characters read as the ASCII they encode) together with a map back to the original, and notes the
tricks it undid, so that ``ig<U+200B>nore previous instructions`` is matched as what it says and
reported as hidden. :func:`comments` finds HTML comments in one pass.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = ["Hit", "Revealed", "comments", "reveal"]

# Unicode "Cf" characters that render as nothing: soft hyphen, zero-width space, non-joiner, joiner,
# marks and embeddings, word joiner and invisible operators, isolates, and the byte-order mark.
_INVISIBLE = (
    "\u00ad\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064"
)
_INVISIBLE += "\u2066\u2067\u2068\u2069\ufeff"
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")  # "Trojan Source" reordering
_TAG_BASE = 0xE0000  # Unicode tags, U+E0000-U+E007F: ASCII shifted out of sight
_HIDDEN_RUNS = re.compile(f"[{_INVISIBLE}\U000e0000-\U000e007f]+")
_INVISIBLE_RUNS = re.compile(f"[{_INVISIBLE}]+")
_TAG_RUNS = re.compile("[\U000e0000-\U000e007f]{8,}")  # flag emoji spell up to 6 tags (England: gbeng)
_INVISIBLE_RUN = 4  # a run this long encodes data; emoji sequences use one joiner at a time
# What the model reads for each hidden character: nothing, or the ASCII a printable tag stands for.
_READ_AS: dict[int, str | None] = {ord(c): None for c in _INVISIBLE}
_READ_AS |= {_TAG_BASE + c: (chr(c) if 0x20 <= c < 0x7F else None) for c in range(0x80)}
# Hidden runs mapped one by one; a text with more is obfuscated throughout, and what follows the last
# mapped run is read in one piece whose findings point at all of it.
_MAX_RUNS = 512
_COMMENT_MAX = 2000  # characters: an instruction hidden in a comment is a few sentences


class Hit(NamedTuple):
    start: int  # in the original text
    end: int
    excerpt: str  # what the model would read there


class _Piece(NamedTuple):
    revealed: int  # where the piece starts in the revealed text
    start: int  # and the original span it was read from
    end: int
    verbatim: bool  # copied as is (index for index), or decoded from hidden characters


@dataclass(frozen=True, slots=True)
class Revealed:
    """The text as a model reads it, how to map it back, and the hiding tricks found in it."""

    text: str
    pieces: tuple[_Piece, ...] = ()  # empty: nothing was hidden, indices are the original's
    hidden: dict[str, Hit] = field(default_factory=dict)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that ``text[start:end]`` (not empty) was read from."""
        if not self.pieces:
            return start, end
        first = self.pieces[bisect.bisect_right(self.pieces, (start, _LAST)) - 1]
        last = self.pieces[bisect.bisect_right(self.pieces, (end - 1, _LAST)) - 1]
        low = first.start + (start - first.revealed) if first.verbatim else first.start
        high = last.start + (end - last.revealed) if last.verbatim else last.end
        return low, high


_LAST = 1 << 62  # sorts after any index: (i, _LAST) comes after every piece that starts at i


def reveal(text: str) -> Revealed:
    """``text`` with invisible characters dropped and tags read as ASCII, and the tricks that were used."""
    if text.isascii() or _HIDDEN_RUNS.search(text) is None:
        return Revealed(text)
    parts: list[str] = []
    pieces: list[_Piece] = []
    size = done = 0

    def add(chunk: str, start: int, end: int, *, verbatim: bool) -> None:
        nonlocal size
        if chunk:
            parts.append(chunk)
            pieces.append(_Piece(size, start, end, verbatim))
            size += len(chunk)

    for run in itertools.islice(_HIDDEN_RUNS.finditer(text), _MAX_RUNS):
        add(text[done : run.start()], done, run.start(), verbatim=True)
        add(run.group().translate(_READ_AS), run.start(), run.end(), verbatim=False)
        done = run.end()
    tail = text[done:].translate(_READ_AS)
    add(tail, done, len(text), verbatim=len(tail) == len(text) - done)
    return Revealed("".join(parts), tuple(pieces), _tricks(text))


def _tricks(text: str) -> dict[str, Hit]:
    """The first suspicious use of invisible characters, and the first run of tag characters."""
    hidden: dict[str, Hit] = {}
    for run in _INVISIBLE_RUNS.finditer(text):
        start, end = run.span()
        inside_word = text[start - 1 : start].isalnum() and text[end : end + 1].isalnum()
        if inside_word or end - start >= _INVISIBLE_RUN or _BIDI.intersection(run.group()):
            context = text[max(0, start - 8) : min(end, start + 8) + 8]
            shown = "".join(f"[U+{ord(c):04X}]" if c in _INVISIBLE else c for c in context)
            hidden["hidden.invisible"] = Hit(start, end, shown)
            break
    tags = _TAG_RUNS.search(text)
    if tags is not None:
        hidden["hidden.unicode_tags"] = Hit(tags.start(), tags.end(), tags.group().translate(_READ_AS))
    return hidden


def comments(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, body) of each HTML comment of at most ``_COMMENT_MAX`` characters, in one pass."""
    start = text.find("<!--")
    close = text.find("-->", start + 4) if start >= 0 else -1
    while start >= 0 and close >= 0:
        if close < start + 4:  # the close found belongs to an earlier opening
            close = text.find("-->", start + 4)
            continue
        if close - start <= _COMMENT_MAX:
            yield start, close + 3, text[start + 4 : close]
            start = text.find("<!--", close + 3)
        else:
            start = text.find("<!--", start + 4)
