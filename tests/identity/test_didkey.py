"""did:key (Ed25519) against the W3C CCG did:key vectors, and the proof of possession."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentgov.core.canonical import parse_json
from agentgov.core.keys import Ed25519Signer, b64url, b64url_decode
from agentgov.errors import InvalidInput, InvalidSignature
from agentgov.identity.didkey import (
    POSSESSION_PURPOSE,
    b58decode,
    b58encode,
    did_key_from_public,
    did_key_kid,
    possession_challenge,
    public_from_did_key,
    public_from_did_key_url,
    sign_possession,
    verify_possession,
)

# The did:key specification's own example (w3c-ccg/did-key-spec index.html, "A simple Ed25519 did:key
# value") with the publicKeyJwk x of its Ed25519 verification method, as published by independent
# resolvers of that example.
SPEC_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
SPEC_JWK_X = "Lm_M42cB3HkUiODQsXRcweM6TByfzEHGO9ND274JcOY"

# w3c-ccg/did-key-spec test-vectors/ed25519-x25519.json (commit 1b4f72d5): seed -> did, publicKeyBase58.
SEED_VECTORS = [
    (
        "0000000000000000000000000000000000000000000000000000000000000000",
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
        "4zvwRjXUKGfvwnParsHAS3HuSVzV5cA4McphgmoCtajS",
    ),
    (
        "0000000000000000000000000000000000000000000000000000000000000001",
        "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG",
        "6ASf5EcmmEHTgDJ4X4ZT5vT6iHVJBXPg5AN5YoTCpGWt",
    ),
    (
        "0000000000000000000000000000000000000000000000000000000000000002",
        "did:key:z6MknGc3ocHs3zdPiJbnaaqDi58NGb4pk1Sp9WxWufuXSdxf",
        "8pM1DN3RiT8vbom5u1sNryaNT1nyL8CTTW3b5PwWXRBH",
    ),
    (
        "0000000000000000000000000000000000000000000000000000000000000003",
        "did:key:z6MkvqoYXQfDDJRv8L4wKzxYeuKyVZBfi9Qo6Ro8MiLH3kDQ",
        "HPYVwAQmskwT1qEEeRzhoomyfyupJGASQQtCXSNG8XS2",
    ),
]

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=5)


def test_spec_example_did_names_its_published_public_key() -> None:
    assert public_from_did_key(SPEC_DID) == b64url_decode(SPEC_JWK_X)
    assert did_key_from_public(b64url_decode(SPEC_JWK_X)) == SPEC_DID


@pytest.mark.parametrize(("seed", "did", "public_b58"), SEED_VECTORS)
def test_seed_vectors_give_the_published_did_and_key(seed: str, did: str, public_b58: str) -> None:
    signer = Ed25519Signer.from_seed(bytes.fromhex(seed))
    assert signer.public_key_bytes() == b58decode(public_b58)
    assert did_key_from_public(signer.public_key_bytes()) == did
    assert public_from_did_key(did) == signer.public_key_bytes()


def test_kid_is_the_one_verification_method() -> None:
    kid = did_key_kid(SPEC_DID)
    assert kid == SPEC_DID + "#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    assert public_from_did_key_url(kid) == public_from_did_key(SPEC_DID)
    with pytest.raises(InvalidInput, match="one verification method"):
        public_from_did_key_url(SPEC_DID + "#key-1")


@pytest.mark.parametrize(
    ("did", "reason"),
    [
        ("did:web:example.com", "does not start with"),
        ("did:key:6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", "starts with 'z'"),
        ("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2do0", "base58btc"),
        ("did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169", "not an Ed25519 did:key"),
        ("did:key:z" + b58encode(b"\xed\x01" + b"\x07" * 31), "32 key bytes"),
        ("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#x", "fragment"),
        ("did:key:z" + "1" * 200, "too long"),
        ("did:key:z116MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", "multicodec"),
    ],
)
def test_malformed_did_key_is_refused_with_a_reason(did: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        public_from_did_key(did)


def test_public_key_of_wrong_length_is_refused() -> None:
    with pytest.raises(InvalidInput, match="32 bytes"):
        did_key_from_public(b"\x01" * 31)


@given(st.binary(max_size=64))
def test_base58_round_trips(data: bytes) -> None:
    assert b58decode(b58encode(data)) == data


@given(st.binary(min_size=32, max_size=32))
def test_did_key_round_trips(pub: bytes) -> None:
    did = did_key_from_public(pub)
    assert did.startswith("did:key:z6Mk")
    assert public_from_did_key(did) == pub


def test_possession_challenge_is_canonical_json_of_the_binding() -> None:
    challenge = possession_challenge("agt_1", SPEC_DID, "2026-03-01T12:00:00Z")
    assert challenge == (
        b'{"agent":"agt_1","did":"' + SPEC_DID.encode() + b'","purpose":"agentgov/key-binding/v1",'
        b'"time":"2026-03-01T12:00:00Z"}'
    )
    assert parse_json(challenge)["purpose"] == POSSESSION_PURPOSE


def test_possession_proof_verifies_within_the_window() -> None:
    signer = Ed25519Signer.generate()
    did, proof = sign_possession(signer, "agt_1", "2026-03-01T12:03:00Z")
    verify_possession("agt_1", did, "2026-03-01T12:03:00Z", proof, now=NOW, window=WINDOW)
    did, proof = sign_possession(signer, "agt_1", "2026-03-01T13:03:00.250+01:00")
    verify_possession("agt_1", did, "2026-03-01T13:03:00.250+01:00", proof, now=NOW, window=WINDOW)


def test_possession_proof_for_another_agent_is_refused() -> None:
    signer = Ed25519Signer.generate()
    did, proof = sign_possession(signer, "agt_1", "2026-03-01T12:00:00Z")
    with pytest.raises(InvalidSignature):
        verify_possession("agt_2", did, "2026-03-01T12:00:00Z", proof, now=NOW, window=WINDOW)


def test_possession_proof_by_another_key_is_refused() -> None:
    _, proof = sign_possession(Ed25519Signer.generate(), "agt_1", "2026-03-01T12:00:00Z")
    other_did = did_key_from_public(Ed25519Signer.generate().public_key_bytes())
    with pytest.raises(InvalidSignature):
        verify_possession("agt_1", other_did, "2026-03-01T12:00:00Z", proof, now=NOW, window=WINDOW)


@pytest.mark.parametrize("timestamp", ["2026-03-01T11:54:59Z", "2026-03-01T12:05:01Z"])
def test_replayed_or_predated_possession_proof_is_refused(timestamp: str) -> None:
    signer = Ed25519Signer.generate()
    did, proof = sign_possession(signer, "agt_1", timestamp)
    with pytest.raises(InvalidSignature, match="outside the accepted window"):
        verify_possession("agt_1", did, timestamp, proof, now=NOW, window=WINDOW)


@pytest.mark.parametrize(
    "timestamp", ["2026-03-01", "2026-03-01T12:00:00", "yesterday", "2026-13-01T00:00:00Z"]
)
def test_possession_time_must_be_rfc3339_with_offset(timestamp: str) -> None:
    signer = Ed25519Signer.generate()
    did, proof = sign_possession(signer, "agt_1", timestamp)
    with pytest.raises(InvalidInput, match="time"):
        verify_possession("agt_1", did, timestamp, proof, now=NOW, window=WINDOW)


def test_possession_checks_refuse_bad_arguments() -> None:
    signer = Ed25519Signer.generate()
    did, proof = sign_possession(signer, "agt_1", "2026-03-01T12:00:00Z")
    with pytest.raises(InvalidInput, match="window"):
        verify_possession("agt_1", did, "2026-03-01T12:00:00Z", proof, now=NOW, window=timedelta(0))
    with pytest.raises(InvalidInput, match="naive"):
        verify_possession(
            "agt_1", did, "2026-03-01T12:00:00Z", proof, now=NOW.replace(tzinfo=None), window=WINDOW
        )
    with pytest.raises(InvalidSignature, match="base64url"):
        verify_possession("agt_1", did, "2026-03-01T12:00:00Z", proof + "=", now=NOW, window=WINDOW)
    with pytest.raises(InvalidSignature):
        verify_possession("agt_1", did, "2026-03-01T12:00:00Z", b64url(b"\0" * 64), now=NOW, window=WINDOW)
    with pytest.raises(InvalidInput, match="agent"):
        possession_challenge("", did, "2026-03-01T12:00:00Z")
