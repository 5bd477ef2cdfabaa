"""The witness (C2SP tlog-witness add-checkpoint) and the log's collection of cosignatures."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from agentgov.core.clock import FixedClock
from agentgov.ledger.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from agentgov.ledger.merkle import InMemoryTree, leaf_hash
from agentgov.ledger.note import parse_note
from agentgov.ledger.note_keys import Ed25519NoteSigner
from agentgov.ledger.proofs import consistency_proof
from agentgov.ledger.service import LedgerService
from agentgov.ledger.store import MemoryLedgerStore
from agentgov.ledger.witness import FileWitnessState, MemoryWitnessState, Witness, format_add_checkpoint
from agentgov.ledger.witness_http import WitnessClient, witness_app
from tests.ledger.helpers import LOG_SIGNER, ORIGIN, START, fill, seed, service_over, witness_signer

TREE = InMemoryTree(leaf_hash(bytes([i])) for i in range(20))


def signed(size: int, signer: Ed25519NoteSigner = LOG_SIGNER, root: bytes | None = None) -> str:
    return sign_checkpoint(Checkpoint(signer.name, size, root or _root(size)), [signer])


def _root(size: int) -> bytes:
    return InMemoryTree(leaf_hash(bytes([i])) for i in range(size)).root()


def post(client: TestClient, old: int, proof: list[bytes], note: str) -> tuple[int, str, str]:
    response = client.post("/add-checkpoint", content=format_add_checkpoint(old, proof, note))
    return response.status_code, response.headers["content-type"], response.text


@pytest.fixture
def witness_client(clock: FixedClock) -> TestClient:
    witness = Witness(witness_signer(1, clock), [LOG_SIGNER.verifier()], MemoryWitnessState())
    return TestClient(witness_app(witness))


def test_first_checkpoint_is_cosigned_with_a_valid_cosignature(witness_client: TestClient) -> None:
    note = signed(10)
    status, _, body = post(witness_client, 0, [], note)
    assert status == 200
    verifier = witness_signer(1).verifier()
    opened = open_checkpoint(note + body, LOG_SIGNER.verifier(), witnesses=[verifier], quorum=1)
    assert opened.cosignatures[0].timestamp == int(START.timestamp())


def test_consistent_growth_is_cosigned(witness_client: TestClient) -> None:
    assert post(witness_client, 0, [], signed(10))[0] == 200
    proof = consistency_proof(10, 20, TREE)
    assert post(witness_client, 10, proof, signed(20))[0] == 200
    assert post(witness_client, 20, [], signed(20))[0] == 200  # the same checkpoint again


def test_unknown_origin_is_404(witness_client: TestClient) -> None:
    other = Ed25519NoteSigner("other.test/log", seed("other"))
    assert post(witness_client, 0, [], signed(3, other))[0] == 404


def test_bad_log_signature_is_403(witness_client: TestClient) -> None:
    impostor = Ed25519NoteSigner(ORIGIN, seed("impostor"))
    assert post(witness_client, 0, [], signed(3, impostor))[0] == 403
    note = signed(3)
    forged = note.replace(base64.b64encode(_root(3)).decode(), base64.b64encode(_root(4)).decode())
    assert post(witness_client, 0, [], forged)[0] == 403


def test_old_size_above_the_checkpoint_is_400(witness_client: TestClient) -> None:
    assert post(witness_client, 5, [], signed(3))[0] == 400


@pytest.mark.parametrize(
    "body",
    [
        "old 01\n\nx\n",
        "old 3\nnot-base64!\n\nx\n",
        "new 3\n\nx\n",
        "old 0\n" + "AAAA\n" * 64 + "\nx\n",
        "old 0\n",
    ],
    ids=["leading-zero", "proof-not-base64", "no-old-line", "too-many-proof-lines", "no-checkpoint"],
)
def test_malformed_requests_are_400(witness_client: TestClient, body: str) -> None:
    assert witness_client.post("/add-checkpoint", content=body).status_code == 400


def test_stale_old_size_is_409_with_the_cosigned_size(witness_client: TestClient) -> None:
    assert post(witness_client, 0, [], signed(10))[0] == 200
    status, content_type, body = post(witness_client, 0, [], signed(20))
    assert (status, content_type, body) == (409, "text/x.tlog.size", "10\n")


def test_bad_consistency_proof_is_422(witness_client: TestClient) -> None:
    assert post(witness_client, 0, [], signed(10))[0] == 200
    proof = consistency_proof(10, 20, TREE)
    proof[0] = bytes(32)
    assert post(witness_client, 10, proof, signed(20))[0] == 422
    assert post(witness_client, 10, consistency_proof(10, 20, TREE), signed(20))[0] == 200


def test_fork_at_the_cosigned_size_is_409(witness_client: TestClient) -> None:
    assert post(witness_client, 0, [], signed(10))[0] == 200
    assert post(witness_client, 10, [], signed(10, root=_root(11)))[0] == 409


def test_oversized_request_is_refused(clock: FixedClock) -> None:
    witness = Witness(witness_signer(1, clock), [LOG_SIGNER.verifier()], MemoryWitnessState())
    client = TestClient(witness_app(witness, max_request_bytes=100))
    assert client.post("/add-checkpoint", content="old 0\n\n" + "x" * 200).status_code == 413


def test_witness_state_survives_a_restart_and_is_written_atomically(
    tmp_path: Path, clock: FixedClock
) -> None:
    path = tmp_path / "witness-state.json"
    first = TestClient(
        witness_app(Witness(witness_signer(1, clock), [LOG_SIGNER.verifier()], FileWitnessState(path)))
    )
    assert post(first, 0, [], signed(10))[0] == 200
    assert json.loads(path.read_text())["logs"][ORIGIN]["size"] == 10
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind
    again = TestClient(
        witness_app(Witness(witness_signer(1, clock), [LOG_SIGNER.verifier()], FileWitnessState(path)))
    )
    assert post(again, 0, [], signed(20))[:2] == (409, "text/x.tlog.size")


def witness_transport(witnesses: dict[str, Witness]) -> httpx.Client:
    """An httpx client whose mock transport hands each request to the witness named by its host."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host not in witnesses:
            raise httpx.ConnectError("connection refused", request=request)
        reply = witnesses[request.url.host].add_checkpoint(request.content)
        return httpx.Response(reply.status, headers={"Content-Type": reply.content_type}, text=reply.body)

    return httpx.Client(transport=httpx.MockTransport(handle))


