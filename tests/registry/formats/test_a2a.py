"""A2A Agent Cards: the specification's sample cards, the a2a SDK's own types, and signed cards."""

from __future__ import annotations

import copy
import hashlib
import hmac
import importlib
import json
from pathlib import Path
from typing import Any

import pytest
from a2a.client.card_resolver import parse_agent_card
from a2a.server.request_handlers.response_helpers import agent_card_to_dict
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentExtension,
    AgentInterface,
    AgentProvider,
    AgentSkill,
    APIKeySecurityScheme,
    SecurityRequirement,
    SecurityScheme,
    StringList,
)
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st

from agentgov.core.canonical import canonical_json, parse_json
from agentgov.core.keys import Ed25519Signer, b64url, b64url_decode
from agentgov.errors import InvalidInput, InvalidSignature, UnsupportedAlgorithm
from agentgov.identity.didkey import did_key_from_public, did_key_kid
from agentgov.identity.jws import StaticKeyResolver
from agentgov.registry.declaration import ApplicationDomain, Declaration, Deployment, DeploymentMode
from agentgov.registry.formats.a2a import (
    CARD_V03,
    CARD_V10,
    card_to_declaration,
    declaration_to_card,
    export_card,
    import_card,
    sign_card,
    signing_payload,
    upgrade_v03_card,
    verify_card,
)

DATA = Path(__file__).parent / "data"
V10_SAMPLES = ["a2a-v1.0-main-sample-card.json", "a2a-v1.0.1-sample-card.json"]
V03_SAMPLE = "a2a-v0.3.0-sample-card.json"
_json_format = importlib.import_module("google.protobuf.json_format")


def load(name: str) -> dict[str, Any]:
    value: dict[str, Any] = parse_json((DATA / name).read_bytes())
    return value


def message_to_dict(card: AgentCard) -> dict[str, Any]:
    """The SDK's JSON form of a card (protobuf JSON mapping, as its signer canonicalises it)."""
    value: dict[str, Any] = _json_format.MessageToDict(card)
    return value


def round_trip(card: dict[str, Any]) -> dict[str, Any]:
    imported = card_to_declaration(card)
    return declaration_to_card(imported.name, imported.declaration)


