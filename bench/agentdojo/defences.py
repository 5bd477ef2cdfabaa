"""What a defence answers for each tool call of the replay, and the defences the benchmark ships.

A defence sees the user's prompt when a task begins, is asked about every call before it runs, and
reads every result that comes back (injected text included). ``ask`` and ``deny`` both stop the call:
with no user in the loop, an ask is an interruption the benchmark counts apart from a refusal.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol, TypeVar

from agentgov.policy import ToolKind, load_pack
from agentgov.policy.catalog import Catalog, ToolSpec

__all__ = [
    "AGENTDOJO_PACKS",
    "DEFENCES",
    "AllowAll",
    "Defence",
    "DefenceUnavailable",
    "DenySideEffects",
    "Verdict",
    "load_defence",
    "pack_catalog",
]

Verdict = Literal["allow", "ask", "deny"]
S = TypeVar("S")

# The shipped packs whose tool catalogues use AgentDojo's tool names.
AGENTDOJO_PACKS = ("payments", "email", "files", "web", "travel", "calendar")


class Defence(Protocol[S]):
    """A runtime guard under test; ``S`` is its per-task session."""

    name: str

    def begin(self, suite_name: str, user_task_prompt: str) -> S: ...

    def check_call(self, session: S, function_name: str, args: Mapping[str, object]) -> Verdict: ...

    def observe_result(
        self, session: S, function_name: str, args: Mapping[str, object], result_text: str
    ) -> None: ...


class DefenceUnavailable(Exception):
    """A defence that cannot be built in this installation (its module is missing)."""


class AllowAll:
    """No defence: every call runs (the unguarded baseline)."""

    name = "none"

    def begin(self, suite_name: str, user_task_prompt: str) -> None:
        return None

    def check_call(self, session: None, function_name: str, args: Mapping[str, object]) -> Verdict:
        return "allow"

    def observe_result(
        self, session: None, function_name: str, args: Mapping[str, object], result_text: str
    ) -> None:
        return None


class DenySideEffects:
    """Refuse every tool the catalogue does not declare read-only; an undeclared tool counts as acting."""

    name = "deny_side_effects"

    def __init__(self, tools: Mapping[str, ToolSpec]) -> None:
        self._read_only = frozenset(n for n, spec in tools.items() if spec.kind is ToolKind.READ_ONLY)

    def begin(self, suite_name: str, user_task_prompt: str) -> None:
        return None

    def check_call(self, session: None, function_name: str, args: Mapping[str, object]) -> Verdict:
        return "allow" if function_name in self._read_only else "deny"

    def observe_result(
        self, session: None, function_name: str, args: Mapping[str, object], result_text: str
    ) -> None:
        return None


def pack_catalog(names: tuple[str, ...] = AGENTDOJO_PACKS) -> Catalog:
    """The merged catalogue of the shipped packs ``names``."""
    return Catalog([load_pack(n) for n in names])


def _agentgov(factory: str = "make_defence") -> Defence[Any]:
    # The runtime guard (DESIGN.md "One tool call, end to end") is imported only when asked for, so the
    # benchmark runs where it is not installed; its adapter lives in ``agentgov_defence``.
    try:
        importlib.import_module("agentgov.guard")
    except ImportError as exc:
        raise DefenceUnavailable(
            f"agentgov: not available (agentgov.guard cannot be imported: {exc})"
        ) from exc
    try:
        adapter = importlib.import_module("bench.agentdojo.agentgov_defence")
    except ImportError as exc:
        raise DefenceUnavailable(
            f"agentgov: not available (no adapter bench.agentdojo.agentgov_defence: {exc})"
        ) from exc
    defence: Defence[Any] = getattr(adapter, factory)()
    return defence


DEFENCES: Mapping[str, Callable[[], Defence[Any]]] = {
    "none": AllowAll,
    "deny_side_effects": lambda: DenySideEffects(pack_catalog().tools),
    "agentgov": _agentgov,
    "agentgov_without_injection_detector": lambda: _agentgov("make_ablation"),
}


def load_defence(name: str) -> Defence[Any]:
    """The defence called ``name``; DefenceUnavailable when it cannot be built here."""
    if name not in DEFENCES:
        raise KeyError(f"no defence {name!r}; known: {', '.join(DEFENCES)}")
    return DEFENCES[name]()
