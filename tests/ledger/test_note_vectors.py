"""C2SP signed-note, tlog-checkpoint and tlog-cosignature examples and rules from ../shared/vectors."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agentgov.core.clock import FixedClock
from agentgov.core.keys import Ed25519Signer, Ed25519Verifier
from agentgov.errors import InvalidSignature
from agentgov.ledger.checkpoint import open_checkpoint, parse_checkpoint
from agentgov.ledger.merkle import EMPTY_ROOT, leaf_hash, node_hash
from agentgov.ledger.note import (
    SIG_TYPE_COSIGNATURE_V1,
    SIG_TYPE_ED25519,
    UnverifiedNote,
    add_signatures,
    key_id,
    parse_note,
    sign_note,
    verify_note,
)
from agentgov.ledger.note_keys import (
    CosignatureV1Signer,
    CosignatureV1Verifier,
    Ed25519NoteSigner,
    Ed25519NoteVerifier,
    cosignature_message,
    format_signer_key,
    parse_signer_key,
    parse_verifier_key,
)

VECTORS = Path(__file__).resolve().parents[2] / ".." / "shared" / "vectors"
NOTES = VECTORS / "c2sp" / "notes.json"

if not NOTES.is_file():
    pytest.skip(f"C2SP note vectors not found at {NOTES}", allow_module_level=True)

DATA: dict[str, Any] = json.loads(NOTES.read_text(encoding="utf-8"))
EXAMPLE = DATA["signed_note_example"]
SUMDB = DATA["sumdb_note_keys"]
CHECKPOINT = DATA["checkpoint_example"]
RULES = DATA["rules"]

# The cosignature line of the C2SP tlog-cosignature example, added to CHECKPOINT["text"] by the witness
# witness.example.com/w1 at the time its signed-message example shows (1679315147).
SPEC_COSIGNATURE_LINE = (
    "\u2014 witness.example.com/w1 "
    "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
)
SPEC_COSIGNATURE_TIME = 1679315147


def _seeded_signer(label: bytes) -> Ed25519Signer:
    return Ed25519Signer.from_seed(hashlib.sha256(label).digest())


def test_spec_example_note_verifies_with_its_verifier_key() -> None:
    verifier = parse_verifier_key(EXAMPLE["verifier_key"])
    assert EXAMPLE["expect"] == "verifies"
    verified = verify_note(EXAMPLE["note"], [verifier])
    assert verified.text == "This is an example message.\n"
    assert [signature.name for signature in verified.verified] == ["example.com/foo"]
    assert verified.unverified == ()


def test_spec_example_note_with_altered_text_is_rejected() -> None:
    verifier = parse_verifier_key(EXAMPLE["verifier_key"])
    forged = EXAMPLE["note"].replace("example message", "exemplary message")
    with pytest.raises(InvalidSignature):
        verify_note(forged, [verifier])


def test_spec_example_note_is_refused_without_its_key() -> None:
    stranger = Ed25519NoteVerifier("example.com/foo", _seeded_signer(b"stranger").public_key_bytes())
    with pytest.raises(UnverifiedNote):
        verify_note(EXAMPLE["note"], [stranger])


def test_note_key_id_is_the_sha256_prefix_of_name_newline_type_and_key() -> None:
    assert RULES["key_id_ed25519_note"] == "SHA-256(name || 0x0A || 0x01 || pubkey)[:4]"
    verifier = parse_verifier_key(EXAMPLE["verifier_key"])
    assert isinstance(verifier, Ed25519NoteVerifier)
    material = b"example.com/foo\n\x01" + verifier.public_key
    assert verifier.key_id == hashlib.sha256(material).digest()[:4]
    assert verifier.key_id.hex() == EXAMPLE["verifier_key"].split("+")[1]
    assert verifier.verifier_key() == EXAMPLE["verifier_key"]


def test_cosignature_key_id_uses_type_byte_four() -> None:
    assert RULES["key_id_ed25519_cosignature"] == "SHA-256(name || 0x0A || 0x04 || pubkey)[:4]"
    public_key = _seeded_signer(b"witness").public_key_bytes()
    witness = CosignatureV1Verifier("witness.example/w", public_key)
    expected = hashlib.sha256(b"witness.example/w\n\x04" + public_key).digest()[:4]
    assert witness.key_id == expected == key_id("witness.example/w", SIG_TYPE_COSIGNATURE_V1, public_key)
    assert witness.key_id != key_id("witness.example/w", SIG_TYPE_ED25519, public_key)
    assert parse_verifier_key(witness.verifier_key()).key_id == witness.key_id


def test_sumdb_signer_key_reproduces_the_golden_signature_line() -> None:
    # The base64 key material contains '+': the key text must be split on its first separators only.
    assert "+" in SUMDB["signer_key"].split("+", 4)[4]
    signer = parse_signer_key(SUMDB["signer_key"])
    signed = sign_note(SUMDB["note_text"], [signer])
    assert signed == SUMDB["note_text"] + "\n" + SUMDB["golden_signature_line"] + "\n"
    verify_note(signed, [parse_verifier_key(SUMDB["verifier_key"])])


def test_sumdb_key_texts_round_trip() -> None:
    signer = parse_signer_key(SUMDB["signer_key"])
    assert signer.verifier().verifier_key() == SUMDB["verifier_key"]
    seed = base64.b64decode(SUMDB["signer_key"].split("+", 4)[4])[1:]
    assert format_signer_key("PeterNeumann", Ed25519Signer.from_seed(seed)) == SUMDB["signer_key"]


def test_checkpoint_example_body_parses_and_formats_byte_for_byte() -> None:
    note = parse_note(CHECKPOINT["text"])
    checkpoint = parse_checkpoint(note.text)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root_hash == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert checkpoint.extensions == ()
    assert checkpoint.body() == note.text
    assert note.format() == CHECKPOINT["text"]
    assert [signature.name for signature in note.signatures] == ["example.com/behind-the-sofa"]


def test_checkpoint_example_is_refused_when_the_log_key_is_not_its_signer() -> None:
    impostor = Ed25519NoteVerifier(
        "example.com/behind-the-sofa", _seeded_signer(b"impostor").public_key_bytes()
    )
    with pytest.raises(UnverifiedNote):
        open_checkpoint(CHECKPOINT["text"], impostor)


def test_spec_cosignature_line_carries_its_timestamp_and_is_ignored_as_unknown() -> None:
    cosigned = CHECKPOINT["text"] + SPEC_COSIGNATURE_LINE
    note = parse_note(cosigned)
    witness_line = note.signatures[1]
    assert witness_line.name == "witness.example.com/w1"
    assert len(witness_line.key_id) + len(witness_line.signature) == 76
    assert int.from_bytes(witness_line.signature[:8], "big") == SPEC_COSIGNATURE_TIME
    # A note signed only by keys the verifier does not know is rejected, never half-trusted.
    unknown = CosignatureV1Verifier("witness.example.com/w1", _seeded_signer(b"w1").public_key_bytes())
    with pytest.raises(UnverifiedNote):
        verify_note(cosigned, [unknown])


def test_cosignature_message_is_header_time_line_and_checkpoint_body() -> None:
    assert RULES["cosignature_message"] == '"cosignature/v1\\n" + "time <unix seconds>\\n" + checkpoint body'
    body = parse_note(CHECKPOINT["text"]).text
    expected = (
        b"cosignature/v1\ntime 1679315147\n"
        b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )
    assert cosignature_message(body, SPEC_COSIGNATURE_TIME) == expected


def test_cosignature_blob_is_key_id_timestamp_and_signature() -> None:
    assert RULES["cosignature_blob"].startswith("keyID(4) || u64be timestamp || ed25519 signature(64)")
    log = _seeded_signer(b"log")
    log_signer = Ed25519NoteSigner("example.com/behind-the-sofa", log)
    body = parse_note(CHECKPOINT["text"]).text
    signed = sign_note(body, [log_signer])
    witness_key = _seeded_signer(b"witness")
    clock = FixedClock(datetime.fromtimestamp(SPEC_COSIGNATURE_TIME, UTC))
    witness = CosignatureV1Signer("witness.example/w", witness_key, clock)
    cosigned = add_signatures(signed, [witness])
    blob = base64.b64decode(cosigned.splitlines()[-1].split(" ")[2])
    assert len(blob) == 76
    assert blob[:4] == witness.key_id
    assert int.from_bytes(blob[4:12], "big") == SPEC_COSIGNATURE_TIME
    Ed25519Verifier(witness_key.public_key_bytes()).verify(
        cosignature_message(body, SPEC_COSIGNATURE_TIME), blob[12:]
    )
    opened = open_checkpoint(cosigned, log_signer.verifier(), witnesses=[witness.verifier()], quorum=1)
    assert [c.timestamp for c in opened.cosignatures] == [SPEC_COSIGNATURE_TIME]


def test_merkle_hash_rules_match_the_vector_file() -> None:
    assert RULES["leaf_hash"] == "SHA-256(0x00 || entry)"
    assert RULES["node_hash"] == "SHA-256(0x01 || left || right)"
    assert leaf_hash(b"entry") == hashlib.sha256(b"\x00entry").digest()
    left, right = leaf_hash(b"l"), leaf_hash(b"r")
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert EMPTY_ROOT.hex() == RULES["empty_root"].rsplit("= ", 1)[1]
