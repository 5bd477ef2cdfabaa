"""Checkpoint bodies (C2SP tlog-checkpoint) and their witnessing (C2SP tlog-cosignature)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from agentgov.core.clock import FixedClock
from agentgov.core.keys import Ed25519Signer
from agentgov.errors import InvalidInput, InvalidSignature, VerificationFailed
from agentgov.ledger.checkpoint import Checkpoint, open_checkpoint, parse_checkpoint, sign_checkpoint
from agentgov.ledger.merkle import EMPTY_ROOT, tree_hash
from agentgov.ledger.note import MalformedNote, NoteSignature, UnverifiedNote, add_signatures, parse_note
from agentgov.ledger.note_keys import CosignatureV1Signer, Ed25519NoteSigner, cosignature_timestamp

ORIGIN = "agentgov.example/log"
START = datetime(2026, 1, 1, tzinfo=UTC)


def seed(label: bytes) -> Ed25519Signer:
    return Ed25519Signer.from_seed(hashlib.sha256(label).digest())


LOG = Ed25519NoteSigner(ORIGIN, seed(b"log"))
CLOCK = FixedClock(START)
WITNESSES = [CosignatureV1Signer(f"witness.example/w{i}", seed(b"w%d" % i), CLOCK) for i in range(3)]
CHECKPOINT = Checkpoint(ORIGIN, 3, tree_hash([b"a", b"b", b"c"]))


def cosigned_by(count: int) -> str:
    return add_signatures(sign_checkpoint(CHECKPOINT, [LOG]), WITNESSES[:count])


def test_checkpoint_body_round_trips_with_extension_lines() -> None:
    checkpoint = Checkpoint(ORIGIN, 0, EMPTY_ROOT, ("ext one", "ext two"))
    body = checkpoint.body()
    assert body.splitlines()[1] == "0"
    assert parse_checkpoint(body) == checkpoint


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("agentgov.example/log\n3\n", id="two-lines"),
        pytest.param("agentgov.example/log\n03\nROOT\n", id="leading-zero"),
        pytest.param("agentgov.example/log\n+3\nROOT\n", id="signed-size"),
        pytest.param("agentgov.example/log\n\u0663\nROOT\n", id="non-ascii-digit"),
        pytest.param("agentgov.example/log\n18446744073709551616\nROOT\n", id="size-beyond-uint64"),
        pytest.param("agentgov.example/log\n3\nAAAA\n", id="short-root"),
        pytest.param("agentgov.example/log\n3\nnot base64!\n", id="root-not-base64"),
        pytest.param("agentgov.example/log\n3\nROOT\n\n", id="empty-extension-line"),
        pytest.param("\n3\nROOT\n", id="empty-origin"),
        pytest.param("agentgov.example/log\n3\nROOT", id="no-final-newline"),
    ],
)
def test_malformed_checkpoint_bodies_are_refused(body: str) -> None:
    root = CHECKPOINT.body().splitlines()[2]
    with pytest.raises(MalformedNote):
        parse_checkpoint(body.replace("ROOT", root))


def test_root_hash_in_non_canonical_base64_is_refused() -> None:
    root = CHECKPOINT.body().splitlines()[2]
    # Flip the unused low bits of the last base64 character: same bytes, another spelling.
    last = root[-2]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    twisted = root[:-2] + alphabet[alphabet.index(last) ^ 1] + root[-1]
    with pytest.raises(MalformedNote):
        parse_checkpoint(f"{ORIGIN}\n3\n{twisted}\n")


def test_checkpoint_with_witness_quorum_opens_with_their_timestamps() -> None:
    opened = open_checkpoint(
        cosigned_by(2), LOG.verifier(), witnesses=[w.verifier() for w in WITNESSES], quorum=2
    )
    assert opened.checkpoint == CHECKPOINT
    assert [c.name for c in opened.cosignatures] == ["witness.example/w0", "witness.example/w1"]
    assert {c.timestamp for c in opened.cosignatures} == {int(START.timestamp())}


def test_checkpoint_short_of_its_witness_quorum_is_refused() -> None:
    with pytest.raises(UnverifiedNote):
        open_checkpoint(cosigned_by(1), LOG.verifier(), witnesses=[w.verifier() for w in WITNESSES], quorum=2)


def test_quorum_larger_than_the_witness_set_is_refused() -> None:
    with pytest.raises(InvalidInput):
        open_checkpoint(cosigned_by(3), LOG.verifier(), witnesses=[WITNESSES[0].verifier()], quorum=2)


def test_checkpoint_cosigned_but_not_signed_by_the_log_is_refused() -> None:
    impostor = Ed25519NoteSigner(ORIGIN, seed(b"impostor"))
    note = add_signatures(sign_checkpoint(CHECKPOINT, [impostor]), WITNESSES[:1])
    with pytest.raises(UnverifiedNote):
        open_checkpoint(note, LOG.verifier(), witnesses=[WITNESSES[0].verifier()])


def test_checkpoint_of_another_origin_is_refused() -> None:
    other = Checkpoint("agentgov.example/other-log", 3, CHECKPOINT.root_hash)
    with pytest.raises(VerificationFailed):
        open_checkpoint(sign_checkpoint(other, [LOG]), LOG.verifier())


def test_cosignature_with_a_rewritten_timestamp_is_refused() -> None:
    note = parse_note(cosigned_by(1))
    witness = note.signatures[1]
    later = int(START.timestamp() + timedelta(days=1).total_seconds()).to_bytes(8, "big")
    moved = NoteSignature(witness.name, witness.key_id, later + witness.signature[8:])
    tampered = note.text + "\n" + note.signatures[0].line() + moved.line()
    assert cosignature_timestamp(moved.signature) != cosignature_timestamp(witness.signature)
    with pytest.raises(InvalidSignature):
        open_checkpoint(tampered, LOG.verifier(), witnesses=[WITNESSES[0].verifier()], quorum=1)


def test_cosignature_over_a_different_checkpoint_is_refused() -> None:
    other = Checkpoint(ORIGIN, 4, tree_hash([b"a", b"b", b"c", b"d"]))
    witness_line = parse_note(add_signatures(sign_checkpoint(other, [LOG]), WITNESSES[:1])).signatures[1]
    transplanted = sign_checkpoint(CHECKPOINT, [LOG]) + witness_line.line()
    with pytest.raises(InvalidSignature):
        open_checkpoint(transplanted, LOG.verifier(), witnesses=[WITNESSES[0].verifier()], quorum=1)


def test_checkpoint_values_are_validated_on_construction() -> None:
    with pytest.raises(MalformedNote):
        Checkpoint(ORIGIN, -1, EMPTY_ROOT)
    with pytest.raises(MalformedNote):
        Checkpoint("two\nlines", 1, EMPTY_ROOT)
    with pytest.raises(MalformedNote):
        Checkpoint(ORIGIN, 1, b"short")


def test_cosignature_timestamp_beyond_the_signed_range_is_refused() -> None:
    note = parse_note(cosigned_by(1))
    witness = note.signatures[1]
    overflow = NoteSignature(witness.name, witness.key_id, (2**63).to_bytes(8, "big") + witness.signature[8:])
    tampered = note.text + "\n" + note.signatures[0].line() + overflow.line()
    with pytest.raises(InvalidSignature):
        open_checkpoint(tampered, LOG.verifier(), witnesses=[WITNESSES[0].verifier()], quorum=1)


def test_cosigner_refuses_a_time_before_the_epoch() -> None:
    before_epoch = FixedClock(datetime(1969, 1, 1, tzinfo=UTC))
    early = CosignatureV1Signer("witness.example/early", seed(b"early"), before_epoch)
    with pytest.raises(InvalidInput):
        add_signatures(sign_checkpoint(CHECKPOINT, [LOG]), [early])
