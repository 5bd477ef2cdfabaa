"""An upstream's name is a server name grants and policies can use, given or derived."""

from __future__ import annotations

import pytest

from agentgov.errors import InvalidInput
from agentgov.gateway.upstream import http_upstream, stdio_upstream
from agentgov.policy.model import ActionRef

COMMANDS = [
    ["npx", "-y", "@modelcontextprotocol/server-filesystem", "/srv/files"],
    ["tests/peers/node_modules/.bin/mcp-server-filesystem", "var/docs"],
    ["server", "a b"],
    ["server", "a_b"],
    ["python", "-m", "x" * 400],
]


def test_a_name_derived_from_a_command_line_is_a_server_name_of_its_own() -> None:
    names = [stdio_upstream(command).name for command in COMMANDS]
    for name in names:
        assert ActionRef(tool="read_file", server=name).server == name  # a grant can name it
        assert len(name) <= 200
    assert len(set(names)) == len(COMMANDS)  # "a b" and "a_b" are two servers
    assert names == [stdio_upstream(command).name for command in COMMANDS]  # the same every time
    assert names[0].startswith("npx_-y_@modelcontextprotocol/server-filesystem_/srv/files-")


def test_a_url_names_its_server_by_host_port_and_path_without_credentials() -> None:
    assert http_upstream("http://localhost:8080/mcp/").name == "localhost:8080/mcp"
    assert http_upstream("https://user:secret@example.com/mcp?token=t").name == "example.com/mcp"


@pytest.mark.parametrize("name", ["files server", "/files", "x" * 257, "文件"])
def test_a_given_name_no_grant_could_use_is_refused_at_once(name: str) -> None:
    with pytest.raises(InvalidInput, match="server name") as refused:
        stdio_upstream(["server"], name=name)
    assert refused.value.field == "server_name"


def test_a_given_name_is_kept_as_it_is() -> None:
    assert stdio_upstream(["server", "--flag"], name="files").name == "files"
    assert stdio_upstream(["server"], name="bank.example/mcp@2").name == "bank.example/mcp@2"
