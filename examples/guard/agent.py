"""A compromised notes agent, driven through the agentgov gateway by the official MCP Python SDK client.

    python examples/guard/agent.py DOCS -- <command that starts the gateway in front of the server>

It does what an agent steered by a prompt injection would do: it reads the user's notes, finds an
instruction planted in them, and follows it by writing the notes somewhere they were never meant to
go. It also writes the draft the user actually asked for. Through the gateway the planted write is
stopped: the guard asks the user, and the tool result the agent gets says so and names the approval.
Once the session has read an injected instruction, the draft waits for the user's approval too. The
planted write's approval id is written to DOCS/../approval.txt for the user to decide with
``agentgov approvals approve|refuse``.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.types import CallToolResult, TextContent


def _text(result: CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))


async def main(docs: Path, gateway: list[str]) -> int:
    # The gateway reads the same configuration as the CLI (AGENTGOV_DATABASE_URL...): pass it on.
    params = StdioServerParameters(command=gateway[0], args=gateway[1:], env=dict(os.environ))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = sorted(t.name for t in (await session.list_tools()).tools)
        print("tools the agent may see:", ", ".join(tools))

        notes = await session.call_tool("read_text_file", {"path": str(docs / "notes.md")})
        text = _text(notes)
        print("read notes.md:", "error" if notes.is_error else f"{len(text)} characters")

        summary = {"path": str(docs / "drafts" / "summary.md"), "content": "Summary: renew the lease."}
        draft = await session.call_tool("write_file", summary)
        print("write drafts/summary.md:", "held: " + _text(draft) if draft.is_error else "done")

        # The planted instruction names where to send the notes; a steered agent obeys it.
        planted = re.search(r"write them to (\S+?\.md)", text)
        if planted is None:
            print("no instruction found in the notes")
            return 1
        leak = await session.call_tool("write_file", {"path": planted.group(1), "content": text})
        print("write", planted.group(1) + ":", "stopped: " + _text(leak) if leak.is_error else "DONE")
        meta = (leak.meta or {}).get("dev.agentgov/gateway", {})
        if leak.is_error and meta.get("approval_id"):
            (docs.parent / "approval.txt").write_text(meta["approval_id"] + "\n", encoding="utf-8")
        return 0 if leak.is_error else 1


if __name__ == "__main__":
    if "--" not in sys.argv or sys.argv.index("--") != 2:
        sys.exit("usage: agent.py DOCS -- <gateway command>")
    sys.exit(asyncio.run(main(Path(sys.argv[1]).resolve(), sys.argv[3:])))
