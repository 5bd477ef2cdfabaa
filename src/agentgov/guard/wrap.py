"""Guarding plain Python tool functions, for agents built in-process (no MCP in between).

``guarded(guard, session, send_money)`` returns a function with the same signature that asks the
guard first, runs the tool only when allowed (with the arguments the guard passed, redacted if asked),
and shows the result to the guard before returning it. A refusal raises :class:`ToolRefused`, whose
message is the reason a model can read and which names the approval to wait for when the guard asked.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from agentgov.errors import Forbidden
from agentgov.guard.pipeline import CallCheck, Guard
from agentgov.guard.session import GuardSession

__all__ = ["ToolRefused", "guarded"]

P = ParamSpec("P")
R = TypeVar("R")


class ToolRefused(Forbidden):
    """The guard did not allow the call: denied, or waiting for the user's approval."""

    code = "tool_call_refused"

    def __init__(self, check: CallCheck) -> None:
        super().__init__(check.reason or f"{check.tool} was refused")
        self.check = check
        self.approval_id = check.approval_id


def guarded(
    guard: Guard,
    session: GuardSession,
    tool: Callable[P, R],
    *,
    server: str = "python",
    name: str | None = None,
) -> Callable[P, R]:
    signature = inspect.signature(tool)
    tool_name = name or tool.__name__

    @functools.wraps(tool)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments: dict[str, Any] = dict(bound.arguments)
        check = guard.check_call(session, server, tool_name, arguments)
        if not check.allowed:
            raise ToolRefused(check)
        result = tool(**check.arguments)  # type: ignore[call-arg]
        guard.check_result(session, check, result)
        return result

    return call
