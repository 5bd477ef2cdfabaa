"""MCP Registry server.json: the registry documentation's examples, and every rule of the schema we check."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from agentgov.core.canonical import parse_json
from agentgov.errors import InvalidInput
from agentgov.registry.declaration import ApplicationDomain, DeploymentMode
from agentgov.registry.formats.mcp_server import import_server_json, server_to_declaration

DATA = Path(__file__).parent / "data"


def load(name: str) -> dict[str, Any]:
    value: dict[str, Any] = parse_json((DATA / name).read_bytes())
    return value


def interfaces(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    declaration = server_to_declaration(document).declaration
    return [(i.protocol.value, i.binding, str(i.url)) for i in declaration.interfaces]


def test_server_with_packages_and_remotes_is_hybrid() -> None:
    imported = import_server_json((DATA / "mcp-server-remote-and-package.json").read_bytes())
    declaration = imported.declaration
    assert imported.server_name == "io.modelcontextprotocol.anonymous/hybrid-mcp"
    assert imported.name == "io.modelcontextprotocol.anonymous.hybrid-mcp"
    assert imported.version == "1.5.0"
    assert declaration.display_name == "Hybrid"
    assert declaration.description == "MCP server available as both local package and remote service"
    assert declaration.deployment.mode is DeploymentMode.HYBRID
    assert declaration.tools == ()
    assert declaration.protocols() == ["mcp"]
    assert [(i.binding, str(i.url)) for i in declaration.interfaces] == [
        ("stdio", "https://registry.npmjs.org/@example/hybrid-mcp-server"),
        ("streamable-http", "https://mcp.anonymous.modelcontextprotocol.io/http"),
        ("sse", "https://mcp.anonymous.modelcontextprotocol.io/sse"),
    ]
    kept = declaration.extensions["mcp"]
    assert kept["name"] == imported.server_name
    assert kept["remotes"][0]["headers"][0]["name"] == "X-API-Key"
    assert kept["packages"][0]["packageArguments"][0]["name"] == "--mode"
    assert kept["_meta"]["io.modelcontextprotocol.registry/publisher-provided"]["tool"] == "hybrid-deployer"
    assert kept["repository"]["id"] == "klm012no-pqrs-3456-tuvw-xyz789abcdef"


def test_server_with_packages_only_is_self_hosted() -> None:
    document = load("mcp-server-filesystem-packages.json")
    declaration = server_to_declaration(document).declaration
    assert declaration.deployment.mode is DeploymentMode.SELF_HOSTED
    assert interfaces(document) == [
        ("mcp", "stdio", "https://registry.npmjs.org/@modelcontextprotocol/server-filesystem"),
        ("mcp", "stdio", "https://docker.io/mcp/filesystem:1.0.2"),
    ]
    assert declaration.extensions["mcp"]["packages"] == document["packages"]


def test_server_with_remotes_only_is_cloud() -> None:
    document = load("mcp-server-remote.json")
    imported = server_to_declaration(document, application_domains=[ApplicationDomain.OFFICE])
    declaration = imported.declaration
    assert declaration.deployment.mode is DeploymentMode.CLOUD
    assert declaration.display_name == "io.modelcontextprotocol.anonymous/mcp-fs"  # no title
    assert declaration.application_domains == (ApplicationDomain.OFFICE,)
    assert interfaces(document) == [
        ("mcp", "streamable-http", "https://mcp-fs.anonymous.modelcontextprotocol.io/http")
    ]


def test_every_member_without_a_declaration_field_is_kept() -> None:
    document = load("mcp-server-remote-and-package.json")
    document["x-unknown"] = {"kept": True}
    document["icons"] = [{"src": "https://example.com/icon.png", "sizes": ["48x48"]}]
    document["websiteUrl"] = "https://example.com/hybrid"
    declaration = server_to_declaration(document).declaration
    assert str(declaration.documentation_url) == "https://example.com/hybrid"
    kept = declaration.extensions["mcp"]
    assert set(kept) == set(document) - {"description", "version", "websiteUrl"}
    assert kept["x-unknown"] == {"kept": True}


def test_oci_only_server_is_a_container_and_registry_names_are_located() -> None:
    document = load("mcp-server-filesystem-packages.json")
    document["packages"] = [
        {"registryType": "oci", "identifier": "mcp/filesystem:1.0.2", "transport": {"type": "stdio"}},
        {"registryType": "oci", "identifier": "ghcr.io/owner/repo:v1.0.0", "transport": {"type": "stdio"}},
    ]
    assert server_to_declaration(document).declaration.deployment.mode is DeploymentMode.CONTAINER
    assert [url for _, _, url in interfaces(document)] == [
        "https://docker.io/mcp/filesystem:1.0.2",
        "https://ghcr.io/owner/repo:v1.0.0",
    ]


def test_packages_of_each_registry_are_located() -> None:
    document = load("mcp-server-filesystem-packages.json")
    sha = "fe333e598595000ae021bd27117db32ec69af6987f507ba7a63c90638ff633ce"
    document["packages"] = [
        {
            "registryType": "pypi",
            "identifier": "weather-mcp-server",
            "version": "0.5.0",
            "transport": {"type": "stdio"},
        },
        {
            "registryType": "nuget",
            "identifier": "Knapcode.SampleMcpServer",
            "version": "0.4.0-beta",
            "transport": {"type": "stdio"},
        },
        {
            "registryType": "mcpb",
            "identifier": "https://github.com/o/r/releases/download/v1.0.2/text-editor.mcpb",
            "fileSha256": sha,
            "transport": {"type": "stdio"},
        },
        {
            "registryType": "npm",
            "identifier": "@example/http-server",
            "version": "2.0.0",
            "transport": {"type": "streamable-http", "url": "http://localhost:{port}/mcp"},
        },
    ]
    assert interfaces(document) == [
        ("mcp", "stdio", "https://pypi.org/project/weather-mcp-server/"),
        ("mcp", "stdio", "https://www.nuget.org/packages/Knapcode.SampleMcpServer"),
        ("mcp", "stdio", "https://github.com/o/r/releases/download/v1.0.2/text-editor.mcpb"),
        ("mcp", "streamable-http", "https://www.npmjs.com/package/@example/http-server"),
    ]


def test_remote_url_template_is_kept_but_not_declared() -> None:
    document = load("mcp-server-remote.json")
    document["remotes"].append({"type": "sse", "url": "https://{tenant}.example.com/sse"})
    declaration = server_to_declaration(document).declaration
    assert len(declaration.interfaces) == 1
    assert declaration.extensions["mcp"]["remotes"][1]["url"] == "https://{tenant}.example.com/sse"


def test_registry_api_envelope_is_accepted() -> None:
    server = load("mcp-server-remote.json")
    envelope = {
        "server": server,
        "_meta": {"io.modelcontextprotocol.registry/official": {"status": "active"}},
    }
    imported = server_to_declaration(envelope)
    assert imported.server_name == server["name"]
    assert imported.declaration.extensions["mcp"]["registryMeta"] == envelope["_meta"]


def broken(mutate: Any) -> dict[str, Any]:
    document = copy.deepcopy(load("mcp-server-remote-and-package.json"))
    mutate(document)
    return document


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: d.pop("name"), "name: is required"),
        (lambda d: d.update(name="hybrid-mcp"), "reverse-DNS"),
        (lambda d: d.update(name="io.github.x/y/z"), "reverse-DNS"),
        (lambda d: d.update(name="io.github.x/ y"), "reverse-DNS"),
        (lambda d: d.pop("description"), "description: is required"),
        (lambda d: d.update(description="x" * 101), "longer than 100"),
        (lambda d: d.update(description=""), "non-empty string"),
        (lambda d: d.pop("version"), "version: is required"),
        (lambda d: d.update(version="^1.5.0"), "exact version"),
        (lambda d: d.update(version="1.x"), "exact version"),
        (lambda d: d.update(version="latest"), "exact version"),
        (lambda d: d.update(title=""), "title"),
        (lambda d: d.update(websiteUrl="javascript:alert(1)"), "websiteUrl"),
        (
            lambda d: d.update(repository="https://github.com/example/hybrid-mcp"),
            "repository: must be an object",
        ),
        (lambda d: d["repository"].pop("source"), "repository.source"),
        (lambda d: d["repository"].update(subfolder="../etc"), "subfolder"),
        (lambda d: d.update(_meta=[]), "_meta"),
        (lambda d: d.update(packages={}), "packages: must be an array"),
        (lambda d: d["packages"][0].update(registryType="cargo"), "registryType"),
        (lambda d: d["packages"][0].pop("identifier"), "identifier"),
        (lambda d: d["packages"][0].pop("version"), r"packages\[0\].version: is required"),
        (lambda d: d["packages"][0].update(version="latest"), "exact version"),
        (lambda d: d["packages"][0].pop("transport"), "transport"),
        (lambda d: d["packages"][0].update(transport={"type": "websocket"}), "transport.type"),
        (lambda d: d["packages"][0].update(transport={"type": "sse"}), "transport.url"),
        (lambda d: d["packages"][0].update(registryBaseUrl="registry.npmjs.org"), "registryBaseUrl"),
        (lambda d: d["packages"][0]["packageArguments"].append({"type": "flag"}), "type"),
        (
            lambda d: d["packages"][0]["packageArguments"].append({"type": "positional"}),
            "value or a valueHint",
        ),
        (lambda d: d["packages"][0]["packageArguments"][0].pop("name"), "name"),
        (lambda d: d["packages"][0].update(environmentVariables=[{"value": "x"}]), "environmentVariables"),
        (
            lambda d: d["packages"].append(
                {"registryType": "mcpb", "identifier": "http://x/y.mcpb", "transport": {"type": "stdio"}}
            ),
            "https",
        ),
        (
            lambda d: d["packages"].append(
                {"registryType": "mcpb", "identifier": "https://x/y.mcpb", "transport": {"type": "stdio"}}
            ),
            "fileSha256",
        ),
        (lambda d: d["remotes"][0].update(type="stdio"), r"remotes\[0\].type"),
        (lambda d: d["remotes"][1].pop("url"), r"remotes\[1\].url"),
        (lambda d: d["remotes"][1].update(url="ftp://example.com/sse"), r"remotes\[1\].url"),
        (lambda d: d["remotes"][0]["headers"].append({"description": "no name"}), "headers"),
    ],
)
def test_invalid_server_json_is_refused_with_a_reason(mutate: Any, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        server_to_declaration(broken(mutate))


def test_non_object_and_non_json_are_refused() -> None:
    with pytest.raises(InvalidInput, match="JSON object"):
        import_server_json(b"[]")
    with pytest.raises(InvalidInput):
        import_server_json('{"name": "io.x/y", "name": "io.x/z"}')
