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
number). Values an agent writes itself (a message it composed) occur nowhere and stay trusted: the
question is only whether a value was *carried over* from untrusted text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from agentgov.policy.model import HOSTILE_SOURCE, Provenance, TaintedArgument

__all__ = ["HOSTILE_LABEL", "UNREAD_LABEL", "ProvenanceSettings", "SourceLog", "atoms", "normalise"]

HOSTILE_LABEL = HOSTILE_SOURCE  # a result carrying an injected instruction; never trusted
UNREAD_LABEL = "unread"  # output past the session's text bound: not read, so not vouched for
_SPACE = re.compile(r"\s+")
_ARGUMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")  # the names a policy can speak of
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d{1,18}(?:[.,]\d{1,8})?(?![\w])")


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


def _policy_name(name: str) -> str:
    """An argument name as policies and decisions can carry it (MCP allows any string)."""
    if _ARGUMENT.match(name):
        return name
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", name)[:63] or "_"
    return cleaned if not cleaned[0].isdigit() else f"_{cleaned}"


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


@dataclass
class _Source:
    """Everything read under one label: its texts joined by a separator no value holds, their numbers."""

    label: str
    text: str = ""
    numbers: set[Decimal] = field(default_factory=set)
    chars: list[int] = field(default_factory=list)  # length of each text, oldest first

    def add(self, body: str, numbers: frozenset[Decimal]) -> None:
        self.text = f"{self.text}\n\x00\n{body}" if self.text else body
        self.numbers |= numbers
        self.chars.append(len(body))


def _numbers_in(text: str) -> frozenset[Decimal]:
    found = set()
    for match in _NUMBER.finditer(text):
        number = _number(match.group())
        if number is not None:
            found.add(number)
    return frozenset(found)


def _contains(haystack: str, needle: str) -> bool:
    """``needle`` occurs in ``haystack`` and is not part of a longer word on either side."""
    start = haystack.find(needle)
    while start >= 0:
        end = start + len(needle)
        before = haystack[start - 1] if start else " "
        after = haystack[end] if end < len(haystack) else " "
        if not (before.isalnum() and needle[0].isalnum()) and not (after.isalnum() and needle[-1].isalnum()):
            return True
        start = haystack.find(needle, start + 1)
    return False


@dataclass
class SourceLog:
    """What one session has read: the user's request (trusted) and every tool result (labelled)."""

    task: str = ""
    settings: ProvenanceSettings = field(default_factory=ProvenanceSettings)
    _task_text: str = ""
    _task_numbers: frozenset[Decimal] = frozenset()
    _sources: dict[str, _Source] = field(default_factory=dict)
    _chars: int = 0
    _overflowed: bool = False

    def __post_init__(self) -> None:
        self._task_text = normalise(self.task)
        self._task_numbers = _numbers_in(self._task_text)

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
        for name in (label, HOSTILE_LABEL) if hostile else (label,):
            self._sources.setdefault(name, _Source(name)).add(body, numbers)

    def _trusted(self, atom: str | Decimal) -> bool:
        if isinstance(atom, Decimal):
            return atom in self._task_numbers
        return _contains(self._task_text, atom)

    def _found_in(self, atom: str | Decimal) -> set[str]:
        if isinstance(atom, Decimal):
            found = {s.label for s in self._sources.values() if atom in s.numbers}
        else:
            found = {s.label for s in self._sources.values() if _contains(s.text, atom)}
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
                if self._trusted(atom):
                    asked += 1
                    continue
                if isinstance(atom, str) and atom in trusted_extra:
                    continue
                sources |= self._found_in(atom)
            if sources:
                tainted.append(TaintedArgument(argument=_policy_name(name), sources=tuple(sorted(sources))))
            elif found and asked == found and _ARGUMENT.match(name):
                from_user.append(name)
        return Provenance(untrusted=tuple(tainted), labels=self.labels, from_user=tuple(from_user))