def _log_with_witnesses(count: int, clock: FixedClock) -> tuple[LedgerService, list[Witness]]:
    witnesses = [
        Witness(witness_signer(n, clock), [LOG_SIGNER.verifier()], MemoryWitnessState()) for n in range(count)
    ]
    client = WitnessClient(witness_transport({f"w{n}.test": w for n, w in enumerate(witnesses)}))
    specs = tuple(f"{witness_signer(n).verifier().verifier_key()} http://w{n}.test" for n in range(count))
    service = service_over(MemoryLedgerStore(), clock, witnesses=specs, witness_client=client)
    return service.start(schedule=False), witnesses


def test_log_serves_checkpoints_carrying_witness_cosignatures(clock: FixedClock) -> None:
    service, _ = _log_with_witnesses(2, clock)
    try:
        fill(service, 5)
        service.publish()
        fill(service, 6)
        service.publish()  # the witnesses now need a consistency proof from 5 to 11
        verifiers = [witness_signer(n).verifier() for n in range(2)]
        opened = open_checkpoint(service.checkpoint(), LOG_SIGNER.verifier(), witnesses=verifiers, quorum=2)
        assert opened.checkpoint.size == 11
        assert len(parse_note(service.checkpoint()).signatures) == 3
    finally:
        service.close()


def test_log_catches_up_with_a_witness_that_knows_a_later_size(clock: FixedClock) -> None:
    service, witnesses = _log_with_witnesses(1, clock)
    try:
        fill(service, 4)
        first = service.publish()
        fill(service, 4)
        service.store._m.cosignatures.clear()  # type: ignore[attr-defined]  # the log forgot it
        assert witnesses[0].add_checkpoint(format_add_checkpoint(0, [], first.note).encode()).status == 409
        service.publish()
        verifier = witness_signer(0).verifier()
        assert open_checkpoint(service.checkpoint(), LOG_SIGNER.verifier(), witnesses=[verifier], quorum=1)
    finally:
        service.close()


def test_cosignature_from_an_unexpected_key_is_not_stored(clock: FixedClock) -> None:
    vkey = witness_signer(9).verifier().verifier_key()
    stranger = Witness(witness_signer(8), [LOG_SIGNER.verifier()], MemoryWitnessState())
    client = WitnessClient(witness_transport({"w9.test": stranger}))
    service = service_over(
        MemoryLedgerStore(), clock, witnesses=(f"{vkey} http://w9.test",), witness_client=client
    )
    service.start(schedule=False)
    try:
        fill(service, 2)
        assert service.publish().size == 2
        assert service.store.cosignatures(2) == []
    finally:
        service.close()


def test_an_unreachable_witness_does_not_stop_publication(clock: FixedClock) -> None:
    vkey = witness_signer(9).verifier().verifier_key()
    client = WitnessClient(witness_transport({}))
    service = service_over(
        MemoryLedgerStore(), clock, witnesses=(f"{vkey} http://down.test",), witness_client=client
    )
    service.start(schedule=False)
    try:
        fill(service, 2)
        checkpoint = service.publish()
        outcome = service.publisher.collect(checkpoint)
        assert next(iter(outcome.values())).startswith("unavailable")
    finally:
        service.close()
