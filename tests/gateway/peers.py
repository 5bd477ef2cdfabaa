"""The reference MCP servers from npm (tests/peers), installed once with ``npm ci``.

Without node and npm the tests that need them are skipped, with the reason; with
``AGENTGOV_TEST_REQUIRE_PEERS=1`` (CI) they must run, and a missing toolchain or a failing install fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

__all__ = ["PEERS", "install_peers", "node_server", "unused_port"]

PEERS = Path(__file__).parents[1] / "peers"
_REQUIRED = os.environ.get("AGENTGOV_TEST_REQUIRE_PEERS") == "1"
_INSTALL_TIMEOUT_S = 600


def _unavailable(reason: str) -> None:
    if _REQUIRED:
        pytest.fail(f"{reason} (AGENTGOV_TEST_REQUIRE_PEERS=1)")
    pytest.skip(reason)


def install_peers() -> Path:
    """``npm ci --prefix tests/peers`` unless node_modules is current; returns node_modules."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _unavailable("node and npm are needed to run the reference MCP servers (tests/peers)")
    modules = PEERS / "node_modules"
    installed = modules / ".package-lock.json"
    lock = PEERS / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        done = subprocess.run(
            [str(npm), "ci", "--prefix", str(PEERS), "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            timeout=_INSTALL_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            _unavailable(f"npm ci --prefix tests/peers failed: {done.stderr.strip()[-400:]}")
    return modules


def node_server(modules: Path, package: str, *args: str) -> list[str]:
    """The command line that runs ``@modelcontextprotocol/<package>`` with node."""
    node = shutil.which("node") or "node"
    return [node, str(modules / "@modelcontextprotocol" / package / "dist" / "index.js"), *args]


def unused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
