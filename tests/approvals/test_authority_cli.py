"""The policy, grants and approvals command groups: one-line errors, --json reads, keys for users."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from agentgov.approvals import ApprovalInput
from agentgov.approvals.wiring import open_authority
from agentgov.cli.approvals import approvals
from agentgov.cli.grants import grants
from agentgov.cli.main import cli as main_cli
from agentgov.cli.policy import policy
from agentgov.core.clock import SystemClock, isoformat_z
from agentgov.db import make_engine
from agentgov.policy.store import MemoryRecorder
from tests.policy.authority_helpers import ADMIN


@click.group()
def cli() -> None:
    """The groups under test, as the main command will hold them."""


for group in (policy, grants, approvals):
    cli.add_command(group)


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("AGENTGOV_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.chdir(tmp_path)
    made = CliRunner()
    assert made.invoke(main_cli, ["db", "upgrade"]).exit_code == 0
    return made


def _write(path: str, value: Any) -> str:
    Path(path).write_text(value if isinstance(value, str) else json.dumps(value), encoding="utf-8")
    return path


def _user_key(runner: CliRunner, subject: str) -> str:
    made = runner.invoke(main_cli, ["keys", "create", "--role", "user", "--subject", subject])
    return made.output.strip()


def test_invalid_cedar_file_is_one_line_with_its_position(runner: CliRunner) -> None:
    _write("fences.cedar", "permit (principal, action, resource)\nwhen { context.venue == };\n")
    result = runner.invoke(cli, ["policy", "validate", "fences.cedar", "--pack", "baseline"])
    assert result.exit_code == 1
    assert result.output.startswith("error [invalid_policy]: fences.cedar:2:")
    assert len(result.output.strip().splitlines()) == 1


def test_load_activate_decide_grant_and_approve(runner: CliRunner) -> None:
    loaded = runner.invoke(
        cli, ["policy", "load", _write("set.json", {"packs": ["baseline", "payments"]}), "--json"]
    )
    assert loaded.exit_code == 0, loaded.output
    digest = json.loads(loaded.output)["digest"]
    activated = runner.invoke(cli, ["policy", "activate", digest, "--mode", "enforce"])
    assert activated.output.strip() == f"default: {digest} (enforce)"
    assert (
        json.loads(runner.invoke(cli, ["policy", "list", "--json"]).output)["deployments"][0]["digest"]
        == digest
    )

    now = datetime.now(UTC)
    grant = {
        "grantor": "alice",
        "agent_id": "agent-1",
        "actions": [{"tool": "get_balance", "server": "bank"}],
        "venues": ["private"],
        "expires_at": isoformat_z(now + timedelta(days=1)),
    }
    as_admin = runner.invoke(cli, ["grants", "create", _write("grant.json", grant)])
    assert as_admin.exit_code == 1
    assert as_admin.output.startswith("error [forbidden]:")
    alice = _user_key(runner, "alice")
    made = runner.invoke(cli, ["grants", "create", "grant.json", "--api-key", alice, "--json"])
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["status"] == "live"
    listed = json.loads(runner.invoke(cli, ["grants", "list", "--json", "--api-key", alice]).output)
    assert len(listed) == 1

    request = {
        "agent_id": "agent-1",
        "user_id": "alice",
        "action": {"tool": "update_password", "server": "bank"},
        "arguments": {"password": "s3cret"},
        "context": {"venue": "private", "time": isoformat_z(now)},
    }
    decided = runner.invoke(cli, ["policy", "decide", _write("req.json", request), "--json"])
    assert decided.exit_code == 0, decided.output
    assert json.loads(decided.output)["decision"]["decision_class"] == "user_only"

    services = open_authority(make_engine(), SystemClock(), MemoryRecorder())
    asked = services.approvals.request(
        ADMIN,
        ApprovalInput.model_validate(
            {
                "agent_id": "agent-1",
                "user_id": "alice",
                "action": request["action"],
                "arguments": {"password": "s3cret"},
            }
        ),
    )
    bob = _user_key(runner, "bob")
    assert (
        "error [forbidden]"
        in runner.invoke(cli, ["approvals", "approve", asked["id"], "--api-key", bob]).output
    )
    pending = runner.invoke(cli, ["approvals", "list", "--api-key", alice])
    assert asked["id"] in pending.output
    assert "user-only" in pending.output
    approved = runner.invoke(cli, ["approvals", "approve", asked["id"], "--api-key", alice, "--json"])
    assert json.loads(approved.output)["state"] == "approved"
    shown = json.loads(runner.invoke(cli, ["approvals", "show", asked["id"], "--json"]).output)
    assert shown["decided_by"] == "alice"
    gid = listed[0]["id"]
    assert (
        runner.invoke(cli, ["grants", "revoke", gid, "--api-key", alice]).output.strip() == f"revoked {gid}"
    )
