"""Fast ways to find where in a text a rule can possibly match, so that its regex runs only there.

CPython's regex engine tries a pattern at every position unless the pattern opens with a literal; on
10 KB of text a pattern that opens with a character class costs about 150 µs, whether or not it
matches. A :class:`Hint` names substrings (``needles``) without which a rule cannot match, and how far
from them a match can reach; :func:`windows` turns their occurrences into the few short ranges where
the rule's regex then runs. Substring search is a C loop and takes a few microseconds.

Three views of the text are searched: the text itself; its lower case, index for index; and its
*shape*, where every ASCII digit reads ``0`` and every ASCII capital ``A``,
so that "four digits in a row" is the needle ``0000``. The shape is computed on bytes (ASCII, or
UTF-32 where each character is four bytes), which keeps it a table lookup per byte for any script.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Hint", "TextViews", "windows"]

View = Literal["text", "lower", "shape"]

_SHAPE = bytes.maketrans(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"0" * 10 + b"A" * 26)
# Past this many needle occurrences, one regex pass over the whole text (about 1 ms on 64 KiB) costs
# less than a window around each of them.
_DENSE = 256
_WORD_TAIL = re.compile(r"[0-9A-Za-z_]*")
_NUMBER_AFTER = re.compile(r"[0-9 ()+./-]*")
_NUMBER_BEFORE = re.compile(r"[0-9 ()+./-]*\Z")  # searched with endpos: the run that ends there


@dataclass(frozen=True, slots=True)
class Hint:
    """A rule can match only near one of ``needles`` in ``view``: from ``before`` characters before an
    occurrence to ``after`` characters after its end (``None``: to the end of the text).

    With ``digits`` set, the rule matches a number: the window shrinks to the run of number characters
    (digits, blanks, ``+ ( ) . / -``) around the occurrence, and is dropped unless that run holds at
    least ``digits`` digits. "2024-03-05 at 14:00" is then two short numbers, not one long one.
    """

    needles: tuple[str, ...]
    view: View = "text"
    before: int = 0
    after: int | None = None
    digits: int = 0


class TextViews:
    """The views of one text, each computed at most once."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._lower: str | None = None
        self._shape: tuple[bytes, int] | None = None
        # Keyed by id(): hints are module constants that outlive a scan, and hashing a frozen
        # dataclass on every lookup would cost more than the lookups save.
        self._present: dict[int, bool] = {}
        self.windows: dict[int, list[tuple[int, int]]] = {}  # filled by :func:`windows`

    @property
    def lower(self) -> str:
        """The text in lower case, index for index.

        ``"İ".lower()`` is two characters long (i and a combining dot), the only such character in
        Unicode; it is lowered as a plain "i" so that every index still points at the same character.
        """
        if self._lower is None:
            self._lower = self.text.replace("\u0130", "i").lower()
        return self._lower

    @property
    def shape(self) -> tuple[bytes, int]:
        """The shape as bytes, and how many bytes stand for one character (1 or 4)."""
        if self._shape is None:
            if self.text.isascii():
                self._shape = (self.text.encode("ascii").translate(_SHAPE), 1)
            else:
                self._shape = (self.text.encode("utf-32-le").translate(_SHAPE), 4)
        return self._shape

    def present(self, hint: Hint | None) -> bool:
        """Whether any needle of ``hint`` occurs at all (a cheap test before :func:`windows`)."""
        if hint is None:
            return True
        key = id(hint)
        if key not in self._present:
            if hint.view == "shape":
                shape, width = self.shape
                self._present[key] = any(_shape_needle(n, width) in shape for n in hint.needles)
            else:
                haystack = self.text if hint.view == "text" else self.lower
                self._present[key] = any(n in haystack for n in hint.needles)
        return self._present[key]

    def occurrences(self, hint: Hint) -> list[tuple[int, int]]:
        """(start, end) of every needle occurrence, in characters."""
        if hint.view == "shape":
            return self._shape_occurrences(hint.needles)
        haystack = self.text if hint.view == "text" else self.lower
        found: list[tuple[int, int]] = []
        for needle in hint.needles:
            i = haystack.find(needle)
            while i != -1:
                if len(found) >= _DENSE:  # cheaper to let the regex read the whole text
                    return [(0, len(haystack))]
                found.append((i, i + len(needle)))
                i = haystack.find(needle, i + len(needle))
        return found

    def _shape_occurrences(self, needles: tuple[str, ...]) -> list[tuple[int, int]]:
        shape, width = self.shape
        found: list[tuple[int, int]] = []
        for needle in needles:
            pattern = _shape_needle(needle, width)
            i = shape.find(pattern)
            while i != -1:
                if i % width:  # UTF-32: a match that straddles two characters is no match
                    i = shape.find(pattern, i + 1)
                    continue
                end = _run_end(shape, i + len(pattern), pattern[-width:])  # a run is one occurrence
                if len(found) >= _DENSE:
                    return [(0, len(self.text))]
                found.append((i // width, end // width))
                i = shape.find(pattern, end)
        return found


@functools.lru_cache(maxsize=64)
def _shape_needle(needle: str, width: int) -> bytes:
    """``needle`` as it appears in a shape of ``width`` bytes a character."""
    return b"".join(c.encode("ascii") + b"\0" * (width - 1) for c in needle)


@functools.lru_cache(maxsize=16)
def _repeated(unit: bytes) -> re.Pattern[bytes]:
    return re.compile(b"(?:" + re.escape(unit) + b")*")


def _run_end(shape: bytes, end: int, unit: bytes) -> int:
    """Where the run of ``unit`` that ends a needle occurrence at ``end`` stops."""
    run = _repeated(unit).match(shape, end)
    return run.end() if run else end


def windows(views: TextViews, hint: Hint | None) -> list[tuple[int, int]]:
    """The merged ranges of ``views.text`` in which a rule with ``hint`` can match.

    A range never ends inside a word: the regex engine would take the range's end for the end of the
    text, and a boundary check there would pass where the real text goes on.
    """
    size = len(views.text)
    if hint is None:
        return [(0, size)] if size else []
    if id(hint) in views.windows:
        return views.windows[id(hint)]
    ranges: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    for start, end in sorted(views.occurrences(hint)):
        low = max(0, start - hint.before)
        high = size if hint.after is None else min(size, end + hint.after)
        if hint.digits:
            low, high = _number_around(views.text, low, start, end, high)
            if _digits(views, low, high) < hint.digits:
                continue
        if current is not None and low > current[1]:
            extended = _word_end(views.text, current[1])  # once per gap: each character read once
            if low > extended:
                ranges.append((current[0], extended))
                current = None
            else:
                current = (current[0], extended)
        current = (low, high) if current is None else (current[0], max(current[1], high))
    if current is not None:
        ranges.append((current[0], _word_end(views.text, current[1])))
    views.windows[id(hint)] = ranges
    return ranges


def _word_end(text: str, index: int) -> int:
    """``index``, or the end of the run of letters, digits and underscores it falls inside."""
    tail = _WORD_TAIL.match(text, index)
    return tail.end() if tail else index


def _number_around(text: str, low: int, start: int, end: int, high: int) -> tuple[int, int]:
    """The run of number characters around ``text[start:end]``, within ``low`` and ``high``."""
    before = _NUMBER_BEFORE.search(text, low, start)
    after = _NUMBER_AFTER.match(text, end, high)
    return (before.start() if before else start), (after.end() if after else end)


def _digits(views: TextViews, low: int, high: int) -> int:
    """How many ASCII digits ``views.text[low:high]`` holds (UTF-32 may count a few extra: harmless)."""
    shape, width = views.shape
    return shape.count(b"0" + b"\0" * (width - 1), low * width, high * width)
