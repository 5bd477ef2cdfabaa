"""Transport overhead of the MCP gateway: tool-call latency direct, and through the stdio gateway.

::

    python -m bench.gateway [--n 2000] [--warmup 200] [--concurrency 8]

One SDK client process (this one); on each path, its own copy of a Python stdio MCP server with a
trivial ``echo`` tool; each gateway in its own process. Three sessions:

- straight to the server (``direct_*``);
- through the gateway with the real guard (``gateway_*``), exactly as ``agentgov gateway stdio`` runs
  it: a migrated SQLite store with the agent registered, the baseline pack plus a pack declaring
  ``echo`` a side effect, the user's grant covering it, registry status, detectors on arguments and
  result, provenance, the Cedar decision, and the decision committed to the ledger outbox before the
  call proceeds;
- through the gateway with :class:`UnsafeAllowAllGate` (``transport_*``), which decides nothing and
  isolates the MCP transport's own cost.

The targets compare the first two: ``--n`` calls, one at a time, alternating between the direct path
and the guard's gateway, each taking each place in turn, so that both see the same machine load. The
allow-all gateway is measured after, the same way against the direct path (``transport_direct_*``):
as a third path in the same rounds it would put one more process between two calls of the others and
slow both (see docs/guard.md, "Latency"), a load that the client and server measured here do not
have. Tools are pinned on first use and checked on every call on both gateway paths. Then a burst of
calls through the guard gateway with ``--concurrency`` calls in flight measures ``calls_per_s``.

``added_*`` are the gateway percentiles minus the direct ones; on a machine shared with other work they
grow with its load, ``gateway_cpu_ms_per_call`` (the gateway process's CPU time per call) much less;
``transport_cpu_ms_per_call`` is the same for the allow-all gateway, so their difference is the guard's
own CPU time per call. ``gateway_rss_mb`` is the gateway process's peak resident set (``VmHWM`` in
``/proc/<pid>/status``). Targets: added p50 <= 2 ms, added p99 <= 10 ms, gateway RSS <= 200 MB. The
last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
from mcp import ClientSession, StdioServerParameters, stdio_client, types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from agentgov.approvals.wiring import open_authority
from agentgov.cli.gateway import opened_gate
from agentgov.core.clock import SystemClock, isoformat_z
from agentgov.core.heap import freeze_startup_heap
from agentgov.db import make_engine, upgrade
from agentgov.gateway import (
    CallVerdict,
    Gate,
    GatewaySettings,
    Identity,
    ResultVerdict,
    SqlPinStore,
    serve_stdio,
    stdio_upstream,
)
from agentgov.gateway.tables import gateway_metadata
from agentgov.identity.apikeys import Principal, Role
from agentgov.policy.store import MemoryRecorder
from agentgov.policy.versions import PolicyMode, PolicySource
from agentgov.registry.service import RegistryService
from agentgov.registry.store import RegistryStore
from bench._common import percentile, print_result, progress

_ORG = {
    "name": "Bench Org",
    "domain": "bench.example",
    "country": "CN",
    "legal_id": "91110108MA01ABCD1E",
    "contacts": [{"name": "Ops", "email": "ops@bench.example"}],
    "owners": ["Ops"],
    "sponsors": ["Bench"],
}
_DECLARATION = {
    "display_name": "Echo",
    "description": "Echoes messages.",
    "skills": [{"id": "echo", "name": "Echo", "tags": ["echo"]}],
    "interfaces": [{"protocol": "mcp", "url": "https://bench.example/mcp", "binding": "stdio"}],
    "deployment": {"mode": "cloud"},
    "application_domains": ["software"],
    "data_categories": [],
}
_ECHO = types.Tool(
    name="echo",
    description="Echo the message back.",
    input_schema={"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]},
)


# The upstream: a trivial echo server ---------------------------------------------------------------


async def _list_tools(
    ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
) -> Any:
    return types.ListToolsResult(tools=[_ECHO])


async def _call_tool(ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams) -> Any:
    message = str((params.arguments or {}).get("message", ""))
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)])


def echo_server() -> Server[Any]:
    """The trivial upstream: one ``echo`` tool."""
    return Server("bench-echo", version="1", on_list_tools=_list_tools, on_call_tool=_call_tool)


async def serve_echo() -> None:
    server = echo_server()
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


# The gateway, with a stand-in gate -----------------------------------------------------------------


class UnsafeAllowAllGate:
    """Allows every call. A stand-in for the guard, to measure the gateway's transport overhead only.

    It answers checks inline, as the guard does when it serves one session over SQLite, so that the two
    gateways differ only by the guard's own work."""

    answers_inline = True

    async def open_session(self, *, agent_id: str, user_id: str, task: str | None) -> str:
        return "bench-session"

    async def visible_tools(self, session: str, server: str, tools: list[types.Tool]) -> list[types.Tool]:
        await anyio.lowlevel.checkpoint()
        return tools

    async def check_call(
        self, session: str, server: str, tool: str, arguments: dict[str, Any]
    ) -> CallVerdict:
        return CallVerdict("allow")

    async def answer(self, session: str, approval_id: str, approved: bool) -> CallVerdict:
        raise AssertionError("the bench never asks")

    async def wait(self, session: str, approval_id: str, timeout_s: float) -> CallVerdict:
        raise AssertionError("the bench never asks")

    async def check_result(
        self, session: str, server: str, tool: str, arguments: dict[str, Any], result: types.CallToolResult
    ) -> ResultVerdict:
        return ResultVerdict("pass")

    async def record(self, kind: str, subject: str, payload: dict[str, Any]) -> None:
        await anyio.lowlevel.checkpoint()

    async def close_session(self, session: str) -> None:
        await anyio.lowlevel.checkpoint()


