"""Tool pinning (Art. 9: extension tools are inventoried, pinned and watched), pure.

A tool of an upstream MCP server is pinned by the digest of its whole definition: the SHA-256 of the
RFC 8785 canonical JSON of the tool as listed (name, title, description, schemas, annotations, icons,
``_meta``). A definition that differs from its pin (a description rewritten to carry instructions, a
schema widened, the "rug pull" of a server that changes after it was trusted) and a tool never pinned
are refused until an operator approves them. :func:`review` compares what an upstream lists now with
its pins and says which tools may be offered, why the others are refused, and which differences are
not yet noted (each is put on the record once).
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from mcp.types import Tool

from agentgov.core.digest import digest_json
from agentgov.errors import InvalidInput

__all__ = [
    "Pin",
    "PinReport",
    "ToolChange",
    "ToolChangeKind",
    "review",
    "short_digest",
    "tool_definition",
    "tool_digest",
]

# new: listed, never approved; changed: listed, differs from its pin; removed: pinned or noted, no
# longer listed; restored: listed as pinned again after a noted change or removal.
ToolChangeKind = Literal["new", "changed", "removed", "restored"]


def tool_definition(tool: Tool) -> dict[str, Any]:
    """The definition that is pinned: the tool exactly as the MCP wire carries it."""
    return tool.model_dump(mode="json", exclude_none=True, by_alias=True)


def tool_digest(tool: Tool) -> str:
    """``sha256:<hex>`` of the RFC 8785 canonical JSON of the tool's definition."""
    return digest_json(tool_definition(tool))


def short_digest(digest: str | None) -> str:
    return "none" if digest is None else digest[:19]


@dataclass(frozen=True, slots=True)
class Pin:
    """What the store holds for one tool of one upstream."""

    tool: str
    digest: str | None  # the approved definition; None while a new tool awaits its first approval
    observed_digest: str | None = None  # a different definition, noted and awaiting approval
    removed: bool = False  # noted as no longer listed


@dataclass(frozen=True, slots=True)
class ToolChange:
    """A difference between what an upstream lists and its pins, to note and record once."""

    tool: str
    kind: ToolChangeKind
    digest: str | None  # the definition listed now; None when removed
    pinned_digest: str | None
    definition: dict[str, Any] | None = field(default=None, compare=False)

    def payload(self, server: str) -> dict[str, Any]:
        return {
            "server": server,
            "tool": self.tool,
            "change": self.kind,
            "digest": self.digest,
            "pinned_digest": self.pinned_digest,
        }


@dataclass(frozen=True, slots=True)
class PinReport:
    allowed: tuple[Tool, ...]  # pinned and unchanged, in the upstream's order
    refused: Mapping[str, str]  # tool name -> the reason, readable by a model
    changes: tuple[ToolChange, ...]  # differences the store has not noted yet
    first_use: Mapping[str, dict[str, Any]]  # nothing pinned yet and trusted on first use: name -> definition
    digests: Mapping[str, str]  # tool name -> digest of the definition listed now


def _approve_hint(server: str, tool: str) -> str:
    command = f"agentgov gateway pins approve --server {shlex.quote(server)} {shlex.quote(tool)}"
    return f"an operator must approve it ({command})"


def _refusal(server: str, tool: str, digest: str, pin: Pin | None) -> str:
    if pin is None or pin.digest is None:
        return f"tool {tool!r} of server {server!r} has not been approved; " + _approve_hint(server, tool)
    return (
        f"tool {tool!r} of server {server!r} changed since it was approved (definition "
        f"{short_digest(digest)}, approved {short_digest(pin.digest)}); refused until "
        + _approve_hint(server, tool)
    )


def review(
    server: str, pins: Mapping[str, Pin], tools: Sequence[Tool], *, pin_on_first_use: bool
) -> PinReport:
    """Compare the tools ``server`` lists now with its ``pins``."""
    refused: dict[str, str] = {}
    digests: dict[str, str] = {}
    definitions: dict[str, dict[str, Any]] = {}
    counts = Counter(t.name for t in tools)
    for tool in tools:
        if counts[tool.name] > 1:
            refused[tool.name] = f"tool {tool.name!r} of server {server!r} is listed more than once; refused"
            continue
        try:
            definitions[tool.name] = tool_definition(tool)
            digests[tool.name] = digest_json(definitions[tool.name])
        except InvalidInput:
            refused[tool.name] = (
                f"tool {tool.name!r} of server {server!r} has a definition that cannot be pinned"
            )
    listed = [t for t in tools if t.name in digests]

    if not pins and pin_on_first_use:
        first = {t.name: definitions[t.name] for t in listed}
        return PinReport(tuple(listed), refused, (), first, digests)

    allowed: list[Tool] = []
    changes: list[ToolChange] = []
    for tool in listed:
        name, digest = tool.name, digests[tool.name]
        pin = pins.get(name)
        if pin is not None and pin.digest == digest:
            allowed.append(tool)
            if pin.observed_digest is not None or pin.removed:
                changes.append(ToolChange(name, "restored", digest, pin.digest))
            continue
        refused[name] = _refusal(server, name, digest, pin)
        if pin is None or pin.observed_digest != digest or pin.removed:
            kind: ToolChangeKind = "new" if pin is None or pin.digest is None else "changed"
            pinned = None if pin is None else pin.digest
            changes.append(ToolChange(name, kind, digest, pinned, definitions[name]))
    for name, pin in pins.items():
        if name not in counts and not pin.removed:
            changes.append(ToolChange(name, "removed", None, pin.digest))
    return PinReport(tuple(allowed), refused, tuple(changes), {}, digests)
