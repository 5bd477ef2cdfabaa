"""`agentgov serve` as `make run` starts it: a real process on a real port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

AGENTGOV = str(Path(sys.executable).with_name("agentgov"))
READY_WITHIN_S = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AGENTGOV, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_serve_answers_health_console_catalog_and_ledger(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "AGENTGOV_DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
        "AGENTGOV_LEDGER_KEY": str(tmp_path / "ledger.key"),
    }
    assert _run(["db", "upgrade"], env).returncode == 0
    assert _run(["demo", "load", "--if-empty"], env).returncode == 0
    port = _free_port()
    server = subprocess.Popen(
        [AGENTGOV, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_WITHIN_S
        while True:
            try:
                health = httpx.get(f"{base}/healthz", timeout=1.0)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
        assert health.json() == {"status": "ok", "store": "sqlite"}
        assert "智能分诊助手" in httpx.get(f"{base}/", timeout=5.0).text
        catalog = httpx.get(f"{base}/.well-known/ai-catalog.json", timeout=5.0).json()
        assert {e["url"] for e in catalog["entries"]} == {
            f"{base}/catalogs/yunyi.example/ai-catalog.json",
            f"{base}/catalogs/haitong.example/ai-catalog.json",
        }
        vkey = httpx.get(f"{base}/ledger/vkey", timeout=5.0)
        assert vkey.status_code == 200
        assert vkey.text.startswith("agentgov.local/ledger+")
        assert (tmp_path / "ledger.key").exists()
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()


def test_serve_refuses_a_store_that_is_not_migrated(tmp_path: Path) -> None:
    env = {**os.environ, "AGENTGOV_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    result = _run(["serve", "--port", str(_free_port())], env)
    assert result.returncode == 1
    assert "run `agentgov db upgrade` first" in result.stderr
