"""JWS (RFC 7515) with a detached payload, as A2A Agent Card signatures use it (A2A v1.0 §8.4).

A signature object is ``{"protected": b64url(header JSON), "signature": b64url(sig)}`` with an optional
unprotected ``"header"`` object; the payload is carried elsewhere (for a card: the RFC 8785 bytes of the
card without its ``signatures`` member). The signing input is ``b64url(protected) "." b64url(payload)``
(RFC 7515 §5.1).

Only EdDSA (Ed25519) and ES256 (P-256, 64-byte R||S) are accepted; ``none``, HS* and every other ``alg``
raise UnsupportedAlgorithm before any key is looked up. The key comes from a :class:`KeyResolver` keyed by
the protected ``kid``, never from the message (an embedded ``jwk`` or ``x5c`` is not trusted).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric import ec

from agentgov.core.canonical import canonical_json, parse_json
from agentgov.core.keys import Ed25519Verifier, P256Verifier, Signer, Verifier, b64url, b64url_decode
from agentgov.errors import InvalidInput, InvalidSignature, UnsupportedAlgorithm
from agentgov.identity.didkey import DID_KEY_PREFIX, public_from_did_key_url

__all__ = [
    "ALLOWED_ALGORITHMS",
    "DidKeyResolver",
    "KeyResolver",
    "StaticKeyResolver",
    "jwk_from_ed25519",
    "sign_detached",
    "verifier_from_jwk",
    "verify_detached",
]

ALLOWED_ALGORITHMS = frozenset({"EdDSA", "ES256"})
_UNDERSTOOD_CRIT: frozenset[str] = frozenset()  # no extension header is implemented (RFC 7515 §4.1.11)
_SIGNATURE_MEMBERS = frozenset({"protected", "signature", "header"})
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")
_COORD_LEN = 32  # Ed25519 x, P-256 x and y (RFC 8037 §2, RFC 7518 §6.2.1.2)


class KeyResolver(Protocol):
    def resolve(self, kid: str, header: Mapping[str, Any]) -> Verifier:
        """The verifier for ``kid``; raise InvalidSignature when the key is unknown."""
        ...


class DidKeyResolver:
    """Resolves did:key kids (``did:key:z...#z...``) to Ed25519 verifiers; knows no other key."""

    def resolve(self, kid: str, header: Mapping[str, Any]) -> Verifier:
        if not kid.startswith(DID_KEY_PREFIX):
            raise InvalidSignature(f"no key known for kid {kid[:80]!r}")
        try:
            return Ed25519Verifier(public_from_did_key_url(kid))
        except InvalidInput as exc:
            raise InvalidSignature(f"kid is not a usable did:key: {exc.detail}") from exc


class StaticKeyResolver:
    """Exact ``kid`` lookup in a fixed table, optionally falling back to did:key kids."""

    def __init__(self, keys: Mapping[str, Verifier], *, did_key: bool = False) -> None:
        self._keys = dict(keys)
        self._did_key = DidKeyResolver() if did_key else None

    @classmethod
    def from_jwks(cls, jwks: Mapping[str, Any], *, did_key: bool = False) -> StaticKeyResolver:
        """A resolver over a JWK Set (RFC 7517 §5); every key must carry a unique ``kid``."""
        keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
        if not isinstance(keys, list):
            raise InvalidInput("a JWK Set is an object with a 'keys' array")
        table: dict[str, Verifier] = {}
        for jwk in keys:
            kid = jwk.get("kid") if isinstance(jwk, Mapping) else None
            if not isinstance(kid, str) or not kid or kid in table:
                raise InvalidInput("every key of the JWK Set needs a unique, non-empty kid")
            table[kid] = verifier_from_jwk(jwk)
        return cls(table, did_key=did_key)

    def resolve(self, kid: str, header: Mapping[str, Any]) -> Verifier:
        verifier = self._keys.get(kid)
        if verifier is not None:
            return verifier
        if self._did_key is not None:
            return self._did_key.resolve(kid, header)
        raise InvalidSignature(f"no key known for kid {kid[:80]!r}")


def _coordinate(jwk: Mapping[str, Any], name: str) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str) or not _B64URL.match(value):
        raise InvalidInput(f"JWK member {name!r} must be a base64url string")
    raw = b64url_decode(value)
    if len(raw) != _COORD_LEN:
        raise InvalidInput(f"JWK member {name!r} must be 32 bytes, got {len(raw)}")
    return raw


def verifier_from_jwk(jwk: Mapping[str, Any]) -> Verifier:
    """A verifier for a public JWK: OKP/Ed25519 (RFC 8037) or EC/P-256 (RFC 7518 §6.2)."""
    if not isinstance(jwk, Mapping):
        raise InvalidInput("a JWK is a JSON object")
    if "d" in jwk:
        raise InvalidInput("JWK carries private key material ('d'); only public keys are accepted")
    if jwk.get("use", "sig") != "sig":
        raise InvalidInput("JWK 'use' must be 'sig' for a signature key")
    ops = jwk.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        raise InvalidInput("JWK 'key_ops' does not allow 'verify'")
    kty, crv, alg = jwk.get("kty"), jwk.get("crv"), jwk.get("alg")
    verifier: Verifier
    if kty == "OKP" and crv == "Ed25519":
        expected, verifier = "EdDSA", Ed25519Verifier(_coordinate(jwk, "x"))
    elif kty == "EC" and crv == "P-256":
        x, y = (int.from_bytes(_coordinate(jwk, n), "big") for n in ("x", "y"))
        try:
            key = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
        except ValueError as exc:
            raise InvalidInput("JWK point is not on the P-256 curve") from exc
        expected, verifier = "ES256", P256Verifier(key)
    else:
        raise UnsupportedAlgorithm(f"JWK kty={kty!r} crv={crv!r}: only OKP/Ed25519 and EC/P-256 are accepted")
    if alg is not None and alg != expected:
        raise UnsupportedAlgorithm(f"JWK alg {alg!r} does not match its key type ({expected})")
    return verifier