AGENT = "urn:agent:bench.example:echo"
USER = "bench-user"
TASK = "echo what I say"


def prepare_store(database: Path) -> None:
    """A migrated store where the agent is registered, ``echo`` is a side effect and the user granted it."""
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    clock = SystemClock()
    registry = RegistryService(RegistryStore(engine), clock)
    admin = Principal(key_id="bench-admin", role=Role.ADMIN)
    registry.create_org(admin, _ORG)
    registry.register_agent(admin, "bench.example", "echo", _DECLARATION)
    registry.move(admin, AGENT, "submit")
    registry.move(admin, AGENT, "approve")
    services = open_authority(engine, clock, MemoryRecorder())
    pack = {"name": "bench", "tools": {"echo": {"kind": "side_effect", "arguments": {"message": "String"}}}}
    source = PolicySource.model_validate({"packs": ["baseline"], "extra": [pack]})
    digest = services.authority.policies.load(admin, source)["digest"]
    services.authority.policies.activate(admin, digest, PolicyMode.ENFORCE)
    grant = {
        "grantor": USER,
        "agent_id": AGENT,
        "actions": [{"tool": "echo", "server": "bench-echo"}],
        "venues": ["private"],
        "not_before": isoformat_z(clock.now() - timedelta(hours=1)),
        "expires_at": isoformat_z(clock.now() + timedelta(days=1)),
    }
    user = Principal(key_id="bench-user", role=Role.USER, subject=USER)
    services.authority.grants.create(user, {"grant": grant})
    engine.dispose()


def serve_gateway(database: Path, pid_file: Path, gate_name: str, command: list[str]) -> None:
    pid_file.write_text(str(os.getpid()))
    os.environ["AGENTGOV_DATABASE_URL"] = f"sqlite:///{database}"
    engine = make_engine(f"sqlite:///{database}")
    if gate_name != "guard":
        gateway_metadata.create_all(engine)  # the pin store alone
    identity = Identity(AGENT, USER, TASK)
    settings = GatewaySettings()
    opened: AbstractContextManager[Gate] = (
        opened_gate(None, identity, settings) if gate_name == "guard" else nullcontext(UnsafeAllowAllGate())
    )
    with opened as gate:
        freeze_startup_heap()  # as `agentgov gateway stdio` does before serving
        anyio.run(
            lambda: serve_stdio(
                stdio_upstream(command, name="bench-echo"),
                gate=gate,
                identity=identity,
                store=SqlPinStore(engine),
                settings=settings,
            )
        )


# The measurement -----------------------------------------------------------------------------------


