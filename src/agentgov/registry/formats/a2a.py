"""A2A Agent Card <-> :class:`Declaration`: read v0.3 and v1.0, write v1.0, sign and verify (JWS).

Reading. A card with ``supportedInterfaces`` is v1.0. A card with the v0.3 members (``url``,
``preferredTransport``, ``additionalInterfaces``, ``protocolVersion``) and no ``supportedInterfaces`` is
v0.3; it is first rewritten into v1.0 shape as tabled in :mod:`agentgov.registry.formats.a2a_v03`.

The v1.0 card maps to the declaration: ``name`` -> display_name, ``description``, ``version``,
``documentationUrl``, ``skills[{id, name, description, tags, examples}]``, and each
``supportedInterfaces[{url, protocolBinding, protocolVersion}]`` -> an interface with protocol ``a2a``.
Everything else is kept under ``extensions["a2a"]``:

- ``card``: members without a declaration field (capabilities, provider, securitySchemes,
  securityRequirements, defaultInputModes, defaultOutputModes, iconUrl, unknown members);
- ``skills`` / ``interfaces``: the extra members of each entry (``inputModes``, ``tenant``...);
- ``otherSkills`` / ``otherInterfaces``: entries a declaration cannot hold (a ``wss://`` URL, a tag with a
  comma...), verbatim, with their position;
- ``text``: strings as written where the declaration normalised them (trailing ``/``, surrounding space),
  by place, e.g. ``skills/0/name``; written back only while the declaration still holds what was read;
- ``signed``: the card's signatures and the digest of the bytes they cover.

Writing restores all of it: a v1.0 card read then written is equal to the original, and a v0.3 card comes
out in v1.0 shape. Kept signatures are written back only while the card has exactly the signed bytes.

Signing (A2A v1.0 §8.4): a detached JWS over the RFC 8785 bytes of the card without ``signatures``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from pydantic import HttpUrl, TypeAdapter, ValidationError

from agentgov.core.canonical import canonical_json, parse_json
from agentgov.core.digest import digest_bytes
from agentgov.core.keys import Signer
from agentgov.errors import InvalidInput, InvalidSignature
from agentgov.identity.didkey import did_key_from_public, did_key_kid
from agentgov.identity.jws import DidKeyResolver, KeyResolver, sign_detached, verify_detached
from agentgov.registry.declaration import (
    AGENT_NAME_PATTERN,
    ApplicationDomain,
    Declaration,
    Deployment,
    DeploymentMode,
    Interface,
    Protocol,
    Skill,
)
from agentgov.registry.formats.a2a_v03 import (
    DEFAULT_BINDING,
    LEGACY_MEMBERS,
    expect_list,
    expect_object,
    expect_str,
    expect_strs,
    upgrade_v03_card,
)

__all__ = [
    "A2A_PROTOCOL_VERSION",
    "CARD_V03",
    "CARD_V10",
    "ImportedCard",
    "card_to_declaration",
    "declaration_to_card",
    "detect_card_version",
    "export_card",
    "import_card",
    "sign_card",
    "signing_payload",
    "upgrade_v03_card",
    "verify_card",
]

CARD_V03, CARD_V10 = "0.3", "1.0"
A2A_PROTOCOL_VERSION = "1.0"
_MAPPED = frozenset({"name", "description", "version", "supportedInterfaces", "skills", "documentationUrl"})
_SKILL_MAPPED = ("id", "name", "description", "tags", "examples")
_IFACE_MAPPED = ("url", "protocolBinding", "protocolVersion")
_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)
_Keep = Callable[[str, str, str], None]  # (where, as written, as declared)


@dataclass(frozen=True)
class ImportedCard:
    declaration: Declaration
    name: str  # a suggested registry agent name
    card_version: str  # CARD_V03 or CARD_V10: the shape that was read
    provider: dict[str, Any] | None
    signatures: tuple[dict[str, Any], ...] = ()
    verified_kids: tuple[str, ...] = ()


def detect_card_version(card: Mapping[str, Any]) -> str:
    if "supportedInterfaces" in card:
        return CARD_V10
    if any(member in card for member in LEGACY_MEMBERS):
        return CARD_V03
    raise InvalidInput("not an Agent Card: neither supportedInterfaces (v1.0) nor url (v0.3)")


def signing_payload(card: Mapping[str, Any]) -> bytes:
    """The bytes a card signature covers: RFC 8785 of the card without ``signatures`` (A2A v1.0 §8.4.1)."""
    return canonical_json({k: v for k, v in card.items() if k != "signatures"})


def _signatures(card: Mapping[str, Any]) -> list[dict[str, Any]]:
    raw = expect_list(card.get("signatures", []), "signatures")
    return [expect_object(s, f"signatures[{i}]") for i, s in enumerate(raw)]


def _invalid(exc: ValidationError, where: str) -> InvalidInput:
    details = "; ".join(f"{'.'.join(map(str, e['loc'])) or where}: {e['msg']}" for e in exc.errors()[:5])
    return InvalidInput(f"{where} cannot be declared: {details}", field=where)


def _is_http_url(value: str) -> bool:
    try:
        _HTTP_URL.validate_python(value)
    except ValidationError:
        return False
    return True


def _suggest_name(display_name: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", display_name.lower())
    slug = re.sub(r"^[^a-z0-9]+|[^a-z0-9]+$", "", slug[:64])
    return slug if re.match(AGENT_NAME_PATTERN, slug) else "agent"


def _map_interfaces(card: Mapping[str, Any], keep: _Keep, ext: dict[str, Any]) -> tuple[Interface, ...]:
    declared: list[Interface] = []
    extras: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    for pos, raw in enumerate(expect_list(card.get("supportedInterfaces"), "supportedInterfaces")):
        entry = expect_object(raw, f"supportedInterfaces[{pos}]")
        written = [expect_str(entry.get(k), f"supportedInterfaces[{pos}].{k}") for k in _IFACE_MAPPED]
        fields = dict(zip(("url", "binding", "protocol_version"), written, strict=True))
        try:
            iface = Interface.model_validate({"protocol": Protocol.A2A, **fields})
        except ValidationError:
            others.append({"position": pos, "interface": entry})
            continue
        declared_as = (str(iface.url), iface.binding, iface.protocol_version)
        for k, original, normalised in zip(_IFACE_MAPPED, written, declared_as, strict=True):
            keep(f"interfaces/{len(declared)}/{k}", original, normalised)
        declared.append(iface)
        if extra := {k: v for k, v in entry.items() if k not in _IFACE_MAPPED}:
            extras.append({"key": [str(iface.url), iface.binding], "members": extra})
    for key, value in (("interfaces", extras), ("otherInterfaces", others)):
        if value:
            ext[key] = value
    return tuple(declared)


def _map_skills(card: Mapping[str, Any], keep: _Keep, ext: dict[str, Any]) -> tuple[Skill, ...]:
    declared: list[Skill] = []
    extras: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    for pos, raw in enumerate(expect_list(card.get("skills", []), "skills")):
        entry = expect_object(raw, f"skills[{pos}]")
        try:
            skill = Skill.model_validate({k: entry[k] for k in _SKILL_MAPPED if k in entry})
        except ValidationError:
            others.append({"position": pos, "skill": entry})
            continue
        n = len(declared)
        for key in ("id", "name", "description"):
            keep(
                f"skills/{n}/{key}",
                expect_str(entry.get(key, ""), f"skills[{pos}].{key}"),
                getattr(skill, key),
            )
        for key in ("tags", "examples"):
            written = expect_strs(entry.get(key, []), f"skills[{pos}].{key}")
            for j, (original, normalised) in enumerate(zip(written, getattr(skill, key), strict=True)):
                keep(f"skills/{n}/{key}/{j}", original, normalised)
        declared.append(skill)
        if extra := {k: v for k, v in entry.items() if k not in _SKILL_MAPPED}:
            extras.append({"key": skill.id, "members": extra})
    for key, value in (("skills", extras), ("otherSkills", others)):
        if value:
            ext[key] = value
    return tuple(declared)


def card_to_declaration(
    card: Mapping[str, Any],
    *,
    application_domains: Iterable[ApplicationDomain] = (ApplicationDomain.GENERAL,),
    deployment: Deployment | None = None,
) -> ImportedCard:
    """Map a v0.3 or v1.0 card to a declaration, keeping what has no declaration field. No verification."""
    source = expect_object(card, "card")
    version = detect_card_version(source)
    signatures = tuple(copy.deepcopy(_signatures(source)))
    v10 = upgrade_v03_card(source) if version == CARD_V03 else copy.deepcopy(dict(source))
    v10.pop("signatures", None)
    text: dict[str, list[str]] = {}

    def keep(where: str, original: str, normalised: str) -> None:
        if original != normalised:
            text[where] = [normalised, original]

    extras = {k: v for k, v in v10.items() if k not in _MAPPED}
    ext: dict[str, Any] = {"card": extras}
    fields: dict[str, Any] = {
        "display_name": expect_str(v10.get("name"), "name"),
        "description": expect_str(v10.get("description"), "description"),
        "version": expect_str(v10.get("version"), "version"),
        "interfaces": _map_interfaces(v10, keep, ext),
        "skills": _map_skills(v10, keep, ext),
        "deployment": deployment or Deployment(mode=DeploymentMode.CLOUD),
        "application_domains": tuple(application_domains),
        "extensions": {"a2a": ext},
    }
    if "documentationUrl" in v10:
        doc_url = expect_str(v10["documentationUrl"], "documentationUrl")
        if _is_http_url(doc_url):
            fields["documentation_url"] = doc_url
        else:
            extras["documentationUrl"] = doc_url  # not an http(s) URL: kept as written
    if signatures:
        ext["signed"] = {
            "payload": digest_bytes(signing_payload(source)),
            "signatures": copy.deepcopy(list(signatures)),
        }
    try:
        declaration = Declaration.model_validate(fields)
    except ValidationError as exc:
        raise _invalid(exc, "card") from exc
    for key, member in (("display_name", "name"), ("description", "description"), ("version", "version")):
        keep(member, fields[key], getattr(declaration, key))
    if declaration.documentation_url is not None:
        keep("documentationUrl", fields["documentation_url"], str(declaration.documentation_url))
    if text:  # validated again so that the declaration owns a fresh extension value
        fields["extensions"] = {"a2a": {**ext, "text": text}}
        declaration = Declaration.model_validate(fields)
    provider = extras.get("provider")
    return ImportedCard(
        declaration=declaration,
        name=_suggest_name(declaration.display_name),
        card_version=version,
        provider=copy.deepcopy(provider) if isinstance(provider, dict) else None,
        signatures=signatures,
    )


def _take(pool: list[Any], key: Any) -> dict[str, Any]:
    for i, item in enumerate(pool):
        if expect_object(item, "extensions.a2a entry").get("key") == key:
            return copy.deepcopy(expect_object(pool.pop(i).get("members"), "extensions.a2a members"))
    return {}


def _reinsert(items: list[Any], others: list[Any], member: str) -> None:
    placed: list[tuple[int, Any]] = []
    for other in others:
        entry = expect_object(other, f"extensions.a2a {member}")
        position = entry.get("position")
        if not isinstance(position, int) or position < 0 or member not in entry:
            raise InvalidInput(f"extensions.a2a {member} entries need a position and the {member}")
        placed.append((position, entry[member]))
    for position, value in sorted(placed, key=lambda p: p[0]):
        items.insert(min(position, len(items)), copy.deepcopy(value))


def declaration_to_card(
    name: str,
    declaration: Declaration,
    *,
    url_base: str | None = None,
    provider: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The v1.0 Agent Card of a declaration.

    ``url_base``: where the platform serves A2A for its agents; the card advertises ``{url_base}/{name}``
    only when the declaration names no A2A interface. ``provider``: the ``{organization, url}`` to state;
    when omitted, the provider of an imported card is kept.
    """
    if not re.match(AGENT_NAME_PATTERN, name):
        raise InvalidInput(f"agent name {name!r} does not match {AGENT_NAME_PATTERN}", field="name")
    ext = expect_object(declaration.extensions.get("a2a", {}), "extensions.a2a")
    text = expect_object(ext.get("text", {}), "extensions.a2a.text")

    def t(where: str, value: str) -> str:
        """The string as the card wrote it, while the declaration still holds what was read from it."""
        kept = text.get(where)
        return str(kept[1]) if isinstance(kept, list) and len(kept) == 2 and kept[0] == value else value

    card: dict[str, Any] = copy.deepcopy(expect_object(ext.get("card", {}), "extensions.a2a.card"))
    card.update(
        name=t("name", declaration.display_name), description=t("description", declaration.description)
    )
    pool = list(expect_list(ext.get("interfaces", []), "extensions.a2a.interfaces"))
    interfaces: list[Any] = []
    for n, iface in enumerate(i for i in declaration.interfaces if i.protocol is Protocol.A2A):
        values = (
            str(iface.url),
            iface.binding or DEFAULT_BINDING,
            iface.protocol_version or A2A_PROTOCOL_VERSION,
        )
        entry = {k: t(f"interfaces/{n}/{k}", v) for k, v in zip(_IFACE_MAPPED, values, strict=True)}
        interfaces.append({**_take(pool, [str(iface.url), iface.binding]), **entry})
    _reinsert(interfaces, expect_list(ext.get("otherInterfaces", []), "otherInterfaces"), "interface")
    if not interfaces:
        if url_base is None:
            raise InvalidInput(
                "the declaration names no A2A interface and no url_base was given (A2A §8.3.1)"
            )
        url = f"{url_base.rstrip('/')}/{name}"
        interfaces = [
            {"url": url, "protocolBinding": DEFAULT_BINDING, "protocolVersion": A2A_PROTOCOL_VERSION}
        ]
    card["supportedInterfaces"] = interfaces
    card["version"] = t("version", declaration.version)
    if declaration.documentation_url is not None:
        card["documentationUrl"] = t("documentationUrl", str(declaration.documentation_url))
    pool = list(expect_list(ext.get("skills", []), "extensions.a2a.skills"))
    skills: list[Any] = []
    for n, skill in enumerate(declaration.skills):
        mapped: dict[str, Any] = {
            k: t(f"skills/{n}/{k}", getattr(skill, k)) for k in ("id", "name", "description")
        }
        mapped["tags"] = [
            t(f"skills/{n}/tags/{j}", v) for j, v in enumerate(skill.tags)
        ]  # REQUIRED, even empty
        if skill.examples:
            mapped["examples"] = [t(f"skills/{n}/examples/{j}", v) for j, v in enumerate(skill.examples)]
        skills.append({**mapped, **_take(pool, skill.id)})
    _reinsert(skills, expect_list(ext.get("otherSkills", []), "otherSkills"), "skill")
    card["skills"] = skills
    if provider is not None:
        card["provider"] = dict(provider)
    if not ext:  # a native declaration: fill in what A2A v1.0 requires
        card.update(capabilities={}, defaultInputModes=["text/plain"], defaultOutputModes=["text/plain"])
    signed = ext.get("signed")
    if isinstance(signed, dict) and signed.get("payload") == digest_bytes(signing_payload(card)):
        card["signatures"] = copy.deepcopy(expect_list(signed.get("signatures"), "extensions.a2a.signed"))
    return card


