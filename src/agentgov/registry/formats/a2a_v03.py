"""A2A Agent Card v0.3 -> v1.0 shape, losing nothing.

====================================================  =======================================================
v0.3 (A2A 0.3.0 §5.5, types.ts)                       v1.0 (A2A 1.0 §4.4, a2a.proto)
====================================================  =======================================================
``url`` + ``preferredTransport`` (default JSONRPC) +  first ``supportedInterfaces`` entry
``protocolVersion``                                   ``{url, protocolBinding, protocolVersion}``
``additionalInterfaces[{url, transport}]``            further entries (``transport`` -> ``protocolBinding``,
                                                      the card's ``protocolVersion``); exact repeats dropped
``supportsAuthenticatedExtendedCard``                 ``capabilities.extendedAgentCard``
``security: [{scheme: [scopes]}]`` (card and skills)  ``securityRequirements: [{schemes: {scheme: {list}}}]``
``securitySchemes.X: {type, ...}`` with type apiKey,  ``securitySchemes.X: {apiKeySecurityScheme |
http, oauth2, openIdConnect, mutualTLS                httpAuthSecurityScheme | oauth2SecurityScheme |
                                                      openIdConnectSecurityScheme | mtlsSecurityScheme}``
apiKey ``in``                                         apiKey ``location``
oauth2 ``flows`` holding several flows                one scheme per flow (``X``, then ``X.<flow>``); each
                                                      requirement naming ``X`` repeated per alternative
``signatures``                                        dropped (they sign the v0.3 bytes, not these)
anything else (e.g. ``stateTransitionHistory``)       kept as it is, where it is
====================================================  =======================================================
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from agentgov.errors import InvalidInput

__all__ = ["DEFAULT_BINDING", "LEGACY_MEMBERS", "upgrade_v03_card"]

DEFAULT_BINDING = "JSONRPC"  # A2A 0.3.0 §5.6.1: the transport when preferredTransport is absent
LEGACY_MEMBERS = ("url", "preferredTransport", "additionalInterfaces", "protocolVersion")
_SCHEME_TYPES = {
    "apiKey": "apiKeySecurityScheme",
    "http": "httpAuthSecurityScheme",
    "oauth2": "oauth2SecurityScheme",
    "openIdConnect": "openIdConnectSecurityScheme",
    "mutualTLS": "mtlsSecurityScheme",
}


def expect_object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(f"{where} must be a JSON object", field=where)
    return value


def expect_list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidInput(f"{where} must be a JSON array", field=where)
    return value


def expect_str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{where} must be a string", field=where)
    return value


def expect_strs(value: Any, where: str) -> list[str]:
    return [expect_str(v, f"{where}[{i}]") for i, v in enumerate(expect_list(value, where))]


def _upgrade_schemes(schemes: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    out: dict[str, Any] = {}
    aliases: dict[str, list[str]] = {}
    for name, raw in expect_object(schemes, "securitySchemes").items():
        scheme = expect_object(raw, f"securitySchemes.{name}")
        kind = scheme.get("type")
        if kind not in _SCHEME_TYPES:
            out[name] = scheme  # already v1.0 shape, or a type v0.3 did not define: keep
            continue
        body = {k: v for k, v in scheme.items() if k != "type"}
        if kind == "apiKey" and "in" in body:
            body["location"] = body.pop("in")
        out[name] = {_SCHEME_TYPES[kind]: body}
        flows = body.get("flows")
        if kind == "oauth2" and isinstance(flows, dict) and len(flows) > 1:  # v1.0 OAuthFlows is a oneof
            (first, *rest) = flows.items()
            body["flows"] = dict([first])
            for flow, spec in rest:
                alias = f"{name}.{flow}"
                if alias in schemes:
                    raise InvalidInput(f"cannot split the OAuth flows of {name!r}: {alias!r} exists")
                out[alias] = {"oauth2SecurityScheme": {**body, "flows": {flow: spec}}}
                aliases.setdefault(name, []).append(alias)
    return out, aliases


def _requirements(legacy: Any, aliases: Mapping[str, list[str]], where: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, raw in enumerate(expect_list(legacy, where)):
        variants: list[dict[str, Any]] = [{}]
        for scheme, scopes in expect_object(raw, f"{where}[{i}]").items():
            listed = expect_strs(scopes, f"{where}[{i}].{scheme}")
            names = [scheme, *aliases.get(scheme, [])]
            variants = [{**v, n: {"list": list(listed)}} for v in variants for n in names]
        out.extend({"schemes": v} for v in variants)
    return out


def _interfaces(card: Mapping[str, Any]) -> list[dict[str, Any]]:
    version = expect_str(card.get("protocolVersion", "0.3.0"), "protocolVersion")
    binding = expect_str(card.get("preferredTransport", DEFAULT_BINDING), "preferredTransport")
    main = {"url": expect_str(card.get("url"), "url"), "protocolBinding": binding, "protocolVersion": version}
    interfaces = [main]
    for i, raw in enumerate(expect_list(card.get("additionalInterfaces", []), "additionalInterfaces")):
        extra = copy.deepcopy(expect_object(raw, f"additionalInterfaces[{i}]"))
        url = expect_str(extra.pop("url", None), f"additionalInterfaces[{i}].url")
        transport = expect_str(extra.pop("transport", None), f"additionalInterfaces[{i}].transport")
        entry = {"url": url, "protocolBinding": transport, "protocolVersion": version, **extra}
        if entry not in interfaces:
            interfaces.append(entry)
    return interfaces


def upgrade_v03_card(card: Mapping[str, Any]) -> dict[str, Any]:
    """The v1.0 shape of a v0.3 card, without its signatures (see the module table)."""
    dropped = {*LEGACY_MEMBERS, "supportsAuthenticatedExtendedCard", "signatures", "security"}
    out = {k: copy.deepcopy(v) for k, v in card.items() if k not in dropped}
    out["supportedInterfaces"] = _interfaces(card)
    if "supportsAuthenticatedExtendedCard" in card:
        capabilities = expect_object(out.setdefault("capabilities", {}), "capabilities")
        capabilities.setdefault("extendedAgentCard", card["supportsAuthenticatedExtendedCard"])
    aliases: dict[str, list[str]] = {}
    if "securitySchemes" in out:
        out["securitySchemes"], aliases = _upgrade_schemes(out["securitySchemes"])
    if "security" in card:
        if "securityRequirements" in out:  # both present: nothing to translate into, keep as written
            out["security"] = copy.deepcopy(card["security"])
        else:
            out["securityRequirements"] = _requirements(card["security"], aliases, "security")
    for i, skill in enumerate(expect_list(out.get("skills", []), "skills")):
        if "security" in expect_object(skill, f"skills[{i}]") and "securityRequirements" not in skill:
            skill["securityRequirements"] = _requirements(
                skill.pop("security"), aliases, f"skills[{i}].security"
            )
    return out
