"""The ledger and witness command groups, end to end on SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from agentgov.cli.ledger import ledger
from agentgov.cli.witness import witness


@pytest.fixture
def env(sqlite_engine: Engine, tmp_path: Path) -> dict[str, str]:
    return {
        "AGENTGOV_DATABASE_URL": str(sqlite_engine.url),
        "AGENTGOV_LEDGER_KEY": str(tmp_path / "log.key"),
        "AGENTGOV_LEDGER_ORIGIN": "cli.test/log",
        "AGENTGOV_LEDGER_WITNESSES": "",
    }


def invoke(group: object, env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(group, list(args), env=env)  # type: ignore[arg-type]
    assert result.exit_code == 0, result.output
    return result.output


def test_record_checkpoint_export_and_verify_offline(env: dict[str, str], tmp_path: Path) -> None:
    vkey = invoke(ledger, env, "keygen").strip()
    assert invoke(ledger, env, "vkey").strip() == vkey
    assert [invoke(ledger, env, "note", f"maintenance window {n}").strip() for n in range(3)] == [
        "0",
        "1",
        "2",
    ]
    checkpoint = invoke(ledger, env, "checkpoint")
    assert checkpoint.splitlines()[:2] == ["cli.test/log", "3"]
    entry = json.loads(invoke(ledger, env, "entry", "1", "--json"))
    assert (entry["status"], entry["event"]["text"]) == ("ok", "maintenance window 1")
    assert invoke(ledger, env, "erase", "1").strip() == "erased entry 1"
    assert json.loads(invoke(ledger, env, "fsck", "--json"))["erased"] == 1
    bundle = json.loads(invoke(ledger, env, "bundle", "2"))
    assert bundle["inclusion"]["size"] == 3
    out = tmp_path / "export.jsonl"
    invoke(ledger, env, "export", "--out", str(out), "--payloads")
    (tmp_path / "cp").write_text(checkpoint)
    (tmp_path / "bundle.json").write_text(json.dumps(bundle))
    report = invoke(
        ledger, env, "verify", "--vkey", vkey, "--checkpoint", str(tmp_path / "cp"), "--export", str(out)
    )
    assert report.startswith("verified: cli.test/log size 3")
    invoke(ledger, env, "verify", "--vkey", vkey, "--bundle", str(tmp_path / "bundle.json"))


def test_verify_help_documents_every_exit_code() -> None:
    text = CliRunner().invoke(ledger, ["verify", "--help"]).output
    for code in (
        "0  verified",
        "3  Checkpoint signature",
        "5  Two checkpoints",
        "6  A later",
        "7  An entry was modified",
    ):
        assert code in text


def test_witness_key_is_created_once_and_printed_as_a_cosignature_key(tmp_path: Path) -> None:
    key = tmp_path / "witness.key"
    vkey = invoke(witness, {}, "keygen", "--name", "witness.test/w1", "--key", str(key)).strip()
    assert vkey.startswith("witness.test/w1+")
    assert invoke(witness, {}, "vkey", "--key", str(key)).strip() == vkey
    again = CliRunner().invoke(witness, ["keygen", "--name", "witness.test/w1", "--key", str(key)])
    assert again.exit_code == 1
