"""Behaviour fences (Art. 7): a checked Cedar policy set, parsed once and evaluated many times.

To learn every policy a request satisfies, and not only the ones that decide Cedar's allow/deny, the
engine holds the policies with their effect turned to ``permit``: Cedar then reports all satisfied
policies at once, and :mod:`agentgov.policy.decide` combines them by their written effect and
annotations. A policy that fails to evaluate is reported as an error, and counted against the request.

Each tool gets its own slice of the set: the policies whose action scope can match it (any action,
the tool, or a group it belongs to), and a context holding only what those policies read. A policy
outside the slice cannot be satisfied by the tool, and what no policy reads cannot change a decision;
building the Cedar context and evaluating policies that cannot apply are most of the cost otherwise.
Tools no pack declares share one slice: the policies written for any action.

What Cedar answers depends on nothing but the set (immutable), its entities (loaded with it) and the
request: the agent, the tool, the server and that context. A set remembers its last answers, keyed by
exactly those, so that an agent repeating a call of the same shape (the same facts in the context the
slice reads) costs a dictionary lookup instead of a call into Cedar. Contexts longer than
``_MEMO_CONTEXT_CHARS`` (an argument a fence reads carried whole) and answers with an engine error are
not kept; ``remembering(0)`` gives a set that keeps none (the benchmarks measure Cedar that way).
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import cedarpy
from cedarpy import pst

from agentgov.policy.analysis import ALL, CALL_TIME, PolicyMeta, clause_reads, context_reads
from agentgov.policy.catalog import ArgType, DerivedSpec, Pack
from agentgov.policy.cedar_context import SESSION_READS, call_context, session_context
from agentgov.policy.loader import Loaded, load
from agentgov.policy.model import ActionRef, ActionRequest, DecisionClass, Effect, RequestContext, ToolKind

__all__ = ["CedarMatch", "PolicySet"]

_ERROR_POLICY = re.compile(r"policy `([^`]+)`")


@dataclass(frozen=True, slots=True)
class CedarMatch:
    satisfied: tuple[PolicyMeta, ...]
    failed: tuple[PolicyMeta, ...]  # policies that could not be evaluated
    engine_errors: tuple[str, ...]  # errors not tied to a policy: the whole evaluation is in doubt


@dataclass(frozen=True, slots=True)
class _Slice:
    """The policies that can match one tool, and the context they read."""

    always: tuple[PolicyMeta, ...]  # no condition and no principal or resource scope: always satisfied
    engine: cedarpy.PolicySet | str | None  # the other policies, each as a permit; None when there are none
    order: tuple[str, ...]  # their ids, in the order Cedar numbers them when given text
    reads: Mapping[str, frozenset[str]]
    args: tuple[tuple[str, ArgType], ...]
    derived: tuple[tuple[str, DerivedSpec], ...]
    unmet: CedarMatch  # the match when Cedar finds no other policy satisfied and no error


_UNDECLARED = ""  # the slice key shared by every tool no pack declares
MEMO_SIZE = 4096  # Cedar answers a set keeps (see the module's docstring)
_MEMO_CONTEXT_CHARS = 1024  # bounds the memory: 4,096 keys of at most about 1 KiB each


def _static_set(policies: Mapping[str, pst.Template]) -> cedarpy.PolicySet:
    tree = pst.PolicySet(
        templates=pst.FrozenMap(), static_policies=pst.FrozenMap(policies), template_links=()
    )
    return cedarpy.PolicySet.from_pst(tree)


def _in_scope(template: pst.Template, names: frozenset[str]) -> bool:
    scope = template.action
    if isinstance(scope, pst.ActionEq):
        return scope.entity.id in names
    if isinstance(scope, pst.ActionIn):
        return any(uid.id in names for uid in scope.entities)
    return True


def _as_permit(pid: str, template: pst.Template) -> pst.Template:
    """The policy with its effect turned to permit and only its id kept as an annotation."""
    return dataclasses.replace(template, id=pid, effect="permit", annotations=pst.FrozenMap({"id": pid}))


def _unconditional(template: pst.Template) -> bool:
    return (
        not template.clauses
        and isinstance(template.principal, pst.ScopeAny)
        and isinstance(template.resource, pst.ScopeAny)
    )


def _visibility_set(loaded: Loaded) -> cedarpy.PolicySet:
    """What may be shown before any call: permits without their call-time conditions (they might hold),
    and the hard forbids that depend on nothing known only at call time (they will hold)."""
    kept: dict[str, pst.Template] = {}
    for pid, t in loaded.templates.items():
        meta = loaded.metas[pid]
        timeless = [c for c in t.clauses if not (clause_reads(c) & (CALL_TIME | {ALL}))]
        if meta.effect == "permit":
            kept[pid] = dataclasses.replace(t, id=pid, clauses=tuple(timeless))
        elif meta.outcome is Effect.DENY and len(timeless) == len(t.clauses):
            kept[pid] = dataclasses.replace(t, id=pid)
    return _static_set(kept)


class PolicySet:
    """A loaded, checked, digested set of fences. Immutable; build with :meth:`build`."""

    def __init__(self, loaded: Loaded, *, text_each_time: bool = False, memo: int = MEMO_SIZE) -> None:
        self._loaded = loaded
        self._text_each_time = text_each_time
        if memo < 0:
            raise ValueError("a memo keeps 0 or more answers")
        self._memo_size = memo
        self._memo: dict[tuple[str, str, str, str], CedarMatch] = {}
        self._memo_lock = threading.Lock()
        self.digest = loaded.digest
        self.metas: Mapping[str, PolicyMeta] = loaded.metas
        self.catalog = loaded.catalog
        self._entities = loaded.entities
        self._visibility = _visibility_set(loaded)
        self._slices: dict[str, _Slice] = {}
        self._rank = {pid: i for i, pid in enumerate(loaded.templates)}
        self.tool_kinds: Mapping[str, ToolKind] = MappingProxyType(loaded.catalog.tool_kinds)

    def _slice(self, tool: str) -> _Slice:
        key = tool if tool in self.catalog.tools else _UNDECLARED
        found = self._slices.get(key)
        if found is None:
            found = self._slices[key] = self._make_slice(key)
        return found

    def _make_slice(self, tool: str) -> _Slice:
        spec = self.catalog.tools.get(tool)
        names = frozenset((tool, *spec.groups)) if spec else frozenset()
        if self._text_each_time:  # the naive way, for comparison: the whole set, parsed per decision
            in_scope, always = dict(self._loaded.templates), []
        else:
            in_scope = {pid: t for pid, t in self._loaded.templates.items() if _in_scope(t, names)}
            # The action scope already holds for every policy in the slice: one with no other scope and
            # no condition is satisfied without asking Cedar.
            always = [pid for pid, t in in_scope.items() if _unconditional(t)]
        templates = {pid: t for pid, t in in_scope.items() if pid not in always}
        engine: cedarpy.PolicySet | str | None = None
        if templates and self._text_each_time:
            # One policy at a time, so that Cedar's positional ids (policy0, ...) follow ``order``.
            engine = "\n".join(str(_static_set({pid: _as_permit(pid, t)})) for pid, t in templates.items())
        elif templates:
            engine = _static_set({pid: _as_permit(pid, t) for pid, t in templates.items()})
        reads = context_reads(templates.values())
        if ALL in reads:
            reads = {key: frozenset({ALL}) for key in ("venue", "user", "time", *CALL_TIME)}
        wanted = reads.get("args", frozenset())
        every = ALL in wanted
        met = tuple(self.metas[pid] for pid in always)  # in load order, as ``match`` reports them
        return _Slice(
            always=met,
            engine=engine,
            order=tuple(templates),
            reads=reads,
            args=tuple((a, t) for a, t in (spec.arguments.items() if spec else ()) if every or a in wanted),
            derived=tuple((d, s) for d, s in (spec.derived.items() if spec else ()) if every or d in wanted),
            unmet=CedarMatch(met, (), ()),
        )

    @classmethod
    def build(cls, packs: Sequence[Pack], *, settings: Mapping[str, Any] | None = None) -> PolicySet:
        """Check and load ``packs``; InvalidPolicy (with position) or InvalidPack when they are wrong."""
        return cls(load(packs, settings or {}))

    @classmethod
    def empty(cls) -> PolicySet:
        """A set with no policy: it denies everything."""
        return cls.build([])

    def reparsing(self) -> PolicySet:
        """The same set evaluated the naive way, to measure what parsing once and slicing save: every
        decision hands Cedar the text of the whole set to parse, and nothing is remembered. Decisions
        are identical."""
        return PolicySet(self._loaded, text_each_time=True, memo=0)

    def remembering(self, size: int) -> PolicySet:
        """The same set keeping at most ``size`` of Cedar's answers; 0 asks Cedar every time (what a
        request of a new shape costs)."""
        return PolicySet(self._loaded, memo=size)

    @property
    def is_empty(self) -> bool:
        return not self.metas

    def user_only_tools(self) -> frozenset[str]:
        """Tools a ``user_only`` policy names in its action scope (directly or by group): never granted."""
        out: set[str] = set()
        for pid, meta in self.metas.items():
            if meta.decision_class is not DecisionClass.USER_ONLY:
                continue
            scope = self._loaded.templates[pid].action
            uids = (scope.entity,) if isinstance(scope, pst.ActionEq) else getattr(scope, "entities", ())
            for uid in uids:
                out.update(self.catalog.groups.get(uid.id, {uid.id}))
        return frozenset(out)

    # -- evaluation -----------------------------------------------------------------------------------

    def _ranked(self, meta: PolicyMeta) -> int:
        return self._rank[meta.id]

    def _policy_id(self, cut: _Slice, name: str) -> str | None:
        if name in self.metas:
            return name
        if isinstance(cut.engine, str) and name.startswith("policy") and name[6:].isdigit():
            index = int(name[6:])
            return cut.order[index] if index < len(cut.order) else None
        return None

    def match(self, request: ActionRequest, *, grant_covered: bool, pinned: frozenset[str]) -> CedarMatch:
        """The policies ``request`` satisfies, and those that failed to evaluate.

        Raises CedarTypeError when an argument a fence reads is not of its declared type.
        """
        action = request.action
        cut = self._slice(action.tool)
        if cut.engine is None:
            return cut.unmet
        context = call_context(
            cut.reads, cut.args, cut.derived, request, covered=grant_covered, pinned=pinned
        )
        key = (request.agent_id, action.tool, action.server, context)
        remembered = self._memo.get(key)
        if remembered is not None:
            return remembered
        found = self._ask_cedar(cut, cut.engine, request.agent_id, action, context)
        if self._memo_size and not found.engine_errors and len(context) <= _MEMO_CONTEXT_CHARS:
            with self._memo_lock:
                self._memo[key] = found
                while len(self._memo) > self._memo_size:  # the oldest first (insertion order)
                    del self._memo[next(iter(self._memo))]
        return found

    def _ask_cedar(
        self, cut: _Slice, policies: cedarpy.PolicySet | str, agent_id: str, action: ActionRef, context: str
    ) -> CedarMatch:
        cedar_request = {
            "principal": {"type": "Agent", "id": agent_id},
            "action": {"type": "Action", "id": action.tool},
            "resource": {"type": "Server", "id": action.server},
            "context": context,
        }
        diagnostics = cedarpy.is_authorized(cedar_request, policies, self._entities).diagnostics
        reasons, errors = diagnostics.reasons, diagnostics.errors
        if not reasons and not errors:
            return cut.unmet
        by_annotation = diagnostics.id_annotations_by_reason
        satisfied = [self.metas[p] for r in reasons if (p := by_annotation.get(r, r)) in self.metas]
        failed: list[PolicyMeta] = []
        engine: list[str] = []
        for error in errors:
            m = _ERROR_POLICY.search(error)
            pid = self._policy_id(cut, m.group(1)) if m else None
            if pid is None:
                engine.append(error)
            else:
                failed.append(self.metas[pid])
        if len(satisfied) != len(reasons):
            engine.append("Cedar reported a policy this set does not hold")
        # Cedar reports in no fixed order; decisions list policies in load order, whatever the process.
        everything = sorted((*cut.always, *satisfied), key=self._ranked)
        return CedarMatch(tuple(everything), tuple(sorted(failed, key=self._ranked)), tuple(engine))

    def visible(
        self, agent_id: str, user_id: str, context: RequestContext, tools: Sequence[ActionRef]
    ) -> tuple[ActionRef, ...]:
        """The tools some policy may allow this agent to call here and now (hard forbids hide a tool).

        Art. 8 permission management: an agent is not offered what it may not use in this venue.
        """
        if not tools or self.is_empty:
            return ()
        ctx = json.dumps(session_context(SESSION_READS, user_id, context), separators=(",", ":"))
        requests = [
            {
                "principal": {"type": "Agent", "id": agent_id},
                "action": {"type": "Action", "id": t.tool},
                "resource": {"type": "Server", "id": t.server},
                "context": ctx,
            }
            for t in tools
        ]
        results = cedarpy.is_authorized_batch(requests, self._visibility, self._loaded.entities)
        return tuple(t for t, r in zip(tools, results, strict=True) if r.allowed and not r.diagnostics.errors)
