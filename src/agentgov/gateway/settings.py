"""Limits of the MCP gateway, each with its reason (STYLE 6)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from agentgov.errors import InvalidInput

__all__ = ["GatewaySettings"]

_MIB = 1024 * 1024


@dataclass(frozen=True)
class GatewaySettings:
    # Trust on first use: the first time an upstream is seen (no pin at all), every tool it lists is
    # pinned as it is. Off, every tool of a new upstream waits for an operator's approval.
    pin_on_first_use: bool = True

    # A call that needs the user's approval waits this long for a decision taken elsewhere (console,
    # API, CLI) before the client is handed the approval id and told to retry: a model's tool call
    # should not hang for minutes, and most clients time a call out well before that.
    ask_wait_s: float = 20.0
    # A user shown the approval form in the client (elicitation) has this long to answer; past it the
    # approval stays pending and can still be decided elsewhere.
    elicitation_timeout_s: float = 300.0
    # Each call to the guard is bounded; a guard that does not answer in time fails closed (blocked).
    gate_timeout_s: float = 10.0

    # Spawning the upstream and completing its handshake (npx may first fetch a package).
    upstream_connect_timeout_s: float = 60.0
    # One request to the upstream, a tool call included; past it the client gets an error.
    upstream_call_timeout_s: float = 300.0
    # Pages of tools/list followed at most: an upstream whose cursor never ends cannot hang a session.
    max_tool_pages: int = 50
    # Tools one upstream may offer; beyond this the listing is refused (no client shows thousands).
    max_tools: int = 2000
    # A tool result larger than this (serialised) is blocked rather than handed to the model.
    max_result_bytes: int = 4 * _MIB

    # The approval prompt shows the arguments cut to this many characters; the full arguments stay
    # with the approval in the guard.
    argument_summary_chars: int = 600
    # Approvals one gateway remembers as answerable in the client (the call each one re-checks). A
    # session that asks again and again must not grow the gateway without bound: past this, the oldest
    # is forgotten, and answering it fails closed (the approval itself stays with the guard, decidable
    # elsewhere, and a retry of the same call asks for it again).
    max_pending_approvals: int = 1024

    # A request over this is refused before parsing: over streamable HTTP with 413; over stdio its line
    # is dropped whole (no answer: the client's call times out), see ``pipes``.
    max_request_bytes: int = 4 * _MIB
    # A downstream HTTP session idle this long is closed, with its upstream session and guard session.
    http_session_idle_s: float = 1800.0
    # How often idle HTTP sessions are looked for.
    http_reap_interval_s: float = 30.0
    # Downstream HTTP sessions open at once; each holds an upstream connection.
    http_max_sessions: int = 200

    # Resources and prompts do not pass through the guard (it decides tool calls), so they are not
    # offered downstream unless the operator chooses to.
    forward_resources: bool = False
    forward_prompts: bool = False

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool):
                continue
            if isinstance(value, int | float) and value < 0:
                raise InvalidInput(f"gateway setting {f.name} must not be negative", field=f.name)
        for name in (
            "max_tool_pages",
            "max_tools",
            "max_result_bytes",
            "max_request_bytes",
            "max_pending_approvals",
        ):
            if getattr(self, name) < 1:
                raise InvalidInput(f"gateway setting {name} must be at least 1", field=name)
        if self.http_session_idle_s <= 0 or self.http_reap_interval_s <= 0:
            raise InvalidInput("HTTP session idle and reap intervals must be positive")
