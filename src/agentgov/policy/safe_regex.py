"""Regular expressions a user may write into a grant, compiled so that matching stays cheap.

Python's ``re`` backtracks, and a pattern like ``(a+)+$`` takes exponential time on a crafted value
(ReDoS). A grant pattern is therefore limited to a subset whose matching time is bounded:

* it is matched with ``fullmatch`` (anchored at both ends, whatever the pattern says);
* the pattern and the value are length-limited;
* no backreferences, no lookaround, no inline flags: the only extension group is ``(?:...)``;
* no repetition of a group that itself repeats or alternates (star height one, no ``(a|a)*``);
* at most two variable-width repetitions and six optional parts, which bounds the work to a small
  polynomial in the value length.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

__all__ = ["RegexLimits", "UnsafePattern", "compile_safe"]

_INF = -1


@dataclass(frozen=True)
class RegexLimits:
    max_pattern_length: int = 256  # a grant states a shape (an IBAN, a domain), not a grammar
    max_value_length: int = 1024  # longer values do not match: bounds the matching time
    max_wide_repeats: int = 2  # *, +, {m,} or {m,n} with n - m > 1: each multiplies the work by n
    max_optional: int = 6  # ? or {0,1}: each doubles the work at most


class UnsafePattern(ValueError):
    """A pattern outside the safe subset; the message says which rule it breaks."""


@dataclass
class _Group:
    repeats: bool = False
    alternates: bool = False


def _class_end(pattern: str, i: int) -> int:
    """Index just past the character class that starts at ``pattern[i] == "["``."""
    j = i + 1
    if j < len(pattern) and pattern[j] == "^":
        j += 1
    if j < len(pattern) and pattern[j] == "]":
        j += 1
    while j < len(pattern):
        if pattern[j] == "\\":
            j += 2
            continue
        if pattern[j] == "]":
            return j + 1
        j += 1
    raise UnsafePattern("unterminated character class")


_BRACES = re.compile(r"\{(\d*)(,?)(\d*)\}")


def _quantifier(pattern: str, i: int) -> tuple[int, int, int] | None:
    """(min, max or _INF, index past it) for a quantifier at ``i``, or None if it is a literal."""
    c = pattern[i]
    if c == "*":
        return 0, _INF, i + 1
    if c == "+":
        return 1, _INF, i + 1
    if c == "?":
        return 0, 1, i + 1
    m = _BRACES.match(pattern, i)
    if m is None or (not m.group(1) and not m.group(3)):
        return None
    low = int(m.group(1) or 0)
    if not m.group(2):
        return low, low, m.end()
    return low, int(m.group(3)) if m.group(3) else _INF, m.end()


class _Scanner:
    """One pass over the pattern, tracking groups and counting repetitions."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.stack = [_Group()]
        self.last: str | _Group | None = None  # "atom", a just-closed group, or None (nothing to repeat)
        self.wide = 0
        self.optional = 0

    def run(self) -> None:
        i = 0
        while i < len(self.pattern):
            i = self._step(i)
        if len(self.stack) != 1:
            raise UnsafePattern("unbalanced parenthesis")

    def _step(self, i: int) -> int:
        handler = {
            "\\": self._escape,
            "[": self._class,
            "(": self._open,
            ")": self._close,
            "|": self._alternate,
        }.get(self.pattern[i])
        if handler is not None:
            return handler(i)
        if (q := _quantifier(self.pattern, i)) is not None:
            return self._repeat(*q)
        self.last = "atom"
        return i + 1

    def _escape(self, i: int) -> int:
        if i + 1 >= len(self.pattern):
            raise UnsafePattern("trailing backslash")
        if self.pattern[i + 1].isdigit():
            raise UnsafePattern("backreferences and octal escapes are not allowed")
        self.last = "atom"
        return i + 2

    def _class(self, i: int) -> int:
        self.last = "atom"
        return _class_end(self.pattern, i)

    def _alternate(self, i: int) -> int:
        self.stack[-1].alternates = True
        self.last = None
        return i + 1

    def _open(self, i: int) -> int:
        if self.pattern.startswith("(?", i) and not self.pattern.startswith("(?:", i):
            raise UnsafePattern("only (?:...) groups are allowed: no lookaround, flags or names")
        self.stack.append(_Group())
        self.last = None
        return i + (3 if self.pattern.startswith("(?:", i) else 1)

    def _close(self, i: int) -> int:
        if len(self.stack) == 1:
            raise UnsafePattern("unbalanced parenthesis")
        closed = self.stack.pop()
        self.stack[-1].repeats |= closed.repeats
        self.stack[-1].alternates |= closed.alternates
        self.last = closed
        return i + 1

    def _repeat(self, low: int, high: int, i: int) -> int:
        if i < len(self.pattern) and self.pattern[i] in "?+":
            i += 1  # lazy or possessive suffix
        if self.last is None:
            raise UnsafePattern("nothing to repeat")
        many = high == _INF or high > 1
        if isinstance(self.last, _Group) and many and (self.last.repeats or self.last.alternates):
            raise UnsafePattern("a repeated group may not itself repeat or alternate (ReDoS)")
        if high == _INF or high - low > 1:
            self.wide += 1
        elif high != low:
            self.optional += 1
        if many:
            self.stack[-1].repeats = True
        self.last = None
        return i


def _check(pattern: str, limits: RegexLimits) -> None:
    scanner = _Scanner(pattern)
    scanner.run()
    if scanner.wide > limits.max_wide_repeats:
        raise UnsafePattern(f"at most {limits.max_wide_repeats} variable-width repetitions")
    if scanner.optional > limits.max_optional:
        raise UnsafePattern(f"at most {limits.max_optional} optional parts")


def compile_safe(pattern: str, limits: RegexLimits | None = None) -> re.Pattern[str]:
    """Compile ``pattern`` if it is in the safe subset; raise :class:`UnsafePattern` otherwise."""
    limits = limits or RegexLimits()
    if not pattern:
        raise UnsafePattern("empty pattern")
    if len(pattern) > limits.max_pattern_length:
        raise UnsafePattern(f"pattern longer than {limits.max_pattern_length} characters")
    _check(pattern, limits)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "possible nested set" and friends are refused too
            return re.compile(pattern)
    except (re.error, FutureWarning, DeprecationWarning) as exc:
        raise UnsafePattern(f"not a valid regular expression: {exc}") from exc
