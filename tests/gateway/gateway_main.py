"""The real ``agentgov gateway`` command group with a scripted guard in place of the one the CLI wires,
for the tests only: ``python -m tests.gateway.gateway_main stdio --agent A --user U -- <server>``.

The guard allows every tool except ``delete_everything`` (blocked by a fence) and ``add`` (asks).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from agentgov.cli.gateway import build_gateway_group
from agentgov.gateway import GatewaySettings, Identity
from agentgov.gateway.port import Gate
from agentgov.gateway.testing import ScriptedGate

FENCE = "fence: no bulk deletes"


def scripted(ctx_obj: Any, identity: Identity, settings: GatewaySettings) -> AbstractContextManager[Gate]:
    return nullcontext(
        ScriptedGate(
            {"delete_everything": "block", "add": "ask"},
            default="allow",
            reasons={"delete_everything": FENCE},
        )
    )


if __name__ == "__main__":
    build_gateway_group(gate_factory=scripted)(prog_name="agentgov gateway")
