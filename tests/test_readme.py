"""The README's command walkthrough runs as written (STYLE 13: executed documentation)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from agentgov.cli.main import cli

README = Path(__file__).resolve().parents[1] / "README.md"


def _walkthrough() -> list[list[str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Using it", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    if block is None:
        raise AssertionError("the README's 'Using it' section lost its sh block")
    commands = []
    for line in block.group(1).splitlines():
        words = shlex.split(line, comments=True)
        if words:
            commands.append(words)
    return commands


def test_readme_walkthrough_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    commands = _walkthrough()
    assert len(commands) >= 6
    for words in commands:
        if words[0] == "export":
            name, value = words[1].split("=", 1)
            monkeypatch.setenv(name, value)
            continue
        assert words[0] == "agentgov", words
        result = runner.invoke(cli, words[1:])
        assert result.exit_code == 0, (words, result.output)
    assert (tmp_path / "var" / "readme.db").exists()
