"""The README's guard walkthrough runs as written, in bash, with the installed `agentgov` (STYLE 13).

The whole chain as a user sees it: an organisation and an agent registered, the user's grant, the
reference MCP filesystem server behind the gateway, an injected instruction in a file, the guard asking
instead of acting, the user refusing from the CLI, the decision on the record, `ledger verify` offline.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.gateway.peers import install_peers

ROOT = Path(__file__).resolve().parents[1]
_BOUND_S = 600


def _block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## The guard at work", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    if block is None:
        raise AssertionError("the README's guard section lost its sh block")
    return block.group(1)


def test_readme_guard_walkthrough_stops_the_planted_write_and_verifies_offline(tmp_path: Path) -> None:
    modules = install_peers()  # what `make peers` does, once per machine
    script = _block().replace("make peers", ": make peers")
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    (tmp_path / "tests" / "peers").mkdir(parents=True)
    (tmp_path / "tests" / "peers" / "node_modules").symlink_to(modules)
    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTGOV_")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["AGENTGOV_LEDGER_KEY"] = str(tmp_path / "var" / "ledger.key")
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=_BOUND_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "write drafts/summary.md: held:" in out, out  # the session read an injected instruction
    assert "var/docs/outbox/notes-copy.md: stopped:" in out, out
    assert "injection" in out, out
    assert "verified" in out, out
    assert not (tmp_path / "var" / "docs" / "outbox" / "notes-copy.md").exists()
    assert not (tmp_path / "var" / "docs" / "drafts" / "summary.md").exists()

    header, *entries = (tmp_path / "var" / "export.json").read_text(encoding="utf-8").splitlines()
    assert json.loads(header)["checkpoints"], "the record has a signed checkpoint"
    kinds = [json.loads(base64.b64decode(json.loads(e)["leaf"]))["kind"] for e in entries]
    for kind in ("registry.lifecycle", "authority.grant.created", "authority.decision", "approval.refused"):
        assert kind in kinds, kinds
