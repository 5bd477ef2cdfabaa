"""MCP Registry ``server.json`` -> :class:`Declaration`.

The document is checked against the rules of the MCP Registry server schema
(``static.modelcontextprotocol.io/schemas/2025-10-17/server.schema.json``): ``name`` in reverse-DNS form
with one ``/``, ``description`` of 1-100 characters, an exact ``version``, ``packages`` whose
``registryType`` is npm, pypi, nuget, oci or mcpb with a ``transport`` of stdio, streamable-http or sse,
and ``remotes`` of type streamable-http or sse with a URL. The registry API's ``{"server": ...,
"_meta": ...}`` envelope is accepted too.

Mapping: ``title`` (else ``name``) -> display_name, ``description``, ``version``, ``websiteUrl`` ->
documentation_url. Each package becomes an interface with protocol ``mcp``, binding = its transport type
and, as URL, where the package is published (a stdio server has no endpoint); each remote becomes an
interface at its URL (URL templates with ``{variables}`` cannot be declared and stay only in the kept
document). Deployment: ``hybrid`` with both packages and remotes, ``cloud`` with remotes only,
``container`` when every package is an OCI image, else ``self-hosted-package``. Tools stay empty: a
server.json does not list them. Every member without a declaration field (name, repository, packages
and remotes in full with their arguments and headers, ``_meta``, icons, unknown members) is kept under
``extensions["mcp"]``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from agentgov.core.canonical import parse_json
from agentgov.errors import InvalidInput
from agentgov.registry.declaration import (
    AGENT_NAME_PATTERN,
    ApplicationDomain,
    Declaration,
    Deployment,
    DeploymentMode,
    Interface,
    Protocol,
)

__all__ = ["ImportedServer", "import_server_json", "server_to_declaration"]

_NAME = re.compile(r"^[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+$")  # server.schema.json ServerDetail.name
_NAME_LEN = (3, 200)
_DESCRIPTION_MAX = 100
_TITLE_MAX = 100
_VERSION_MAX = 255
_RANGE = re.compile(r"[\^~<>=*|\s]|(^|\.)[xX](\.|$)")  # version ranges are refused (ServerDetail.version)
_SHA256_HEX = re.compile(r"^[a-f0-9]{64}$")
_REGISTRY_TYPES = frozenset({"npm", "pypi", "nuget", "oci", "mcpb"})
_VERSIONED_TYPES = frozenset({"npm", "pypi", "nuget"})  # RegistryPackage: version required
_TRANSPORTS = frozenset({"stdio", "streamable-http", "sse"})
_REMOTE_TRANSPORTS = frozenset({"streamable-http", "sse"})
_MAPPED = frozenset({"description", "version", "websiteUrl"})
# Where each registry publishes a package, when the document names no registryBaseUrl.
_PACKAGE_PAGES = {
    "npm": "https://www.npmjs.com/package/{id}",
    "pypi": "https://pypi.org/project/{id}/",
    "nuget": "https://www.nuget.org/packages/{id}",
}


@dataclass(frozen=True)
class ImportedServer:
    declaration: Declaration
    name: str  # a suggested registry agent name
    server_name: str  # the reverse-DNS name, e.g. io.github.owner/server
    version: str


def _fail(where: str, message: str) -> InvalidInput:
    return InvalidInput(f"server.json {where}: {message}", field=where)


def _str(
    doc: Mapping[str, Any], key: str, where: str, *, required: bool = True, max_len: int = 0
) -> str | None:
    if key not in doc:
        if required:
            raise _fail(f"{where}{key}", "is required")
        return None
    value = doc[key]
    if not isinstance(value, str) or not value:
        raise _fail(f"{where}{key}", "must be a non-empty string")
    if max_len and len(value) > max_len:
        raise _fail(f"{where}{key}", f"is longer than {max_len} characters")
    return value


def _url(
    doc: Mapping[str, Any], key: str, where: str, *, required: bool = True, https: bool = False
) -> str | None:
    value = _str(doc, key, where, required=required)
    if value is None:
        return None
    parts = urlsplit(value)
    schemes = ("https",) if https else ("http", "https")
    if parts.scheme not in schemes or not parts.netloc:
        raise _fail(f"{where}{key}", f"must be an absolute {' or '.join(schemes)} URL")
    return value


def _objects(doc: Mapping[str, Any], key: str, where: str = "") -> list[dict[str, Any]]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _fail(f"{where}{key}", "must be an array of objects")
    return value


def _check_argument(arg: Mapping[str, Any], where: str) -> None:
    kind = arg.get("type")
    if kind == "named":
        _str(arg, "name", where)  # NamedArgument: the flag, e.g. --port
    elif kind == "positional":
        if "value" not in arg and "valueHint" not in arg:  # PositionalArgument: value or valueHint
            raise _fail(where.rstrip("."), "a positional argument needs a value or a valueHint")
    else:
        raise _fail(f"{where}type", "must be 'positional' or 'named'")


def _check_key_values(doc: Mapping[str, Any], key: str, where: str) -> None:
    for j, item in enumerate(_objects(doc, key, where)):
        _str(item, "name", f"{where}{key}[{j}].")  # KeyValueInput: header or variable name


def _version(value: str, where: str) -> str:
    if value == "latest" or _RANGE.search(value):
        raise _fail(where, f"{value!r} is a range or a moving tag; an exact version is required")
    return value


def _check_transport(pkg: Mapping[str, Any], where: str) -> str:
    transport = pkg.get("transport")
    if not isinstance(transport, dict):
        raise _fail(f"{where}transport", "is required and must be an object")
    kind = transport.get("type")
    if kind not in _TRANSPORTS:
        raise _fail(f"{where}transport.type", f"must be one of {sorted(_TRANSPORTS)}")
    if kind != "stdio":
        _str(transport, "url", f"{where}transport.")  # a URL template, e.g. http://localhost:{port}/mcp
    return str(kind)


def _package_url(pkg: Mapping[str, Any], kind: str, identifier: str) -> str:
    if kind == "mcpb":
        return identifier  # a direct HTTPS download URL
    if kind == "oci":
        first = identifier.split("/", 1)[0]
        registry_named = "/" in identifier and ("." in first or ":" in first or first == "localhost")
        return "https://" + (identifier if registry_named else f"docker.io/{identifier}")
    base = pkg.get("registryBaseUrl")
    if isinstance(base, str):
        return f"{base.rstrip('/')}/{identifier}"
    return _PACKAGE_PAGES[kind].format(id=identifier)


def _check_package(pkg: Mapping[str, Any], i: int) -> tuple[str, str, str]:
    """Validate one package; return (registryType, transport type, where it is published)."""
    where = f"packages[{i}]."
    kind = pkg.get("registryType")
    if kind not in _REGISTRY_TYPES:
        raise _fail(f"{where}registryType", f"must be one of {sorted(_REGISTRY_TYPES)}")
    identifier = str(_str(pkg, "identifier", where))
    version = _str(pkg, "version", where, required=kind in _VERSIONED_TYPES, max_len=_VERSION_MAX)
    if version is not None:
        _version(version, f"{where}version")
    if kind == "mcpb":
        _url(pkg, "identifier", where, https=True)
        if not _SHA256_HEX.match(str(pkg.get("fileSha256", ""))):
            raise _fail(f"{where}fileSha256", "is required for mcpb: 64 lowercase hex characters")
    _url(pkg, "registryBaseUrl", where, required=False)
    for key in ("packageArguments", "runtimeArguments"):
        for j, arg in enumerate(_objects(pkg, key, where)):
            _check_argument(arg, f"{where}{key}[{j}].")
    _check_key_values(pkg, "environmentVariables", where)
    return str(kind), _check_transport(pkg, where), _package_url(pkg, str(kind), identifier)


def _check_document(doc: Mapping[str, Any]) -> None:
    name = str(_str(doc, "name", ""))
    if not _NAME.match(name) or not _NAME_LEN[0] <= len(name) <= _NAME_LEN[1]:
        raise _fail("name", f"{name[:80]!r} is not a reverse-DNS server name such as io.github.owner/server")
    _str(doc, "description", "", max_len=_DESCRIPTION_MAX)
    _version(str(_str(doc, "version", "", max_len=_VERSION_MAX)), "version")
    _str(doc, "title", "", required=False, max_len=_TITLE_MAX)
    _url(doc, "websiteUrl", "", required=False)
    if "repository" in doc:
        repo = doc["repository"]
        if not isinstance(repo, dict):
            raise _fail("repository", "must be an object")
        _url(repo, "url", "repository.")
        _str(repo, "source", "repository.")
        subfolder = _str(repo, "subfolder", "repository.", required=False)
        if subfolder is not None and (subfolder.startswith("/") or ".." in subfolder.split("/")):
            raise _fail("repository.subfolder", "must be a clean relative path")
    if "_meta" in doc and not isinstance(doc["_meta"], dict):
        raise _fail("_meta", "must be an object")


def _interfaces(doc: Mapping[str, Any]) -> tuple[list[Interface], list[str]]:
    interfaces: list[Interface] = []
    kinds: list[str] = []
    candidates: list[tuple[str, str]] = []
    for i, pkg in enumerate(_objects(doc, "packages")):
        kind, transport, url = _check_package(pkg, i)
        kinds.append(kind)
        candidates.append((url, transport))
    for i, remote in enumerate(_objects(doc, "remotes")):
        if remote.get("type") not in _REMOTE_TRANSPORTS:
            raise _fail(f"remotes[{i}].type", f"must be one of {sorted(_REMOTE_TRANSPORTS)}")
        url = str(_str(remote, "url", f"remotes[{i}]."))
        _check_key_values(remote, "headers", f"remotes[{i}].")
        if "{" not in url:  # a URL template cannot be declared as an endpoint
            _url(remote, "url", f"remotes[{i}].")
            candidates.append((url, str(remote["type"])))
    for url, binding in candidates:
        try:
            interfaces.append(
                Interface.model_validate({"protocol": Protocol.MCP, "url": url, "binding": binding})
            )
        except ValidationError as exc:
            raise _fail("interfaces", f"{url[:80]!r} cannot be declared: {exc.errors()[0]['msg']}") from exc
    return interfaces, kinds


def _deployment_mode(package_kinds: list[str], has_remotes: bool) -> DeploymentMode:
    if package_kinds and has_remotes:
        return DeploymentMode.HYBRID
    if has_remotes:
        return DeploymentMode.CLOUD
    if package_kinds and all(kind == "oci" for kind in package_kinds):
        return DeploymentMode.CONTAINER
    return DeploymentMode.SELF_HOSTED


def _suggest_name(server_name: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", server_name.lower().replace("/", "."))
    slug = re.sub(r"^[^a-z0-9]+|[^a-z0-9]+$", "", slug[-64:])
    return slug if re.match(AGENT_NAME_PATTERN, slug) else "mcp-server"


def server_to_declaration(
    document: Mapping[str, Any],
    *,
    application_domains: Iterable[ApplicationDomain] = (ApplicationDomain.SOFTWARE,),
) -> ImportedServer:
    """Validate a server.json value and map it to a declaration (see the module docstring)."""
    if not isinstance(document, Mapping):
        raise _fail("document", "must be a JSON object")
    envelope: dict[str, Any] = {}
    if set(document) <= {"server", "_meta"} and isinstance(document.get("server"), dict):
        envelope = {"registryMeta": copy.deepcopy(document.get("_meta", {}))}
        document = document["server"]
    _check_document(document)
    interfaces, package_kinds = _interfaces(document)
    kept = {k: copy.deepcopy(v) for k, v in document.items() if k not in _MAPPED}
    fields: dict[str, Any] = {
        "display_name": document.get("title", document["name"]),
        "description": document["description"],
        "version": document["version"],
        "interfaces": tuple(interfaces),
        "deployment": Deployment(mode=_deployment_mode(package_kinds, bool(document.get("remotes")))),
        "application_domains": tuple(application_domains),
        "extensions": {"mcp": {**kept, **envelope}},
    }
    if "websiteUrl" in document:
        fields["documentation_url"] = document["websiteUrl"]
    try:
        declaration = Declaration.model_validate(fields)
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        raise _fail("document", f"cannot be declared: {details}") from exc
    return ImportedServer(
        declaration=declaration,
        name=_suggest_name(document["name"]),
        server_name=document["name"],
        version=document["version"],
    )


def import_server_json(data: str | bytes | Mapping[str, Any]) -> ImportedServer:
    """Parse (strict JSON: no duplicate members, no NaN) and map a server.json document."""
    document = parse_json(data) if isinstance(data, str | bytes) else data
    if not isinstance(document, Mapping):
        raise _fail("document", "must be a JSON object")
    return server_to_declaration(document)
