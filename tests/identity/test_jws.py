"""Detached JWS (RFC 7515): the allow-list, header rules, key resolution, JWKs, and PyJWT as a peer."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from agentgov.core.canonical import canonical_json
from agentgov.core.keys import Ed25519Signer, Ed25519Verifier, P256Verifier, Verifier, b64url, b64url_decode
from agentgov.errors import InvalidInput, InvalidSignature, UnsupportedAlgorithm
from agentgov.identity import jws
from agentgov.identity.didkey import did_key_from_public, did_key_kid
from agentgov.identity.jws import (
    DidKeyResolver,
    StaticKeyResolver,
    jwk_from_ed25519,
    sign_detached,
    verifier_from_jwk,
    verify_detached,
)

PAYLOAD = canonical_json({"name": "Recipe Agent", "version": "1.0.0"})


class P256Signer:
    """ES256 for the tests: the core ships ES256 verification only."""

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

    def jwk(self, kid: str) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        x, y = (b64url(n.to_bytes(32, "big")) for n in (numbers.x, numbers.y))
        return {"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "alg": "ES256", "use": "sig"}


class ExplodingResolver:
    """A resolver that must never be reached."""

    def resolve(self, kid: str, header: Mapping[str, Any]) -> Verifier:
        raise AssertionError("the key was looked up before the algorithm was refused")


def ed25519() -> tuple[Ed25519Signer, str]:
    signer = Ed25519Signer.generate()
    return signer, did_key_kid(did_key_from_public(signer.public_key_bytes()))


def forged(protected: dict[str, Any], signature: bytes = b"\0" * 32, **extra: Any) -> dict[str, Any]:
    return {"protected": b64url(canonical_json(protected)), "signature": b64url(signature), **extra}


def test_eddsa_signature_with_did_key_kid_verifies() -> None:
    signer, kid = ed25519()
    obj = sign_detached(PAYLOAD, signer, kid)
    header = verify_detached(PAYLOAD, obj, DidKeyResolver())
    assert header == {"alg": "EdDSA", "kid": kid, "typ": "JOSE"}
    assert set(obj) == {"protected", "signature"}


def test_es256_signature_verifies_through_a_jwk_set() -> None:
    signer = P256Signer()
    obj = sign_detached(PAYLOAD, signer, "key-1", jku="https://example.com/agent/jwks.json")
    resolver = StaticKeyResolver.from_jwks({"keys": [signer.jwk("key-1")]})
    header = verify_detached(PAYLOAD, obj, resolver)
    assert header["alg"] == "ES256"
    assert header["jku"] == "https://example.com/agent/jwks.json"


def test_tampered_payload_is_refused() -> None:
    signer, kid = ed25519()
    obj = sign_detached(PAYLOAD, signer, kid)
    with pytest.raises(InvalidSignature):
        verify_detached(PAYLOAD.replace(b"1.0.0", b"1.0.1"), obj, DidKeyResolver())


def test_tampered_protected_header_is_refused() -> None:
    signer, kid = ed25519()
    obj = sign_detached(PAYLOAD, signer, kid)
    header = {"alg": "EdDSA", "kid": kid, "typ": "JWT"}
    with pytest.raises(InvalidSignature):
        verify_detached(PAYLOAD, {**obj, "protected": b64url(canonical_json(header))}, DidKeyResolver())


def test_signature_by_other_key_under_a_did_key_kid_is_refused() -> None:
    _, kid = ed25519()
    obj = sign_detached(PAYLOAD, Ed25519Signer.generate(), kid)
    with pytest.raises(InvalidSignature):
        verify_detached(PAYLOAD, obj, DidKeyResolver())


@pytest.mark.parametrize(
    "alg", ["none", "None", "HS256", "HS384", "HS512", "RS256", "PS256", "ES384", "", None]
)
def test_algorithm_off_the_allow_list_is_refused_before_key_lookup(alg: str | None) -> None:
    header: dict[str, Any] = {"kid": "key-1"} if alg is None else {"alg": alg, "kid": "key-1"}
    with pytest.raises(UnsupportedAlgorithm):
        verify_detached(PAYLOAD, forged(header, b""), ExplodingResolver())


def test_alg_none_with_empty_signature_is_refused() -> None:
    with pytest.raises(UnsupportedAlgorithm):
        verify_detached(
            PAYLOAD, {"protected": b64url(b'{"alg":"none","kid":"k"}'), "signature": ""}, DidKeyResolver()
        )


def test_hs256_signed_with_the_public_key_as_secret_is_refused() -> None:
    # The classic confusion: an HMAC keyed with the verifier's public key bytes.
    signer, kid = ed25519()
    protected = b64url(canonical_json({"alg": "HS256", "kid": kid}))
    mac = hmac.new(signer.public_key_bytes(), f"{protected}.{b64url(PAYLOAD)}".encode(), hashlib.sha256)
    with pytest.raises(UnsupportedAlgorithm):
        verify_detached(
            PAYLOAD, {"protected": protected, "signature": b64url(mac.digest())}, DidKeyResolver()
        )


def test_signer_off_the_allow_list_cannot_sign() -> None:
    class HmacSigner(Ed25519Signer):
        algorithm = "HS256"

    with pytest.raises(UnsupportedAlgorithm):
        sign_detached(PAYLOAD, HmacSigner.generate(), "k")


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        (forged({"alg": "EdDSA", "kid": "k", "crit": ["exp"], "exp": 1}), "not understood"),
        (forged({"alg": "EdDSA", "kid": "k", "crit": []}), "non-empty"),
        (forged({"alg": "EdDSA", "kid": "k"}, header={"crit": ["exp"]}), "integrity protected"),
        (forged({"alg": "EdDSA", "kid": "k"}, header={"kid": "other"}), "both protected and unprotected"),
        (forged({"alg": "EdDSA", "kid": "k"}, header={"alg": "none"}), "both protected and unprotected"),
        (forged({"alg": "EdDSA", "kid": "k", "b64": False, "crit": ["b64"]}), "not understood"),
        (forged({"alg": "EdDSA", "kid": "k", "b64": False}), "b64"),
        (forged({"alg": "EdDSA"}), "kid"),
        (forged({"alg": "EdDSA", "kid": ""}), "kid"),
        (forged({"alg": "EdDSA", "kid": "k", "jku": 7}), "jku"),
        (forged({"alg": "EdDSA", "kid": "k"}, payload="x"), "unknown JWS signature members"),
        (forged({"alg": "EdDSA", "kid": "k"}, header="x"), "unprotected header"),
        ({"protected": "e30=", "signature": ""}, "base64url"),
        ({"protected": b64url(b"[1]"), "signature": ""}, "JSON object"),
        ({"protected": b64url(b"{nope"), "signature": ""}, "not JSON"),
        ({"protected": b64url(b'{"alg":"EdDSA","alg":"none","kid":"k"}'), "signature": ""}, "not JSON"),
        ({"signature": ""}, "base64url"),
    ],
)
def test_malformed_signature_object_is_refused(obj: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidSignature, match=reason):
        verify_detached(PAYLOAD, obj, StaticKeyResolver({"k": Ed25519Signer.generate().verifier()}))


def test_key_of_another_algorithm_is_refused() -> None:
    signer, _ = ed25519()
    obj = sign_detached(PAYLOAD, signer, "k")
    es256_key = P256Verifier(ec.generate_private_key(ec.SECP256R1()).public_key())
    with pytest.raises(InvalidSignature, match="ES256 key"):
        verify_detached(PAYLOAD, obj, StaticKeyResolver({"k": es256_key}))


def test_unknown_kid_is_refused() -> None:
    signer, _ = ed25519()
    obj = sign_detached(PAYLOAD, signer, "key-9")
    with pytest.raises(InvalidSignature, match="no key known"):
        verify_detached(PAYLOAD, obj, StaticKeyResolver({}))
    with pytest.raises(InvalidSignature, match="no key known"):
        verify_detached(PAYLOAD, obj, DidKeyResolver())
    bad_did = sign_detached(PAYLOAD, signer, "did:key:z6Mk")
    with pytest.raises(InvalidSignature, match="did:key"):
        verify_detached(PAYLOAD, bad_did, StaticKeyResolver({}, did_key=True))


def test_unprotected_header_is_carried_but_not_trusted() -> None:
    signer, kid = ed25519()
    obj = sign_detached(PAYLOAD, signer, kid, header={"note": "rotated 2026-03"})
    assert obj["header"] == {"note": "rotated 2026-03"}
    assert verify_detached(PAYLOAD, obj, DidKeyResolver())["kid"] == kid
    with pytest.raises(InvalidInput, match="disjoint"):
        sign_detached(PAYLOAD, signer, kid, header={"kid": "other"})


def test_rfc8037_ed25519_vector_signing_input() -> None:
    # RFC 8037 Appendix A.4: the JWS of "Example of Ed25519 signing" under the A.2 public key.
    key = Ed25519Verifier(b64url_decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"))
    signature = b64url_decode(
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
    )
    key.verify(jws._signing_input("eyJhbGciOiJFZERTQSJ9", b"Example of Ed25519 signing"), signature)


def test_jwk_parser_reads_the_did_key_spec_example() -> None:
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "Lm_M42cB3HkUiODQsXRcweM6TByfzEHGO9ND274JcOY"}
    verifier = verifier_from_jwk(jwk)
    assert isinstance(verifier, Ed25519Verifier)
    assert (
        did_key_from_public(verifier.public_key) == "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    )
    assert verifier_from_jwk(jwk_from_ed25519(verifier.public_key, kid="k"))


@pytest.mark.parametrize(
    ("jwk", "error", "reason"),
    [
        ({"kty": "oct", "k": "c2VjcmV0"}, UnsupportedAlgorithm, "kty"),
        ({"kty": "RSA", "n": "AQAB", "e": "AQAB"}, UnsupportedAlgorithm, "kty"),
        ({"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}, UnsupportedAlgorithm, "P-384"),
        ({"kty": "OKP", "crv": "X25519", "x": b64url(b"\1" * 32)}, UnsupportedAlgorithm, "X25519"),
        (
            {"kty": "OKP", "crv": "Ed25519", "x": b64url(b"\1" * 32), "d": b64url(b"\2" * 32)},
            InvalidInput,
            "private",
        ),
        ({"kty": "OKP", "crv": "Ed25519", "x": b64url(b"\1" * 31)}, InvalidInput, "32 bytes"),
        (
            {"kty": "OKP", "crv": "Ed25519", "x": b64url(b"\1" * 32), "alg": "ES256"},
            UnsupportedAlgorithm,
            "alg",
        ),
        ({"kty": "OKP", "crv": "Ed25519", "x": b64url(b"\1" * 32), "use": "enc"}, InvalidInput, "use"),
        (
            {"kty": "OKP", "crv": "Ed25519", "x": b64url(b"\1" * 32), "key_ops": ["sign"]},
            InvalidInput,
            "key_ops",
        ),
        (
            {"kty": "EC", "crv": "P-256", "x": b64url(b"\1" * 32), "y": b64url(b"\1" * 32)},
            InvalidInput,
            "curve",
        ),
        ({"kty": "OKP", "crv": "Ed25519", "x": "not base64!"}, InvalidInput, "base64url"),
    ],
)
def test_unusable_jwk_is_refused(jwk: dict[str, Any], error: type[Exception], reason: str) -> None:
    with pytest.raises(error, match=reason):
        verifier_from_jwk(jwk)


def test_jwk_set_needs_unique_kids() -> None:
    jwk = jwk_from_ed25519(Ed25519Signer.generate().public_key_bytes(), kid="k")
    with pytest.raises(InvalidInput, match="unique"):
        StaticKeyResolver.from_jwks({"keys": [jwk, jwk]})
    with pytest.raises(InvalidInput, match="keys"):
        StaticKeyResolver.from_jwks({"key": [jwk]})


def test_pyjwt_signatures_verify_here_and_ours_verify_there() -> None:
    # Detached content as RFC 7515 Appendix F describes it (and as the a2a SDK does): sign the compact
    # serialisation, then drop its payload segment.
    jwt = pytest.importorskip("jwt")
    signer = P256Signer()
    token = jwt.api_jws.encode(
        PAYLOAD, signer.key, algorithm="ES256", headers={"kid": "key-1", "typ": "JOSE"}
    )
    protected, _, signature = token.split(".")
    resolver = StaticKeyResolver.from_jwks({"keys": [signer.jwk("key-1")]})
    assert (
        verify_detached(PAYLOAD, {"protected": protected, "signature": signature}, resolver)["kid"] == "key-1"
    )

    ours = sign_detached(PAYLOAD, signer, "key-1")
    compact = f"{ours['protected']}.{b64url(PAYLOAD)}.{ours['signature']}"
    decoded = jwt.api_jws.decode_complete(compact, signer.key.public_key(), algorithms=["ES256"])
    assert decoded["payload"] == PAYLOAD
    assert decoded["header"] == {"alg": "ES256", "kid": "key-1", "typ": "JOSE"}


def test_pyjwt_unencoded_payload_is_refused() -> None:
    jwt = pytest.importorskip("jwt")
    signer = P256Signer()
    token = jwt.api_jws.encode(
        PAYLOAD, signer.key, algorithm="ES256", headers={"kid": "k"}, is_payload_detached=True
    )
    protected, _, signature = token.split(".")
    resolver = StaticKeyResolver.from_jwks({"keys": [signer.jwk("k")]})
    with pytest.raises(InvalidSignature, match="b64"):
        verify_detached(PAYLOAD, {"protected": protected, "signature": signature}, resolver)