class P256Signer:
    algorithm = "ES256"

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())

    def sign(self, message: bytes) -> bytes:
        r, s = decode_dss_signature(self.key.sign(message, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def public_key_bytes(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    def jwks(self, kid: str) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        x, y = (b64url(n.to_bytes(32, "big")) for n in (numbers.x, numbers.y))
        return {"keys": [{"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid}]}


def sdk_card() -> AgentCard:
    return AgentCard(
        name="Recipe Agent",
        description="Agent that helps users with recipes and cooking.",
        version="1.0.0",
        supported_interfaces=[
            AgentInterface(
                url="https://recipes.example.com/a2a", protocol_binding="JSONRPC", protocol_version="1.0"
            ),
            AgentInterface(
                url="https://recipes.example.com/grpc",
                protocol_binding="GRPC",
                protocol_version="1.0",
                tenant="eu",
            ),
        ],
        provider=AgentProvider(url="https://example.com", organization="Example Foods"),
        documentation_url="https://docs.example.com/recipes",
        capabilities=AgentCapabilities(
            streaming=True,
            push_notifications=False,
            extensions=[
                AgentExtension(uri="https://example.com/ext/allergens/v1", required=True, params={"eu": True})
            ],
        ),
        security_schemes={
            "key": SecurityScheme(
                api_key_security_scheme=APIKeySecurityScheme(location="header", name="X-Key")
            )
        },
        security_requirements=[SecurityRequirement(schemes={"key": StringList(list=["recipes:read"])})],
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain", "application/json"],
        skills=[
            AgentSkill(
                id="find-recipe",
                name="Find recipe",
                description="Finds a recipe for the ingredients at hand.",
                tags=["cooking", "recipes"],
                examples=["What can I cook with eggs and leeks?"],
                output_modes=["application/json"],
            )
        ],
        icon_url="https://recipes.example.com/icon.png",
    )


# --- the specification's sample cards -------------------------------------------------------------


@pytest.mark.parametrize("sample", V10_SAMPLES)
def test_v10_spec_card_round_trips_exactly(sample: str) -> None:
    card = load(sample)
    imported = card_to_declaration(card)
    assert imported.card_version == CARD_V10
    assert round_trip(card) == card


def test_v10_spec_card_maps_to_the_declaration() -> None:
    imported = card_to_declaration(load(V10_SAMPLES[0]))
    declaration = imported.declaration
    assert imported.name == "geospatial-route-planner-agent"
    assert imported.provider == {
        "organization": "Example Geo Services Inc.",
        "url": "https://www.examplegeoservices.com",
    }
    assert declaration.display_name == "GeoSpatial Route Planner Agent"
    assert declaration.version == "1.2.0"
    assert str(declaration.documentation_url) == "https://docs.examplegeoservices.com/georoute-agent/api"
    assert [(i.protocol.value, i.binding, i.protocol_version) for i in declaration.interfaces] == [
        ("a2a", "JSONRPC", "1.0"),
        ("a2a", "GRPC", "1.0"),
        ("a2a", "HTTP+JSON", "1.0"),
    ]
    assert [s.id for s in declaration.skills] == ["route-optimizer-traffic", "custom-map-generator"]
    assert "traffic" in declaration.all_tags()
    assert declaration.skills[0].examples[0].startswith("Plan a route")
    kept = declaration.extensions["a2a"]["card"]
    assert set(kept) == {
        "provider",
        "iconUrl",
        "capabilities",
        "securitySchemes",
        "securityRequirements",
        "defaultInputModes",
        "defaultOutputModes",
    }
    assert declaration.extensions["a2a"]["skills"][0]["members"]["inputModes"] == [
        "application/json",
        "text/plain",
    ]
    assert len(imported.signatures) == 1


def test_v03_spec_card_is_read_and_written_as_v10() -> None:
    card = load(V03_SAMPLE)
    imported = card_to_declaration(card)
    assert imported.card_version == CARD_V03
    exported = declaration_to_card(imported.name, imported.declaration)
    assert exported == upgrade_v03_card(card)
    for legacy in ("url", "preferredTransport", "additionalInterfaces", "protocolVersion", "security"):
        assert legacy not in exported
    assert "supportsAuthenticatedExtendedCard" not in exported
    assert exported["supportedInterfaces"] == [
        {
            "url": "https://georoute-agent.example.com/a2a/v1",
            "protocolBinding": "JSONRPC",
            "protocolVersion": "0.2.9",
        },
        {
            "url": "https://georoute-agent.example.com/a2a/grpc",
            "protocolBinding": "GRPC",
            "protocolVersion": "0.2.9",
        },
        {
            "url": "https://georoute-agent.example.com/a2a/json",
            "protocolBinding": "HTTP+JSON",
            "protocolVersion": "0.2.9",
        },
    ]
    assert exported["capabilities"] == {
        "streaming": True,
        "pushNotifications": True,
        "stateTransitionHistory": False,
        "extendedAgentCard": True,
    }
    assert exported["securitySchemes"] == {
        "google": {
            "openIdConnectSecurityScheme": {
                "openIdConnectUrl": "https://accounts.google.com/.well-known/openid-configuration"
            }
        }
    }
    assert exported["securityRequirements"] == [
        {"schemes": {"google": {"list": ["openid", "profile", "email"]}}}
    ]
    assert "signatures" not in exported  # they signed the v0.3 bytes
    assert imported.signatures == tuple(card["signatures"])
    assert round_trip(exported) == exported  # and from then on it is a v1.0 card


def test_v03_export_agrees_with_the_sdk_reading_of_the_same_card() -> None:
    card = load(V03_SAMPLE)
    exported = round_trip(card)
    ours = parse_agent_card(copy.deepcopy(exported))
    theirs = parse_agent_card(copy.deepcopy(card))

    # The SDK keeps the v0.3 main interface twice when additionalInterfaces repeats it; we keep it once.
    def interfaces(card: AgentCard) -> list[tuple[str, str, str]]:
        return [(i.url, i.protocol_binding, i.protocol_version) for i in card.supported_interfaces]

    assert interfaces(ours) == list(dict.fromkeys(interfaces(theirs)))
    del ours.supported_interfaces[:]
    del theirs.supported_interfaces[:]
    del theirs.signatures[:]
    assert ours == theirs


def test_v03_card_with_several_oauth_flows_and_skill_security_keeps_every_alternative() -> None:
    card = load(V03_SAMPLE)
    card["securitySchemes"] = {
        "oauth": {
            "type": "oauth2",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": "https://a/auth",
                    "tokenUrl": "https://a/token",
                    "scopes": {},
                },
                "clientCredentials": {"tokenUrl": "https://a/token", "scopes": {"read": "read"}},
            },
        },
        "key": {"type": "apiKey", "in": "header", "name": "X-Key", "description": "key"},
        "mtls": {"type": "mutualTLS"},
    }
    card["security"] = [{"oauth": ["read"], "mtls": []}, {"key": []}]
    card["skills"][0]["security"] = [{"key": []}]
    exported = round_trip(card)
    assert exported["securitySchemes"] == {
        "oauth": {
            "oauth2SecurityScheme": {
                "flows": {"authorizationCode": card["securitySchemes"]["oauth"]["flows"]["authorizationCode"]}
            }
        },
        "oauth.clientCredentials": {
            "oauth2SecurityScheme": {
                "flows": {"clientCredentials": card["securitySchemes"]["oauth"]["flows"]["clientCredentials"]}
            }
        },
        "key": {"apiKeySecurityScheme": {"location": "header", "name": "X-Key", "description": "key"}},
        "mtls": {"mtlsSecurityScheme": {}},
    }
    assert exported["securityRequirements"] == [
        {"schemes": {"oauth": {"list": ["read"]}, "mtls": {"list": []}}},
        {"schemes": {"oauth.clientCredentials": {"list": ["read"]}, "mtls": {"list": []}}},
        {"schemes": {"key": {"list": []}}},
    ]
    assert exported["skills"][0]["securityRequirements"] == [{"schemes": {"key": {"list": []}}}]
    assert "security" not in exported["skills"][0]
    parse_agent_card(copy.deepcopy(exported))  # a v1.0 reader accepts it


# --- the a2a SDK's own types -------------------------------------------------------------------------


def test_card_built_with_sdk_types_round_trips_through_the_sdk() -> None:
    card = sdk_card()
    as_json = json.loads(json.dumps(message_to_dict(card)))
    exported = round_trip(as_json)
    assert exported == as_json
    assert parse_agent_card(copy.deepcopy(exported)) == card


def test_card_served_by_the_sdk_round_trips() -> None:
    # agent_card_to_dict is what the SDK serves at /.well-known/agent-card.json: with an interface for
    # v0.3 clients, the v1.0 card also carries the v0.3 members (url, preferredTransport, security...).
    card = sdk_card()
    v03 = AgentInterface(
        url="https://recipes.example.com/v03", protocol_binding="JSONRPC", protocol_version="0.3"
    )
    card.supported_interfaces.append(v03)
    served = json.loads(json.dumps(agent_card_to_dict(card)))
    assert {"supportedInterfaces", "url", "preferredTransport", "security"} <= set(served)
    imported = card_to_declaration(served)
    assert imported.card_version == CARD_V10
    exported = declaration_to_card(imported.name, imported.declaration)
    assert exported == served
    assert parse_agent_card(copy.deepcopy(exported)) == card


def test_card_signed_by_the_sdk_verifies_here() -> None:
    signing = pytest.importorskip("a2a.utils.signing")
    signer = P256Signer()
    pem = signer.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    sign = signing.create_agent_card_signer(pem, {"alg": "ES256", "kid": "key-1", "typ": "JOSE"})
    signed = message_to_dict(sign(sdk_card()))
    imported = import_card(signed, resolver=StaticKeyResolver.from_jwks(signer.jwks("key-1")))
    assert imported.verified_kids == ("key-1",)


def test_card_signed_here_verifies_with_the_sdk() -> None:
    signing = pytest.importorskip("a2a.utils.signing")
    signer = Ed25519Signer.generate()
    imported = card_to_declaration(message_to_dict(sdk_card()))
    card = export_card(imported.name, imported.declaration, signer=signer)
    public = Ed25519PublicKey.from_public_bytes(signer.public_key_bytes())

    def key_provider(kid: str | None, jku: str | None) -> Any:
        assert kid == did_key_kid(did_key_from_public(signer.public_key_bytes()))
        return public

    verify = signing.create_signature_verifier(key_provider, ["EdDSA"])
    verify(parse_agent_card(copy.deepcopy(card)))


# --- signatures ------------------------------------------------------------------------------------


def signed_card(signer: Any = None, kid: str | None = None) -> dict[str, Any]:
    imported = card_to_declaration(load(V10_SAMPLES[0]) | {"signatures": []})
    return export_card("georoute", imported.declaration, signer=signer or Ed25519Signer.generate(), kid=kid)


def test_eddsa_signed_card_verifies_with_its_did_key() -> None:
    signer = Ed25519Signer.generate()
    card = signed_card(signer)
    imported = import_card(json.dumps(card, indent=2).encode(), require_signature=True)
    assert imported.verified_kids == (did_key_kid(did_key_from_public(signer.public_key_bytes())),)


def test_es256_signed_card_verifies_with_its_jwk() -> None:
    signer = P256Signer()
    card = signed_card(signer, kid="key-1")
    imported = import_card(card, resolver=StaticKeyResolver.from_jwks(signer.jwks("key-1")))
    assert imported.verified_kids == ("key-1",)


def test_tampered_card_signature_is_refused() -> None:
    card = signed_card()
    card["supportedInterfaces"][0]["url"] = "https://attacker.example/a2a"
    with pytest.raises(InvalidSignature):
        import_card(card)


def test_card_signed_by_other_key_is_refused() -> None:
    signer, other = P256Signer(), P256Signer()
    card = signed_card(signer, kid="key-1")
    with pytest.raises(InvalidSignature):
        import_card(card, resolver=StaticKeyResolver.from_jwks(other.jwks("key-1")))
    impostor = signed_card(Ed25519Signer.generate(), kid=did_key_kid(did_key_from_public(b"\x02" * 32)))
    with pytest.raises(InvalidSignature):
        import_card(impostor)


def test_card_with_alg_none_is_refused() -> None:
    card = signed_card()
    kid = parse_json(b64url_decode(card["signatures"][0]["protected"]))["kid"]
    card["signatures"] = [{"protected": b64url(canonical_json({"alg": "none", "kid": kid})), "signature": ""}]
    with pytest.raises(UnsupportedAlgorithm):
        import_card(card)


def test_card_with_hs256_is_refused() -> None:
    card = signed_card()
    protected = b64url(canonical_json({"alg": "HS256", "kid": "key-1", "typ": "JOSE"}))
    mac = hmac.new(b"shared secret", f"{protected}.{b64url(signing_payload(card))}".encode(), hashlib.sha256)
    card["signatures"] = [{"protected": protected, "signature": b64url(mac.digest())}]
    with pytest.raises(UnsupportedAlgorithm):
        import_card(card, resolver=StaticKeyResolver({}))


def test_every_signature_must_verify() -> None:
    good = signed_card()
    bad = sign_card(good, Ed25519Signer.generate(), kid="key-unknown")
    assert len(bad["signatures"]) == 2
    with pytest.raises(InvalidSignature, match="no key known"):
        import_card(bad)


def test_unsigned_card_is_refused_when_a_signature_is_required() -> None:
    with pytest.raises(InvalidSignature, match="not signed"):
        import_card(load(V03_SAMPLE) | {"signatures": []}, require_signature=True)


def test_spec_sample_signature_cannot_be_verified_without_its_key() -> None:
    with pytest.raises(InvalidSignature, match="no key known"):
        import_card(load(V10_SAMPLES[0]))


def test_edited_declaration_does_not_carry_stale_signatures() -> None:
    card = signed_card()
    imported = import_card(card)
    assert declaration_to_card("georoute", imported.declaration) == card
    edited = imported.declaration.model_copy(update={"description": "Plans routes. Now with ferries."})
    exported = declaration_to_card("georoute", edited)
    assert "signatures" not in exported
    assert exported["description"] == "Plans routes. Now with ferries."


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def reorder(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: reorder(v) for k, v in reversed(list(value.items()))}
    if isinstance(value, list):
        return [reorder(v) for v in value]
    return value


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(st.text(max_size=12).filter(lambda k: k != "signatures"), json_values, max_size=6),
    st.integers(0, 4),
)
def test_canonical_signing_ignores_member_order_and_whitespace(card: dict[str, Any], indent: int) -> None:
    compact = parse_json(json.dumps(card, separators=(",", ":"), ensure_ascii=False))
    spaced = parse_json(json.dumps(reorder(card), indent=indent or None, ensure_ascii=True))
    signer = Ed25519Signer.from_seed(b"\x07" * 32)
    assert signing_payload(compact) == signing_payload(spaced)
    signed = sign_card(compact, signer)
    assert sign_card(spaced, signer)["signatures"] == signed["signatures"]
    verify_card(spaced | {"signatures": signed["signatures"]}, StaticKeyResolver({}, did_key=True))


# --- what survives, and what is refused ------------------------------------------------------------


def test_unknown_members_survive_a_round_trip() -> None:
    card = load(V10_SAMPLES[0])
    del card["signatures"]
    card["x-vendor"] = {"tier": 3, "regions": ["cn-north-1"]}
    card["supportedInterfaces"].insert(
        1,
        {
            "url": "wss://georoute-agent.example.com/ws",
            "protocolBinding": "https://a2a-protocol.org/bindings/websocket",
            "protocolVersion": "1.0",
        },
    )
    card["supportedInterfaces"].append(
        {
            "url": "https://georoute-agent.example.com",
            "protocolBinding": "JSONRPC",
            "protocolVersion": "1.0",
            "tenant": "t-9",
        }
    )
    card["skills"][0]["x-cost"] = {"currency": "CNY", "perCall": 0.02}
    card["skills"].insert(1, {"id": "odd", "name": "Odd", "description": "", "tags": ["a,b"]})
    card["skills"][2]["name"] = "  Personalized Map Generator  "
    card["documentationUrl"] = "ftp://docs.example.com/georoute"
    assert round_trip(card) == card
    declaration = card_to_declaration(card).declaration
    assert [s.id for s in declaration.skills] == ["route-optimizer-traffic", "custom-map-generator"]
    assert len(declaration.interfaces) == 4
    assert declaration.documentation_url is None


def test_normalised_strings_are_written_back_where_they_were_read() -> None:
    card = load(V10_SAMPLES[0])
    del card["signatures"]
    card["skills"][0]["name"] = "Maps "
    card["skills"][1]["name"] = "Maps"
    card["skills"][1]["tags"][0] = " maps"
    assert round_trip(card) == card
    imported = card_to_declaration(card)
    skills = list(imported.declaration.skills)
    skills[0] = skills[0].model_copy(update={"name": "Route optimiser"})
    edited = imported.declaration.model_copy(update={"skills": tuple(skills)})
    exported = declaration_to_card(imported.name, edited)
    assert [s["name"] for s in exported["skills"]] == ["Route optimiser", "Maps"]
    assert exported["skills"][1]["tags"][0] == " maps"


def test_native_declaration_exports_a_complete_v10_card() -> None:
    declaration = Declaration(
        display_name="Invoice Checker",
        description="Checks VAT invoices against the tax authority's records.",
        deployment=Deployment(mode=DeploymentMode.CLOUD),
        application_domains=(ApplicationDomain.FINANCE,),
    )
    card = declaration_to_card(
        "invoice-checker",
        declaration,
        url_base="https://gw.example.cn/a2a/",
        provider={"organization": "Example Ltd", "url": "https://example.cn"},
    )
    assert card["supportedInterfaces"] == [
        {
            "url": "https://gw.example.cn/a2a/invoice-checker",
            "protocolBinding": "JSONRPC",
            "protocolVersion": "1.0",
        }
    ]
    assert card["capabilities"] == {}
    assert card["skills"] == []
    parsed = parse_agent_card(copy.deepcopy(card))
    assert parsed.provider.organization == "Example Ltd"
    with pytest.raises(InvalidInput, match="no A2A interface"):
        declaration_to_card("invoice-checker", declaration)
    with pytest.raises(InvalidInput, match="agent name"):
        declaration_to_card("Invoice Checker", declaration, url_base="https://gw.example.cn")


@pytest.mark.parametrize(
    "kept",
    ["not an object", {"otherSkills": [{"skill": {"id": "x"}}]}, {"skills": [{"key": "x", "members": []}]}],
)
def test_malformed_a2a_extension_is_refused_on_export(kept: Any) -> None:
    declaration = card_to_declaration(load(V10_SAMPLES[0])).declaration
    broken = declaration.model_copy(update={"extensions": {"a2a": kept}})
    if isinstance(kept, dict) and "skills" in kept:
        broken = broken.model_copy(update={"skills": (declaration.skills[0].model_copy(update={"id": "x"}),)})
    with pytest.raises(InvalidInput, match=r"extensions\.a2a"):
        declaration_to_card("georoute", broken)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda c: c.pop("supportedInterfaces"), "not an Agent Card"),
        (lambda c: c.update(name=7), "name must be a string"),
        (lambda c: c.update(description=""), "description"),
        (lambda c: c.update(skills={"id": "x"}), "skills must be a JSON array"),
        (lambda c: c["supportedInterfaces"].append({"url": "https://x"}), "protocolBinding must be a string"),
        (lambda c: c.update(signatures={"protected": "x"}), "signatures must be a JSON array"),
    ],
)
def test_malformed_card_is_refused_with_a_reason(mutate: Any, reason: str) -> None:
    card = load(V10_SAMPLES[0])
    mutate(card)
    with pytest.raises(InvalidInput, match=reason):
        card_to_declaration(card)


def test_card_that_is_not_json_is_refused() -> None:
    with pytest.raises(InvalidInput):
        import_card(b'{"name": "a", "name": "b"}')
    with pytest.raises(InvalidInput, match="JSON object"):
        import_card("[1, 2]")
