"""Builders shared by the policy tests: requests, grants and small packs, at one fixed time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from agentgov.core.validation import validate_model
from agentgov.policy import (
    ActionRequest,
    Decision,
    Grant,
    GrantUsage,
    Pack,
    PolicySet,
    ToolKind,
    evaluate,
)

NOW = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
AGENT = "agent-1"
USER = "alice"


def request(
    tool: str,
    server: str = "srv",
    *,
    venue: str = "private",
    untrusted: Mapping[str, Sequence[str]] | None = None,
    categories: Sequence[str] = (),
    agent_id: str = AGENT,
    user_id: str = USER,
    at: datetime = NOW,
    **arguments: Any,
) -> ActionRequest:
    taints = [{"argument": a, "sources": list(s)} for a, s in (untrusted or {}).items()]
    return validate_model(
        ActionRequest,
        {
            "agent_id": agent_id,
            "user_id": user_id,
            "action": {"tool": tool, "server": server},
            "arguments": arguments,
            "context": {
                "venue": venue,
                "time": at.isoformat(),
                "provenance": {"untrusted": taints},
                "data_categories": list(categories),
                "session_id": "s-1",
            },
        },
    )


def grant(tool: str = "*", server: str = "*", **fields: Any) -> Grant:
    doc: dict[str, Any] = {
        "id": "g-1",
        "grantor": USER,
        "agent_id": AGENT,
        "actions": [{"tool": tool, "server": server}],
        "venues": ["public", "private"],
        "not_before": (NOW - timedelta(days=1)).isoformat(),
        "expires_at": (NOW + timedelta(days=30)).isoformat(),
    }
    doc.update(fields)
    return validate_model(Grant, doc)


def pack(policies: str, tools: Mapping[str, Any] | None = None, **fields: Any) -> Pack:
    """A deployer's own pack; tools default to one side-effecting ``act`` and one read-only ``look``."""
    default_tools = {
        "act": {
            "kind": "side_effect",
            "groups": ["demo:write"],
            "arguments": {"amount": "Long", "to": "String"},
        },
        "look": {"kind": "read_only", "groups": ["demo:read"]},
    }
    doc = {
        "name": fields.pop("name", "demo"),
        "policies": policies,
        "tools": default_tools if tools is None else tools,
    }
    doc.update(fields)
    return validate_model(Pack, doc)


def policy_set(policies: str, tools: Mapping[str, Any] | None = None, **fields: Any) -> PolicySet:
    return PolicySet.build([pack(policies, tools, **fields)])


def decide(
    req: ActionRequest,
    ps: PolicySet | None,
    grants: Sequence[Grant] = (),
    usage: Mapping[str, GrantUsage] | None = None,
    *,
    kinds: Mapping[str, ToolKind] | None = None,
    shadow: bool = False,
) -> Decision:
    tool_classes = kinds if kinds is not None else (ps.tool_kinds if ps is not None else {})
    return evaluate(req, ps, grants, usage or {}, tool_classes=tool_classes, shadow=shadow)
