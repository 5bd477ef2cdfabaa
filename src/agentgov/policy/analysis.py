"""What each Cedar policy says beyond permit/forbid (its annotations), and what it reads.

Annotations carry the Art. 6 and Art. 7 meaning of a policy::

    @id("payments.unknown_payee")           stable id, reported in decisions
    @decision_class("user_authorized")      permit only: the class of the actions it matches
    @outcome("ask")                         permit: allow | ask | redact; forbid: deny | ask
    @redact("arguments.body, result.iban")  permit only: fields to redact (implies outcome redact)
    @reason("money goes only to ...")       what a person reads when the policy decides
    @trusted_sources("bank_statement")      permit only: provenance labels this action may act on

Any other annotation is refused: a misspelt ``@decison_class`` would otherwise be silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

from cedarpy import pst

from agentgov.policy.model import HOSTILE_SOURCE, LABEL_PATTERN, NEVER_TRUSTED, DecisionClass, Effect

__all__ = ["CALL_TIME", "AnnotationError", "PolicyMeta", "clause_reads", "context_reads", "read_policy"]

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
_FIELD = re.compile(r"^(?:arguments|result)(?:\.[A-Za-z0-9_*-]+)+$")
_LABEL = re.compile(LABEL_PATTERN)
_SPLIT = re.compile(r"[\s,]+")
KNOWN = frozenset({"id", "decision_class", "outcome", "redact", "reason", "trusted_sources"})
_OUTCOMES = {"permit": {"allow", "ask", "redact"}, "forbid": {"deny", "ask"}}
# Context attributes known only when a call is made, not when the tool list is shown.
CALL_TIME = frozenset({"args", "grant", "provenance", "data_categories"})
ALL = "*"


class AnnotationError(ValueError):
    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True, slots=True)
class PolicyMeta:
    id: str
    effect: str  # "permit" | "forbid", as written
    outcome: Effect
    decision_class: DecisionClass | None
    reason: str | None
    redact: tuple[str, ...]
    trusted_sources: frozenset[str]


def _words(value: str, pattern: re.Pattern[str], key: str) -> tuple[str, ...]:
    items = tuple(w for w in _SPLIT.split(value.strip()) if w)
    if not items or any(not pattern.match(w) for w in items):
        raise AnnotationError(f"@{key}({value!r}) is not a list of valid names", key)
    return items


def read_policy(template: pst.Template, fallback_id: str) -> PolicyMeta:
    notes: Mapping[str, str] = template.annotations
    if unknown := sorted(set(notes) - KNOWN):
        raise AnnotationError(
            f"unknown annotation @{unknown[0]} (known: {', '.join(sorted(KNOWN))})", unknown[0]
        )
    effect = template.effect
    pid = notes.get("id", fallback_id)
    if not _ID.match(pid):
        raise AnnotationError(f"@id({pid!r}) is not a valid id", "id")
    for key in ("decision_class", "redact", "trusted_sources"):
        if key in notes and effect != "permit":
            raise AnnotationError(f"@{key} belongs on a permit policy", key)
    redact = _words(notes["redact"], _FIELD, "redact") if "redact" in notes else ()
    default = ("redact" if redact else "allow") if effect == "permit" else "deny"
    outcome = notes.get("outcome", default)
    if outcome not in _OUTCOMES[effect]:
        raise AnnotationError(
            f"@outcome({outcome!r}) on {effect}: use one of {sorted(_OUTCOMES[effect])}", "outcome"
        )
    if (outcome == "redact") != bool(redact):
        raise AnnotationError('@outcome("redact") and @redact(...) go together', "redact")
    try:
        decision_class = DecisionClass(notes["decision_class"]) if "decision_class" in notes else None
    except ValueError:
        raise AnnotationError(
            f"@decision_class({notes['decision_class']!r}): use one of {[c.value for c in DecisionClass]}",
            "decision_class",
        ) from None
    reason = notes.get("reason")
    if reason is not None and not 0 < len(reason) <= 500:
        raise AnnotationError("@reason is 1 to 500 characters", "reason")
    trusted = notes.get("trusted_sources")
    named = set(_words(trusted, _LABEL, "trusted_sources")) if trusted else set()
    if HOSTILE_SOURCE in named:
        raise AnnotationError(
            f"@trusted_sources may not name {HOSTILE_SOURCE!r}: a value an injected instruction planted "
            "is never trusted",
            "trusted_sources",
        )
    if named & NEVER_TRUSTED:
        raise AnnotationError(
            f"@trusted_sources may not name {sorted(named & NEVER_TRUSTED)}: output that was not read, or "
            "not told apart from other tools', is never trusted",
            "trusted_sources",
        )
    return PolicyMeta(
        id=pid,
        effect=effect,
        outcome=Effect(outcome),
        decision_class=decision_class,
        reason=reason,
        redact=redact,
        trusted_sources=frozenset(named),
    )


def _walk(node: Any, parent: Any = None, grand: Any = None) -> Iterator[tuple[Any, Any, Any]]:
    """Every PST node under ``node``, with its parent and grandparent nodes."""
    if isinstance(node, Mapping):
        for value in node.values():
            yield from _walk(value, parent, grand)
    elif isinstance(node, tuple):
        for value in node:
            yield from _walk(value, parent, grand)
    elif is_dataclass(node) and not isinstance(node, type):
        yield node, parent, grand
        for f in fields(node):
            yield from _walk(getattr(node, f.name), node, parent)


def _accessed(node: Any, parent: Any) -> tuple[str, ...]:
    """The attribute path ``parent`` reads from ``node`` (empty if ``parent`` is not an access on it)."""
    if isinstance(parent, pst.GetAttr) and parent.base is node:
        return (parent.attr,)
    if isinstance(parent, pst.HasAttr) and parent.base is node:
        return parent.attrs
    return ()


def context_reads(nodes: Iterable[Any]) -> dict[str, frozenset[str]]:
    """What the nodes read of ``context``: attribute -> the attributes read inside it.

    ``"*"`` stands for everything: as a key, the whole context is used; in a value, the whole record.
    """
    reads: dict[str, set[str]] = {}
    for node, parent, grand in _walk(tuple(nodes)):
        if not (isinstance(node, pst.Var) and node.name == "context"):
            continue
        path = _accessed(node, parent)
        if not path:
            reads.setdefault(ALL, set()).add(ALL)
        elif len(path) > 1:
            reads.setdefault(path[0], set()).add(path[1])
        else:
            inner = _accessed(parent, grand) if isinstance(parent, pst.GetAttr) else ()
            reads.setdefault(path[0], set()).add(inner[0] if inner else ALL)
    return {key: frozenset(value) for key, value in reads.items()}


def clause_reads(clause: pst.When | pst.Unless) -> frozenset[str]:
    return frozenset(context_reads((clause,)))