def sign_card(card: Mapping[str, Any], signer: Signer, *, kid: str | None = None) -> dict[str, Any]:
    """``card`` with one more signature; an Ed25519 signer without ``kid`` signs as its did:key."""
    if kid is None:
        if signer.algorithm != "EdDSA":
            raise InvalidInput("a kid is needed for a signer that is not Ed25519")
        kid = did_key_kid(did_key_from_public(signer.public_key_bytes()))
    signed = copy.deepcopy(dict(card))
    signed["signatures"] = [*_signatures(signed), sign_detached(signing_payload(card), signer, kid)]
    return signed


def verify_card(card: Mapping[str, Any], resolver: KeyResolver) -> tuple[str, ...]:
    """Verify every signature of ``card`` and return their kids; raise at the first that fails."""
    payload = signing_payload(card)
    return tuple(str(verify_detached(payload, sig, resolver)["kid"]) for sig in _signatures(card))


def export_card(
    name: str,
    declaration: Declaration,
    *,
    url_base: str | None = None,
    provider: Mapping[str, Any] | None = None,
    signer: Signer | None = None,
    kid: str | None = None,
) -> dict[str, Any]:
    """The v1.0 card of ``declaration``, signed by ``signer`` when one is given."""
    card = declaration_to_card(name, declaration, url_base=url_base, provider=provider)
    return card if signer is None else sign_card(card, signer, kid=kid)


def import_card(
    card_json: Mapping[str, Any] | str | bytes,
    *,
    resolver: KeyResolver | None = None,
    require_signature: bool = False,
    application_domains: Iterable[ApplicationDomain] = (ApplicationDomain.GENERAL,),
    deployment: Deployment | None = None,
) -> ImportedCard:
    """Read a card and verify every signature it carries (only did:key kids resolve without ``resolver``)."""
    raw = parse_json(card_json) if isinstance(card_json, str | bytes) else dict(card_json)
    card = expect_object(raw, "card")
    signatures = _signatures(card)
    if require_signature and not signatures:
        raise InvalidSignature("the Agent Card is not signed")
    kids = verify_card(card, resolver or DidKeyResolver()) if signatures else ()
    imported = card_to_declaration(card, application_domains=application_domains, deployment=deployment)
    return replace(imported, verified_kids=kids)