def _cpu_s(pid: int) -> float:
    """User and system CPU seconds the process has used (/proc/<pid>/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


_SEQUENCE = itertools.count()


async def _call(session: ClientSession, i: int) -> float:
    # Every message is new: an argument repeating an earlier tool output would (rightly) make the
    # guard's provenance check ask.
    message = f"message number {next(_SEQUENCE)}"
    start = time.perf_counter()
    result = await session.call_tool("echo", {"message": message})
    elapsed = (time.perf_counter() - start) * 1000
    if result.is_error:
        raise SystemExit(f"echo failed: {result.content}")
    return elapsed


async def _alternate(n: int, first: ClientSession, second: ClientSession) -> tuple[list[float], list[float]]:
    """``n`` calls on each session, one at a time, each taking the first place every other round."""
    samples: tuple[list[float], list[float]] = ([], [])
    for i in range(n):
        order = ((0, first), (1, second)) if i % 2 == 0 else ((1, second), (0, first))
        for slot, session in order:
            samples[slot].append(await _call(session, i))
    return samples


def _gateway_command(workdir: Path, gate: str, echo: list[str]) -> list[str]:
    pid_file = workdir / f"{gate}.pid"
    db = workdir / f"{gate}.db"
    return [
        *("-m", "bench.gateway", "--gateway", gate, "--db", str(db), "--pid-file", str(pid_file)),
        "--",
        *echo,
    ]


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    echo = [sys.executable, "-m", "bench.gateway", "--echo-server"]
    progress("preparing the store: agent registered, policy active, the user's grant")
    prepare_store(workdir / "guard.db")
    direct_params = StdioServerParameters(command=echo[0], args=echo[1:])
    env = dict(os.environ)
    guard_params = StdioServerParameters(
        command=sys.executable, args=_gateway_command(workdir, "guard", echo), env=env
    )
    bare_params = StdioServerParameters(
        command=sys.executable, args=_gateway_command(workdir, "allow", echo), env=env
    )
    progress("starting the echo server, and two gateways (guard, allow-all) each in front of another")
    async with (
        stdio_client(direct_params) as (dr, dw),
        ClientSession(dr, dw) as direct,
        stdio_client(guard_params) as (gr, gw),
        ClientSession(gr, gw) as through,
        stdio_client(bare_params) as (br, bw),
        ClientSession(br, bw) as bare,
    ):
        for session in (direct, through, bare):
            await session.initialize()
            if [t.name for t in (await session.list_tools()).tools] != ["echo"]:
                raise SystemExit("the echo tool is not offered")
        progress(f"warm-up: {args.warmup} calls on each path")
        for i in range(args.warmup):
            await _call(direct, i)
            await _call(through, i)
            await _call(bare, i)
        pid = int((workdir / "guard.pid").read_text())
        bare_pid = int((workdir / "allow.pid").read_text())
        progress(f"{args.n} calls direct and through the guard's gateway, alternating")
        before = _cpu_s(pid)
        direct_ms, gateway_ms = await _alternate(args.n, direct, through)
        gateway_cpu_ms = (_cpu_s(pid) - before) * 1000 / args.n
        progress(f"{args.n} calls direct and through the allow-all gateway, alternating")
        before = _cpu_s(bare_pid)
        transport_direct_ms, transport_ms = await _alternate(args.n, direct, bare)
        transport_cpu_ms = (_cpu_s(bare_pid) - before) * 1000 / args.n
        progress(f"burst: {args.n} calls through the gateway, {args.concurrency} in flight")
        per_task = max(1, args.n // args.concurrency)
        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for worker in range(args.concurrency):

                async def calls(worker: int = worker) -> None:
                    for i in range(per_task):
                        await _call(through, worker * per_task + i)

                tg.start_soon(calls)
        burst_s = time.perf_counter() - started
        rss = _peak_rss_mb(pid)

    def p(samples: list[float], q: float) -> float:
        return round(percentile(samples, q), 3)

    return {
        "n": args.n,
        "direct_p50_ms": p(direct_ms, 50),
        "direct_p99_ms": p(direct_ms, 99),
        "gateway_p50_ms": p(gateway_ms, 50),
        "gateway_p99_ms": p(gateway_ms, 99),
        "added_p50_ms": round(p(gateway_ms, 50) - p(direct_ms, 50), 3),
        # Less dependent on how busy the host is than the difference itself (see docs/guard.md).
        "added_p50_over_direct": round((p(gateway_ms, 50) - p(direct_ms, 50)) / p(direct_ms, 50), 2),
        "added_p99_ms": round(p(gateway_ms, 99) - p(direct_ms, 99), 3),
        "calls_per_s": round(per_task * args.concurrency / burst_s),
        "sequential_calls_per_s": round(len(gateway_ms) / (sum(gateway_ms) / 1000)),
        "concurrency": args.concurrency,
        "gateway_cpu_ms_per_call": round(gateway_cpu_ms, 3),
        "gateway_rss_mb": rss,
        "transport_p50_ms": p(transport_ms, 50),
        "transport_p99_ms": p(transport_ms, 99),
        "transport_direct_p50_ms": p(transport_direct_ms, 50),
        "transport_added_p50_ms": round(p(transport_ms, 50) - p(transport_direct_ms, 50), 3),
        "transport_cpu_ms_per_call": round(transport_cpu_ms, 3),
        "gate": "the guard (agentgov gateway stdio); transport_*: UnsafeAllowAllGate",
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=2000, help="calls on each path")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--echo-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--gateway", choices=("guard", "allow"), help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--pid-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("command", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo_server:
        anyio.run(serve_echo)
        return
    if args.gateway:
        serve_gateway(args.db, args.pid_file, args.gateway, args.command)
        return
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as workdir:
        print_result(anyio.run(run, args, Path(workdir)))


if __name__ == "__main__":
    main()
