"""Fixtures of the gateway tests: the async backend, and the npm reference servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gateway.peers import install_peers


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def peers() -> Path:
    """node_modules of tests/peers, installed once per run (skipped without node and npm)."""
    return install_peers()
