"""The Cedar context of a request, holding only what the policies that can match it read.

Context shape (the schema in :mod:`agentgov.policy.catalog` declares it)::

    venue            Venue::"public" | "private" | "special"
    user             User::"<user id>"
    time             { epoch, hour, weekday }            UTC; weekday 1 = Monday (ISO 8601)
    provenance       { untrusted_args, sources }         argument names, source labels
    data_categories  Set<String>
    grant            { covered, pinned }                 a live grant covers the call; arguments it fixes
    args             the arguments the tool's manifest types, and the facts derived from them
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from agentgov.policy.analysis import ALL
from agentgov.policy.catalog import ArgType, CedarTypeError, DerivedSpec, to_cedar
from agentgov.policy.model import ActionRequest, RequestContext

__all__ = ["SESSION_READS", "Reads", "call_context", "session_context"]

Reads = Mapping[str, frozenset[str]]
SESSION_READS: Reads = {"venue": frozenset({ALL}), "user": frozenset({ALL}), "time": frozenset({ALL})}
# Built once: ``json.dumps`` with any option set builds a new encoder on every call.
_to_json = json.JSONEncoder(separators=(",", ":")).encode


def _entity(kind: str, eid: str) -> dict[str, Any]:
    return {"__entity": {"type": kind, "id": eid}}


def _pick(wanted: frozenset[str], **record: Any) -> dict[str, Any]:
    """The attributes of a context record that some policy reads (all of them for ``"*"``)."""
    return record if ALL in wanted else {k: v for k, v in record.items() if k in wanted}


def session_context(reads: Reads, user_id: str, context: RequestContext) -> dict[str, Any]:
    """What is known before any call: venue, user and time."""
    ctx: dict[str, Any] = {}
    if "venue" in reads:
        ctx["venue"] = _entity("Venue", context.venue.value)
    if "user" in reads:
        ctx["user"] = _entity("User", user_id)
    if (wanted := reads.get("time")) is not None:
        t = context.time
        ctx["time"] = _pick(wanted, epoch=int(t.timestamp()), hour=t.hour, weekday=t.isoweekday())
    return ctx


def _arguments(
    args: tuple[tuple[str, ArgType], ...],
    derived: tuple[tuple[str, DerivedSpec], ...],
    tool: str,
    arguments: Mapping[str, Any],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, kind in args:
        value = arguments.get(name)
        if value is not None:  # JSON null is an argument left out
            try:
                out[name] = to_cedar(kind, value)
            except CedarTypeError as exc:
                raise CedarTypeError(f"argument {name!r} of {tool} is {exc}") from exc
    for name, spec in derived:
        out[name] = spec.compute(arguments)
    return out


def call_context(
    reads: Reads,
    args: tuple[tuple[str, ArgType], ...],
    derived: tuple[tuple[str, DerivedSpec], ...],
    request: ActionRequest,
    *,
    covered: bool,
    pinned: frozenset[str],
) -> str:
    """The context of one call, as the JSON text Cedar takes.

    Raises CedarTypeError when an argument a policy reads is not of the type its manifest declares.
    """
    ctx = session_context(reads, request.user_id, request.context)
    if (wanted := reads.get("provenance")) is not None:
        prov = request.context.provenance
        ctx["provenance"] = _pick(
            wanted,
            untrusted_args=sorted({u.argument for u in prov.untrusted}),
            sources=sorted({s for u in prov.untrusted for s in u.sources}.union(prov.labels)),
            user_args=sorted(prov.from_user),
        )
    if "data_categories" in reads:
        ctx["data_categories"] = list(request.context.data_categories)
    if (wanted := reads.get("grant")) is not None:
        ctx["grant"] = _pick(wanted, covered=covered, pinned=sorted(pinned))
    if "args" in reads:
        ctx["args"] = _arguments(args, derived, request.action.tool, request.arguments)
    return _to_json(ctx)
