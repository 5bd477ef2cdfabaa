"""Signed-note parsing and verification rules (C2SP signed-note) that a forged or sloppy note must hit."""

from __future__ import annotations

import hashlib

import pytest

from agentgov.core.keys import Ed25519Signer
from agentgov.errors import InvalidInput, InvalidSignature, UnsupportedAlgorithm
from agentgov.ledger.note import (
    MAX_SIGNATURES,
    MalformedNote,
    NoteSignature,
    UnverifiedNote,
    add_signatures,
    check_key_name,
    parse_note,
    sign_note,
    verify_note,
)
from agentgov.ledger.note_keys import (
    CosignatureV1Verifier,
    Ed25519NoteSigner,
    Ed25519NoteVerifier,
    format_verifier_key,
    parse_signer_key,
    parse_verifier_key,
)

TEXT = "agentgov.example/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"


def note_signer(name: str, label: bytes) -> Ed25519NoteSigner:
    return Ed25519NoteSigner(name, Ed25519Signer.from_seed(hashlib.sha256(label).digest()))


LOG = note_signer("agentgov.example/log", b"log")
OTHER = note_signer("agentgov.example/other", b"other")


@pytest.mark.parametrize("name", ["", "with space", "with\u00a0nbsp", "with+plus", "tab\tname"])
def test_illegal_key_names_are_refused(name: str) -> None:
    with pytest.raises(MalformedNote):
        check_key_name(name)


def test_signature_from_a_known_name_with_another_key_id_is_ignored() -> None:
    signed = sign_note(TEXT, [LOG])
    stray = NoteSignature(LOG.name, b"\x00\x00\x00\x00", b"\x01" * 64).line()
    verified = verify_note(signed + stray, [LOG.verifier()])
    assert [s.key_id for s in verified.verified] == [LOG.key_id]
    assert [s.key_id for s in verified.unverified] == [b"\x00\x00\x00\x00"]


def test_signature_with_a_known_key_id_under_another_name_is_ignored() -> None:
    signed = sign_note(TEXT, [LOG])
    stray = NoteSignature("agentgov.example/mimic", LOG.key_id, b"\x01" * 64).line()
    verified = verify_note(signed + stray, [LOG.verifier()])
    assert [s.name for s in verified.unverified] == ["agentgov.example/mimic"]


def test_bad_signature_from_a_known_key_rejects_the_whole_note() -> None:
    signed = sign_note(TEXT, [LOG])
    forged = NoteSignature(OTHER.name, OTHER.key_id, b"\x01" * 64).line()
    with pytest.raises(InvalidSignature):
        verify_note(signed + forged, [LOG.verifier(), OTHER.verifier()])


def test_note_signed_only_by_unknown_keys_is_rejected() -> None:
    with pytest.raises(UnverifiedNote):
        verify_note(sign_note(TEXT, [OTHER]), [LOG.verifier()])


def test_signature_of_one_text_does_not_verify_another() -> None:
    signature = parse_note(sign_note(TEXT, [LOG])).signatures[0]
    with pytest.raises(InvalidSignature):
        verify_note("another text\n\n" + signature.line(), [LOG.verifier()])


def test_added_signatures_keep_existing_ones_and_all_verify() -> None:
    cosigned = add_signatures(sign_note(TEXT, [LOG]), [OTHER])
    verified = verify_note(cosigned, [LOG.verifier(), OTHER.verifier()])
    assert [s.name for s in verified.verified] == [LOG.name, OTHER.name]


@pytest.mark.parametrize(
    "note",
    [
        pytest.param("text\n", id="no-signature-block"),
        pytest.param("text\n\n", id="empty-signature-block"),
        pytest.param("text\n\n\u2014 name AAAAAAAA", id="unterminated-signature-line"),
        pytest.param("text\n\n- name AAAAAAAAAA==\n", id="hyphen-instead-of-em-dash"),
        pytest.param("text\n\n\u2014 name !!!!\n", id="signature-not-base64"),
        pytest.param("text\n\n\u2014 name AAAAAA==\n", id="signature-shorter-than-a-key-id"),
        pytest.param("text\n\n\u2014 na+me AAAAAAAAAA==\n", id="plus-in-key-name"),
        pytest.param("te\rxt\n\n\u2014 name AAAAAAAAAA==\n", id="control-character-in-text"),
    ],
)
def test_malformed_notes_are_refused(note: str) -> None:
    with pytest.raises(MalformedNote):
        parse_note(note)


def test_note_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(MalformedNote):
        parse_note(b"caf\xe9\n\n\xe2\x80\x94 name AAAAAAAAAA==\n")


def test_at_least_sixteen_signatures_are_read_and_the_count_is_bounded() -> None:
    line = NoteSignature("agentgov.example/w", b"\x00\x00\x00\x01", b"\x02" * 72).line()
    assert len(parse_note(TEXT + "\n" + line * 16).signatures) == 16
    with pytest.raises(MalformedNote):
        parse_note(TEXT + "\n" + line * (MAX_SIGNATURES + 1))


def test_text_to_sign_must_end_in_a_newline_and_have_a_signer() -> None:
    with pytest.raises(MalformedNote):
        sign_note("no newline", [LOG])
    with pytest.raises(InvalidInput):
        sign_note(TEXT, [])


def test_blank_lines_inside_the_text_are_kept_in_the_signed_text() -> None:
    text = "first\n\nsecond\n"
    verified = verify_note(sign_note(text, [LOG]), [LOG.verifier()])
    assert verified.text == text


def test_verifier_key_with_a_key_id_that_does_not_match_is_refused() -> None:
    text = LOG.verifier().verifier_key()
    name, identifier, material = text.split("+", 2)
    wrong = f"{int(identifier, 16) ^ 1:08x}"
    with pytest.raises(MalformedNote):
        parse_verifier_key(f"{name}+{wrong}+{material}")


def test_verifier_key_of_an_unsupported_type_is_refused() -> None:
    public_key = LOG.verifier().public_key
    with pytest.raises(UnsupportedAlgorithm):
        parse_verifier_key(format_verifier_key(LOG.name, 0x02, public_key))


@pytest.mark.parametrize(
    "text",
    [
        "agentgov.example/log",
        "agentgov.example/log+zzzzzzzz+AAAA",
        "agentgov.example/log+0000000+AAAA",
        "agentgov.example/log+00000000+not base64",
        "agentgov.example/log+00000000+AQID",
    ],
)
def test_malformed_verifier_keys_are_refused(text: str) -> None:
    with pytest.raises(MalformedNote):
        parse_verifier_key(text)


def test_signer_key_must_carry_its_prefix() -> None:
    with pytest.raises(MalformedNote):
        parse_signer_key("KEY+agentgov.example/log+00000000+AAAA")


def test_witness_key_parses_to_a_cosignature_verifier() -> None:
    public_key = LOG.verifier().public_key
    parsed = parse_verifier_key(format_verifier_key("agentgov.example/w", 0x04, public_key))
    assert isinstance(parsed, CosignatureV1Verifier)
    assert isinstance(parse_verifier_key(LOG.verifier().verifier_key()), Ed25519NoteVerifier)


def test_two_known_keys_with_the_same_identity_are_refused() -> None:
    with pytest.raises(InvalidInput):
        verify_note(sign_note(TEXT, [LOG]), [LOG.verifier(), LOG.verifier()])
