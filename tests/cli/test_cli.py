"""The command line: the first admin key, keys, demo data, search, errors as one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from agentgov.cli.main import cli


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("AGENTGOV_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    return CliRunner()


def test_first_upgrade_prints_an_admin_key_once(runner: CliRunner) -> None:
    first = runner.invoke(cli, ["db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert "first admin key" in first.output
    key = first.output.strip().splitlines()[-1]
    assert key.startswith("agk_")
    second = runner.invoke(cli, ["db", "upgrade"])
    assert second.exit_code == 0
    assert "agk_" not in second.output
    listed = json.loads(runner.invoke(cli, ["keys", "list", "--json"]).output)
    assert [k["role"] for k in listed] == ["admin"]


def test_keys_create_developer_needs_an_existing_org(runner: CliRunner) -> None:
    runner.invoke(cli, ["db", "upgrade"])
    result = runner.invoke(cli, ["keys", "create", "--role", "developer", "--org", "nowhere.example"])
    assert result.exit_code == 1
    assert result.output.strip() == "error [not_found]: no organisation 'nowhere.example'"
    runner.invoke(cli, ["demo", "load"])
    made = runner.invoke(cli, ["keys", "create", "--role", "developer", "--org", "yunyi.example", "--json"])
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["role"] == "developer"


def test_demo_fills_a_living_registry(runner: CliRunner) -> None:
    runner.invoke(cli, ["db", "upgrade"])
    assert "13 agents" in runner.invoke(cli, ["demo", "load", "--if-empty"]).output
    assert "not loaded" in runner.invoke(cli, ["demo", "load", "--if-empty"]).output
    found = json.loads(runner.invoke(cli, ["agent", "search", "医疗", "--json"]).output)
    assert [i["id"] for i in found["items"]] == ["urn:agent:yunyi.example:triage"]
    statuses = {
        i["status"]
        for i in json.loads(
            runner.invoke(cli, ["agent", "search", "--include-deleted", "--limit", "50", "--json"]).output
        )["items"]
    }
    assert {
        "registered",
        "under_review",
        "suspended",
        "deprecated",
        "recalled",
        "retired",
        "filed",
    } <= statuses


def test_agent_status_moves_and_refuses_illegal_moves(runner: CliRunner) -> None:
    runner.invoke(cli, ["db", "upgrade"])
    runner.invoke(cli, ["demo", "load"])
    agent = "urn:agent:haitong.example:payments"
    refused = runner.invoke(cli, ["agent", "status", agent, "recall"])
    assert refused.exit_code == 1
    assert refused.output.strip() == "error [invalid_input] (reason): a recall must state its reason"
    done = runner.invoke(
        cli, ["agent", "status", agent, "reinstate", "--reason", "investigation closed", "--json"]
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)[-1]["to_status"] == "registered"


def test_register_from_file_and_export_canonical(runner: CliRunner, tmp_path: Path) -> None:
    runner.invoke(cli, ["db", "upgrade"])
    runner.invoke(cli, ["demo", "load"])
    doc = {
        "display_name": "Calendar",
        "description": "Keeps a calendar",
        "deployment": {"mode": "cloud"},
        "application_domains": ["office"],
    }
    path = tmp_path / "decl.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    made = runner.invoke(
        cli, ["agent", "register", "--org", "haitong.example", "--name", "calendar", str(path), "--json"]
    )
    assert made.exit_code == 0, made.output
    exported = json.loads(
        runner.invoke(cli, ["agent", "export", "urn:agent:haitong.example:calendar"]).output
    )
    assert exported["digest"] == json.loads(made.output)["digest"]
    assert exported["prev_digest"] is None


def test_bad_json_file_is_one_line_error(runner: CliRunner, tmp_path: Path) -> None:
    runner.invoke(cli, ["db", "upgrade"])
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    result = runner.invoke(cli, ["org", "register", str(path)])
    assert result.exit_code == 1
    assert result.output.startswith("error [malformed]: body is not valid JSON")
    assert len(result.output.strip().splitlines()) == 1


def test_import_card_and_export_it_again(runner: CliRunner, tmp_path: Path) -> None:
    runner.invoke(cli, ["db", "upgrade"])
    runner.invoke(cli, ["demo", "load"])
    sample = (
        Path(__file__).resolve().parents[1] / "registry" / "formats" / "data" / "a2a-v1.0.1-sample-card.json"
    )
    card = json.loads(sample.read_text(encoding="utf-8"))
    card.pop("signatures")
    path = tmp_path / "card.json"
    path.write_text(json.dumps(card), encoding="utf-8")
    made = runner.invoke(
        cli,
        [
            "agent",
            "import",
            "--org",
            "haitong.example",
            "--format",
            "a2a",
            "--domain",
            "transport",
            str(path),
        ],
    )
    assert made.exit_code == 0, made.output
    exported = runner.invoke(
        cli,
        ["agent", "export", "--format", "a2a", "urn:agent:haitong.example:geospatial-route-planner-agent"],
    )
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.output) == card
    bad = runner.invoke(
        cli, ["agent", "import", "--org", "haitong.example", "--format", "a2a", "--domain", "moon", str(path)]
    )
    assert bad.exit_code == 1
    assert bad.output.startswith("error [invalid_input] (domain): unknown application domain 'moon'")
