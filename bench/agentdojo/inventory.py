"""Every tool of each AgentDojo suite beside what the agentgov packs declare about it.

For a declared tool the inventory also says where the pack's typing and the tool disagree: arguments
the pack types that the tool does not take, arguments typed with a Cedar type the tool's JSON Schema
type cannot carry, and arguments the tool takes that the pack leaves untyped (which no fence can read).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agentgov.policy import ArgType, load_pack
from agentgov.policy.catalog import Catalog
from bench.agentdojo.defences import AGENTDOJO_PACKS
from bench.agentdojo.dojo import DojoSuite, ToolInfo

__all__ = ["tool_inventory"]

# The JSON Schema types a value of each Cedar argument type may arrive as (catalog.to_cedar).
_CARRIES: Mapping[ArgType, frozenset[str]] = {
    "String": frozenset({"string"}),
    "Long": frozenset({"integer"}),
    "decimal": frozenset({"number", "integer", "string"}),
    "Bool": frozenset({"boolean"}),
    "Set<String>": frozenset({"array", "string"}),
}


def _disagreements(tool: ToolInfo, typed: Mapping[str, ArgType]) -> dict[str, Any]:
    taken = {name.rstrip("?"): set(kinds.split("|")) - {"null"} for name, kinds in tool.parameters.items()}
    out: dict[str, Any] = {}
    if not_taken := sorted(set(typed) - set(taken)):
        out["pack_arguments_not_taken"] = not_taken
    if mistyped := {
        a: f"{t} vs {'|'.join(sorted(taken[a]))}"
        for a, t in typed.items()
        if a in taken and not taken[a] & _CARRIES[t]
    }:
        out["pack_argument_type_mismatch"] = mistyped
    if untyped := sorted(set(taken) - set(typed)):
        out["untyped_arguments"] = untyped
    return out


def tool_inventory(suites: Sequence[DojoSuite], packs: Sequence[str] = AGENTDOJO_PACKS) -> dict[str, Any]:
    """Per suite, each tool with its parameters and its declaration in ``packs`` (kind, groups, which
    packs, disagreements with the tool's parameters); and per suite the tools no pack declares."""
    loaded = [load_pack(n) for n in packs]
    catalog = Catalog(loaded)  # refuses packs that declare one tool differently
    per_suite: dict[str, list[dict[str, Any]]] = {}
    missing: dict[str, list[str]] = {}
    for suite in suites:
        rows: list[dict[str, Any]] = []
        for tool in suite.tools:
            spec = catalog.tools.get(tool.name)
            row: dict[str, Any] = {
                "tool": tool.name,
                "parameters": tool.parameters,
                "declared": spec is not None,
                "packs": [p.name for p in loaded if tool.name in p.tools],
            }
            if spec is not None:
                row["kind"] = spec.kind.value
                row["groups"] = list(spec.groups)
                row["typed_arguments"] = dict(spec.arguments)
                row.update(_disagreements(tool, spec.arguments))
            rows.append(row)
        per_suite[suite.name] = rows
        missing[suite.name] = [r["tool"] for r in rows if not r["declared"]]
    return {"packs": list(packs), "suites": per_suite, "undeclared": missing}