def jwk_from_ed25519(public_key: bytes, *, kid: str | None = None) -> dict[str, Any]:
    """The public JWK (RFC 8037 §2) of a raw Ed25519 key."""
    Ed25519Verifier(public_key)  # length check
    jwk: dict[str, Any] = {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url(public_key),
        "alg": "EdDSA",
        "use": "sig",
    }
    if kid is not None:
        jwk["kid"] = kid
    return jwk


def _signing_input(protected: str, payload: bytes) -> bytes:
    return f"{protected}.{b64url(payload)}".encode("ascii")  # RFC 7515 §5.1 step 5


def sign_detached(
    payload: bytes,
    signer: Signer,
    kid: str,
    *,
    typ: str | None = "JOSE",
    jku: str | None = None,
    header: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A detached-payload JWS signature object over ``payload``."""
    if signer.algorithm not in ALLOWED_ALGORITHMS:
        raise UnsupportedAlgorithm(f"signing algorithm {signer.algorithm!r} is not on the allow-list")
    if not kid:
        raise InvalidInput("a signature needs a kid")
    protected_header: dict[str, Any] = {"alg": signer.algorithm, "kid": kid}
    if typ is not None:
        protected_header["typ"] = typ  # A2A v1.0 §8.4.2: SHOULD be "JOSE"
    if jku is not None:
        protected_header["jku"] = jku
    if header and set(header) & set(protected_header):
        raise InvalidInput("protected and unprotected header names must be disjoint (RFC 7515 §7.2.1)")
    protected = b64url(canonical_json(protected_header))
    obj: dict[str, Any] = {
        "protected": protected,
        "signature": b64url(signer.sign(_signing_input(protected, payload))),
    }
    if header:
        obj["header"] = dict(header)
    return obj


def _decode(text: Any, what: str) -> bytes:
    if not isinstance(text, str) or not _B64URL.match(text):
        raise InvalidSignature(f"JWS {what} must be a base64url string")
    try:
        return b64url_decode(text)
    except InvalidInput as exc:
        raise InvalidSignature(f"JWS {what} is not base64url: {exc.detail}") from exc


def _protected_header(signature_obj: Mapping[str, Any]) -> dict[str, Any]:
    try:
        header = parse_json(_decode(signature_obj.get("protected"), "protected header"))
    except InvalidInput as exc:
        raise InvalidSignature(f"JWS protected header is not JSON: {exc.detail}") from exc
    if not isinstance(header, dict):
        raise InvalidSignature("JWS protected header must be a JSON object")
    return header


def _check_headers(header: Mapping[str, Any], unprotected: Mapping[str, Any]) -> str:
    """Header rules after the alg check; return the kid."""
    if clash := set(header) & set(unprotected):
        raise InvalidSignature(f"header names appear both protected and unprotected: {sorted(clash)}")
    if "crit" in unprotected:
        raise InvalidSignature("crit must be integrity protected (RFC 7515 §4.1.11)")
    crit = header.get("crit")
    if crit is not None:
        if not isinstance(crit, list) or not crit or not all(isinstance(c, str) for c in crit):
            raise InvalidSignature("crit must be a non-empty array of names (RFC 7515 §4.1.11)")
        if not_understood := set(crit) - _UNDERSTOOD_CRIT:
            raise InvalidSignature(f"critical header parameters not understood: {sorted(not_understood)}")
    if "b64" in header or "b64" in unprotected:
        raise InvalidSignature("unencoded payloads (RFC 7797 b64) are not accepted")
    for name in ("jku", "typ"):
        if name in header and not isinstance(header[name], str):
            raise InvalidSignature(f"JWS header {name} must be a string")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidSignature("JWS protected header must carry a kid")
    return kid


def verify_detached(
    payload: bytes, signature_obj: Mapping[str, Any], resolver: KeyResolver
) -> dict[str, Any]:
    """Verify one detached JWS signature over ``payload``; return the protected header.

    Raises UnsupportedAlgorithm for an alg off the allow-list and InvalidSignature for everything else
    that is wrong. Never returns a falsy result for a bad signature.
    """
    if not isinstance(signature_obj, Mapping):
        raise InvalidSignature("a JWS signature is a JSON object")
    if unknown := set(signature_obj) - _SIGNATURE_MEMBERS:
        raise InvalidSignature(f"unknown JWS signature members: {sorted(unknown)}")
    header = _protected_header(signature_obj)
    alg = header.get("alg")
    if alg not in ALLOWED_ALGORITHMS:  # before any key handling (RFC 8725 §3.1)
        raise UnsupportedAlgorithm(f"JWS alg {alg!r} is not accepted; allowed: {sorted(ALLOWED_ALGORITHMS)}")
    unprotected = signature_obj.get("header", {})
    if not isinstance(unprotected, Mapping):
        raise InvalidSignature("JWS unprotected header must be a JSON object")
    kid = _check_headers(header, unprotected)
    signature = _decode(signature_obj.get("signature"), "signature")
    verifier = resolver.resolve(kid, header)
    if verifier.algorithm != alg:
        raise InvalidSignature(f"key {kid[:80]!r} is an {verifier.algorithm} key, the header says {alg}")
    verifier.verify(_signing_input(signature_obj["protected"], payload), signature)
    return header
