"""The guard's own cost per tool call, in one process: alone in a loop, and inside the MCP gateway.

::

    python -m bench.guard [--n 3000] [--warmup 300]

The gateway benchmark (``bench.gateway``) measures what a client sees across three processes; this
one isolates the guard. Same store, agent, policy and grant as ``bench.gateway``:

- ``loop_us``: ``Guard.check_call`` then ``Guard.check_result`` on an allowed ``echo`` call, back to
  back (CPU per call; the guard's code and data stay in the CPU caches);
- ``gateway_us`` and ``transport_us``: an SDK client through the gateway (over the SDK's in-memory
  streams) to an in-process echo server, with the real guard and with an allow-all gate (CPU per
  call); ``guard_in_gateway_us`` is their difference: the guard's share once the SDK's code runs
  between two of its calls, as in the real gateway;
- ``steps_us``: that share split by step: the mean wall time of each, in one more run through the
  gateway with the steps timed (the timing adds its own few microseconds to each).

Paths alternate in rounds so that all see the same machine. The last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from statistics import median
from typing import Any

import anyio
from mcp import ClientSession
from mcp.shared.memory import create_client_server_memory_streams

from agentgov.cli.gateway import make_gate
from agentgov.db import make_engine
from agentgov.gateway import GatewaySettings, Identity, SqlPinStore, Upstream, serve_streams
from agentgov.gateway.port import Gate
from agentgov.gateway.tables import gateway_metadata
from agentgov.guard.pipeline import CallCheck, Guard
from agentgov.ledger.outbox import OutboxRecorder
from agentgov.policy.service import AuthorityService
from agentgov.policy.store import DecisionUnit
from bench._common import print_result, progress
from bench.gateway import AGENT, TASK, USER, UnsafeAllowAllGate, echo_server, prepare_store

# The steps of one guarded call, timed where they are defined: (owner, method name).
_STEPS: tuple[tuple[Any, str], ...] = (
    (Guard, "check_call"),
    (Guard, "check_result"),
    (AuthorityService, "decide"),
    (AuthorityService, "_decide_within_budget"),
    (DecisionUnit, "live_grants"),
    (DecisionUnit, "insert_decision"),
    (OutboxRecorder, "record_in"),
)


def _memory_upstream() -> Upstream:
    @asynccontextmanager
    async def transport() -> AsyncIterator[Any]:
        async with create_client_server_memory_streams() as (client, server), anyio.create_task_group() as tg:
            echo = echo_server()
            tg.start_soon(lambda: echo.run(server[0], server[1], echo.create_initialization_options()))
            try:
                yield client
            finally:
                tg.cancel_scope.cancel()

    return Upstream("bench-echo", transport, "in-process echo")


@contextmanager
def _timed_steps() -> Iterator[dict[str, list[float]]]:
    """Wrap each step to add its wall time (seconds) to a list; unwrapped on exit."""
    spent: dict[str, list[float]] = {}
    saved = []
    for owner, name in _STEPS:
        original = getattr(owner, name)
        times = spent.setdefault(f"{owner.__name__}.{name}", [])

        def timed(*args: Any, _f: Callable[..., Any] = original, _t: list[float] = times, **kw: Any) -> Any:
            start = time.perf_counter()
            try:
                return _f(*args, **kw)
            finally:
                _t.append(time.perf_counter() - start)

        setattr(owner, name, functools.wraps(original)(timed))
        saved.append((owner, name, original))
    try:
        yield spent
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def loop_us(guard: Guard, n: int, warmup: int) -> float:
    session = guard.open_session(agent_id=AGENT, user_id=USER, task=TASK)
    start = 0.0
    for i in range(warmup + n):
        if i == warmup:
            start = time.process_time()
        message = {"message": f"loop message {i}"}
        check = guard.check_call(session, "bench-echo", "echo", message)
        if not check.allowed:
            raise SystemExit(f"the guard refused the bench's call: {check.reason}")
        guard.check_result(session, CallCheck("allow", (), "bench-echo", "echo", message), message["message"])
    guard.close_session(session.id)
    return (time.process_time() - start) / n * 1e6


async def gateway_us(gate: Gate, engine: Any, n: int, warmup: int, prefix: str) -> float:
    """CPU per call of an SDK client through the gateway (``gate``) to the in-process echo server."""
    identity = Identity(AGENT, USER, TASK)
    async with create_client_server_memory_streams() as (client, gateway), anyio.create_task_group() as tg:
        tg.start_soon(
            functools.partial(
                serve_streams,
                gateway[0],
                gateway[1],
                upstream=_memory_upstream(),
                gate=gate,
                identity=identity,
                store=SqlPinStore(engine),
                settings=GatewaySettings(),
            )
        )
        async with ClientSession(client[0], client[1]) as session:
            await session.initialize()
            await session.list_tools()
            start = 0.0
            for i in range(warmup + n):
                if i == warmup:
                    start = time.process_time()
                result = await session.call_tool("echo", {"message": f"{prefix} message {i}"})
                if result.is_error:
                    raise SystemExit(f"echo failed: {result.content}")
            spent = time.process_time() - start
        tg.cancel_scope.cancel()
    return spent / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=3000, help="calls timed on each path, each round")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-guard-") as workdir:
        guard_db, bare_db = Path(workdir) / "guard.db", Path(workdir) / "allow.db"
        progress("preparing the store: agent registered, policy active, the user's grant")
        prepare_store(guard_db)
        os.environ["AGENTGOV_DATABASE_URL"] = f"sqlite:///{guard_db}"
        bare = make_engine(f"sqlite:///{bare_db}")
        gateway_metadata.create_all(bare)
        loops: list[float] = []
        guarded: list[float] = []
        transport: list[float] = []
        gate = make_gate(None, Identity(AGENT, USER, TASK), GatewaySettings())
        try:
            engine = gate.guard.authority.store.engine
            allow_all = UnsafeAllowAllGate()
            for r in range(args.rounds):
                progress(f"round {r + 1} of {args.rounds}: {args.n} calls on each path")
                loops.append(loop_us(gate.guard, args.n, args.warmup))
                transport.append(anyio.run(gateway_us, allow_all, bare, args.n, args.warmup, "bare"))
                guarded.append(anyio.run(gateway_us, gate, engine, args.n, args.warmup, f"round {r}"))
            progress(f"{args.n} calls through the gateway with each step timed")
            with _timed_steps() as steps:
                anyio.run(gateway_us, gate, engine, args.n, args.warmup, "timed")
        finally:
            gate.close()
            bare.dispose()
    print_result(
        {
            "n": args.n,
            "rounds": args.rounds,
            "loop_us": round(median(loops)),
            "gateway_us": round(median(guarded)),
            "transport_us": round(median(transport)),
            "guard_in_gateway_us": round(median(guarded) - median(transport)),
            "steps_us": {step: round(sum(t) / len(t) * 1e6, 1) for step, t in steps.items() if t},
            "note": "medians of the rounds' CPU per call; steps_us: mean wall time per call of each step",
        }
    )


if __name__ == "__main__":
    main()
