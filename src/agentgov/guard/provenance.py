"""Provenance within a session: where did each argument's value come from? (Art. 8: attack detection.)

Pure. The guard knows the user's request (the task text given when the session opened), the values
the user's grants fix, and every tool result the session has seen, each under a source label
(``tool:<name>``). An argument whose value occurs in some tool result and not in the user's request is
*untrusted*, labelled with the results it could have come from; the decision core then escalates a
side-effecting action to ask unless a policy declares those sources trusted (``@trusted_sources``).
A result in which a detector found an injected instruction adds the label ``injection``, which no
policy can declare trusted: a value an attacker planted never drives a side effect unasked.

Values are compared as the words a person would recognise: strings case-folded with whitespace
collapsed and matched on word boundaries, numbers by value (``120``, ``120.0`` and ``"120.00"`` are one
number, and a bank card's 19 digits are one number too). Scripts written without spaces (Chinese,
Japanese, Thai...) have no word boundaries to respect: ``6222021234567890123`` is found in
``转账到账户6222021234567890123``, and a phrase within a longer run of such text. Values an agent
writes itself (a message it composed) occur nowhere and stay trusted: the question is only whether a
value was *carried over* from untrusted text.

A session's texts are kept as UTF-8, each source's in one buffer that grows in place: reading a result
costs its own length, not the session's. Each source also keeps the set of its words (maximal runs of
letters and digits of spaced scripts): a value found in a text on word boundaries has every one of its
words among the text's, so a value with a word the source never held is ruled out by set lookups, and
only the others cost a substring search, whose time grows with the session.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from agentgov.policy.model import (
    HOSTILE_SOURCE,
    LABEL_PATTERN,
    MANY_SOURCE,
    NEVER_TRUSTED,
    UNREAD_SOURCE,
    Provenance,
    TaintedArgument,
)

__all__ = [
    "HOSTILE_LABEL",
    "MANY_LABEL",
    "UNREAD_LABEL",
    "ProvenanceSettings",
    "SourceLog",
    "atoms",
    "normalise",
    "source_label",
]

HOSTILE_LABEL = HOSTILE_SOURCE  # a result carrying an injected instruction; never trusted
UNREAD_LABEL = UNREAD_SOURCE  # output past the session's text bound: not read, so not vouched for
MANY_LABEL = MANY_SOURCE  # the results of tools past ``max_sources``, together; never trusted
_LABEL = re.compile(LABEL_PATTERN)
_NOT_IN_LABEL = re.compile(r"[^A-Za-z0-9_.:/@-]")
_SOURCES_PER_ARGUMENT = 64  # policy.model.TaintedArgument.sources
_SPACE = re.compile(r"\s+")
_ARGUMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")  # the names a policy can speak of
# Up to 28 digits: what Decimal's default context keeps exactly (normalize() rounds beyond).
_NUMBER = re.compile(r"\d{1,28}(?:[.,]\d{1,8})?")
_SEPARATOR = b"\n\x00\n"  # between two texts of one source: no value holds it (whitespace collapses)
# Scripts written without spaces between words: Thai, Lao, Myanmar, Khmer, kana, Han (with its
# extensions and compatibility ideographs), halfwidth kana.
_UNSPACED = (
    (0x0E00, 0x0EFF),
    (0x1000, 0x109F),
    (0x1780, 0x17FF),
    (0x3040, 0x30FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0xFF66, 0xFF9F),
    (0x20000, 0x3FFFF),
)
# A word: a maximal run of the characters _in_word accepts ([^\W_] is exactly str.isalnum()).
_WORD = re.compile("[^\\W_" + "".join(f"{chr(low)}-{chr(high)}" for low, high in _UNSPACED) + "]+")


@dataclass(frozen=True)
class ProvenanceSettings:
    # Strings shorter than this are words any text contains ("yes", "EUR", "1"): they prove nothing.
    min_text_chars: int = 4
    # Numbers of smaller magnitude (counts, page sizes, "1" and "2") occur everywhere; larger ones (an
    # amount, an account number) identify a value.
    min_number: Decimal = Decimal(10)
    # Bounds the text kept per session, so a long session cannot grow memory without limit.
    max_source_chars: int = 2_000_000
    max_atoms_per_argument: int = 64
    # Tools whose results a session keeps apart, each under its own label; the results of any further
    # tool go under one label, ``sources:many``, which no policy can declare trusted. At most 250: a
    # decision carries every label (with ``injection`` and ``sources:many``, up to 256).
    max_sources: int = 200

    def __post_init__(self) -> None:
        if not 1 <= self.max_sources <= 250:
            raise ValueError("max_sources is 1 to 250")


def source_label(tool: str) -> str:
    """The label of a tool's results: ``tool:<name>``. A name no label can hold (over 123 characters,
    or characters labels do not take) keeps what it can, followed by a digest of the whole name, so
    that two tools never share a label and a policy naming one never trusts the other."""
    label = f"tool:{tool}"
    if _LABEL.match(label):
        return label
    kept = _NOT_IN_LABEL.sub("_", tool)[:104]
    return f"tool:{kept}-{hashlib.sha256(tool.encode()).hexdigest()[:16]}"


def _policy_name(name: str) -> str:
    """An argument name as policies and decisions can carry it (MCP allows any string)."""
    if _ARGUMENT.match(name):
        return name
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", name)[:63] or "_"
    return cleaned if not cleaned[0].isdigit() else f"_{cleaned}"


def _in_word(char: str) -> bool:
    """Whether ``char`` continues a word of a spaced script, so that a match next to it is inside a word."""
    if not char.isalnum():
        return False
    code = ord(char)
    return not any(low <= code <= high for low, high in _UNSPACED)


def normalise(text: str) -> str:
    return _SPACE.sub(" ", text.casefold()).strip()


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).replace(",", "."))
    except InvalidOperation:
        return None
    return number.normalize() if number.is_finite() else None


def atoms(value: Any, settings: ProvenanceSettings) -> Iterator[str | Decimal]:
    """The identifying parts of an argument value: long-enough strings and large-enough numbers."""
    if isinstance(value, Mapping):
        for item in value.values():
            yield from atoms(item, settings)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from atoms(item, settings)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = _number(value)
        if number is not None and abs(number) >= settings.min_number:
            yield number
    elif isinstance(value, str):
        number = _number(value.strip())
        if number is not None:
            if abs(number) >= settings.min_number:
                yield number
            return
        text = normalise(value)
        if len(text) >= settings.min_text_chars:
            yield text


def words(text: str) -> frozenset[str]:
    """The words of ``text``: the runs of characters that continue a word (see :func:`_in_word`)."""
    return frozenset(_WORD.findall(text))


@dataclass
class _Source:
    """Everything read under one label: its texts in UTF-8, joined by a separator no value holds, their
    words and their numbers. The text grows in place."""

    label: str
    text: bytearray = field(default_factory=bytearray)
    words: set[str] = field(default_factory=set)
    numbers: set[Decimal] = field(default_factory=set)

    def add(self, body: bytes, words: frozenset[str], numbers: frozenset[Decimal]) -> None:
        if self.text:
            self.text += _SEPARATOR
        self.text += body
        self.words |= words
        self.numbers |= numbers

    def holds(self, atom: str, atom_words: frozenset[str]) -> bool:
        """``atom`` occurs in the text on word boundaries (its words first, then the text)."""
        return atom_words <= self.words and _contains(self.text, atom)


def _joins(char: str) -> bool:
    """Whether a number next to ``char`` is part of something longer (a number, a word, a name)."""
    return char in "._" or char.isdigit() or _in_word(char)


def _numbers_in(text: str) -> frozenset[Decimal]:
    found = set()
    for match in _NUMBER.finditer(text):
        start, end = match.span()
        before = text[start - 1] if start else " "
        if _joins(before) or (
            end < len(text) and (text[end] == "_" or text[end].isdigit() or _in_word(text[end]))
        ):
            continue  # inside a longer number or a word: "abc123", "v2", "1234567" of 30 digits
        value = match.group()
        if before in "-+" and not (start >= 2 and _joins(text[start - 2])):  # a sign, not a hyphen
            value = before + value
        number = _number(value)
        if number is not None:
            found.add(number)
    return frozenset(found)


def _at_most(sources: set[str]) -> tuple[str, ...]:
    """A tainted argument's sources, sorted, at most as many as a decision carries: past that, those
    never trusted are kept and the rest stand for themselves under ``sources:many``."""
    if len(sources) <= _SOURCES_PER_ARGUMENT:
        return tuple(sorted(sources))
    kept = (sources & NEVER_TRUSTED) | {MANY_LABEL}
    rest = sorted(sources - kept)[: _SOURCES_PER_ARGUMENT - len(kept)]
    return tuple(sorted(kept.union(rest)))


def _char_before(text: bytes | bytearray, start: int) -> str:
    """The character that ends just before byte ``start`` (a character boundary), or a space."""
    return bytes(text[max(0, start - 4) : start]).decode("utf-8", "ignore")[-1:] or " "


def _char_after(text: bytes | bytearray, end: int) -> str:
    """The character that starts at byte ``end`` (a character boundary), or a space."""
    return bytes(text[end : end + 4]).decode("utf-8", "ignore")[:1] or " "


def _contains(haystack: bytes | bytearray, needle: str) -> bool:
    """``needle`` occurs in ``haystack`` (UTF-8) and is not part of a longer word on either side.

    A UTF-8 match starts and ends on character boundaries: no character's encoding holds another's.
    """
    wanted = needle.encode()
    first, last = _in_word(needle[0]), _in_word(needle[-1])
    start = haystack.find(wanted)
    while start >= 0:
        end = start + len(wanted)
        if not (first and _in_word(_char_before(haystack, start))) and not (
            last and _in_word(_char_after(haystack, end))
        ):
            return True
        start = haystack.find(wanted, start + 1)
    return False


@dataclass
class SourceLog:
    """What one session has read: the user's request (trusted) and every tool result (labelled)."""

    task: str = ""
    settings: ProvenanceSettings = field(default_factory=ProvenanceSettings)
    _task_text: bytes = b""
    _task_words: frozenset[str] = frozenset()
    _task_numbers: frozenset[Decimal] = frozenset()
    _sources: dict[str, _Source] = field(default_factory=dict)
    _chars: int = 0
    _overflowed: bool = False

    def __post_init__(self) -> None:
        task = normalise(self.task)
        self._task_text = task.encode()
        self._task_words = words(task)
        self._task_numbers = _numbers_in(task)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(sorted(self._sources))

    def add(self, label: str, text: str, *, hostile: bool = False) -> None:
        """A tool result the agent has seen; ``hostile`` when a detector found an injection in it.

        Past ``max_source_chars`` the session keeps what it has and reads no more text as trusted
        context: a later value found nowhere is then judged as if it came from unread output, under
        the label ``unread``, so the bound never turns into trust.
        """
        body = normalise(text)
        budget = self.settings.max_source_chars - self._chars
        if len(body) > budget:
            self._overflowed = True
            body = body[: max(budget, 0)]
        self._chars += len(body)
        numbers = _numbers_in(body)
        found = words(body)
        encoded = body.encode()
        if label not in self._sources and len(self._sources) >= self.settings.max_sources:
            label = MANY_LABEL
        for name in (label, HOSTILE_LABEL) if hostile else (label,):
            self._sources.setdefault(name, _Source(name)).add(encoded, found, numbers)

    def _trusted(self, atom: str | Decimal, atom_words: frozenset[str]) -> bool:
        if isinstance(atom, Decimal):
            return atom in self._task_numbers
        return atom_words <= self._task_words and _contains(self._task_text, atom)

    def _found_in(self, atom: str | Decimal, atom_words: frozenset[str]) -> set[str]:
        if isinstance(atom, Decimal):
            found = {s.label for s in self._sources.values() if atom in s.numbers}
        else:
            found = {s.label for s in self._sources.values() if s.holds(atom, atom_words)}
        if not found and self._overflowed:
            found.add(UNREAD_LABEL)
        return found

    def provenance(self, arguments: Mapping[str, Any], extra_trusted: Iterable[str] = ()) -> Provenance:
        """The untrusted arguments of a call, with the sources their values could have come from."""
        trusted_extra = {normalise(t) for t in extra_trusted}
        tainted: list[TaintedArgument] = []
        from_user: list[str] = []
        for name, value in arguments.items():
            sources: set[str] = set()
            found = asked = 0
            for n, atom in enumerate(atoms(value, self.settings)):
                if n >= self.settings.max_atoms_per_argument:
                    sources.add(UNREAD_LABEL)  # not every part was looked at: not vouched for
                    break
                found += 1
                atom_words = words(atom) if isinstance(atom, str) else frozenset()
                if self._trusted(atom, atom_words):
                    asked += 1
                    continue
                if isinstance(atom, str) and atom in trusted_extra:
                    continue
                sources |= self._found_in(atom, atom_words)
            if sources:
                tainted.append(TaintedArgument(argument=_policy_name(name), sources=_at_most(sources)))
            elif found and asked == found and _ARGUMENT.match(name):
                from_user.append(name)
        return Provenance(untrusted=tuple(tainted), labels=self.labels, from_user=tuple(from_user))
