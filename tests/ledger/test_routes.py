"""The read API: C2SP tlog-tiles paths, JSON proofs, entries, bundles, publishing; errors as problem+json."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from agentgov.core.clock import FixedClock
from agentgov.identity.keystore import KeyStore
from agentgov.ledger.checkpoint import open_checkpoint
from agentgov.ledger.merkle import leaf_hash
from agentgov.ledger.note_keys import parse_verifier_key
from agentgov.ledger.proofs import verify_consistency, verify_inclusion
from agentgov.ledger.store_sql import SqlLedgerStore
from agentgov.ledger.tiles import unpack_bundle
from agentgov.ledger.verify import BundleDoc, TrustedKeys, verify_bundles
from agentgov.server.app import create_app
from tests.ledger.helpers import LOG_SIGNER, fill, service_over

SIZE = 300


def b64(text: str) -> bytes:
    return base64.b64decode(text)


class LedgerApi:
    def __init__(self, engine: Engine, clock: FixedClock) -> None:
        self.ledger = service_over(SqlLedgerStore(engine, fsync=False), clock).start(schedule=False)
        app = create_app(engine, clock=clock, ledger=self.ledger)
        self.client = TestClient(app, raise_server_exceptions=False)
        keys = KeyStore(engine, clock)
        self.keys = {role: keys.create(role).key for role in ("admin", "regulator", "evaluator")}

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


@pytest.fixture
def api(sqlite_engine: Engine, clock: FixedClock) -> Iterator[LedgerApi]:
    ledger_api = LedgerApi(sqlite_engine, clock)
    fill(ledger_api.ledger, SIZE)
    ledger_api.ledger.publish()
    yield ledger_api
    ledger_api.ledger.close()


def test_checkpoint_and_vkey_are_served_as_text(api: LedgerApi) -> None:
    vkey = api.client.get("/ledger/vkey")
    assert vkey.headers["content-type"] == "text/plain; charset=utf-8"
    response = api.client.get("/ledger/checkpoint")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    opened = open_checkpoint(response.text, parse_verifier_key(vkey.text.strip()))
    assert opened.checkpoint.size == SIZE


def test_tiles_are_served_at_their_c2sp_paths(api: LedgerApi) -> None:
    full = api.client.get("/ledger/tile/0/000")
    assert full.status_code == 200
    assert full.headers["content-type"] == "application/octet-stream"
    assert "immutable" in full.headers["cache-control"]
    assert len(full.content) == 256 * 32
    partial = api.client.get(f"/ledger/tile/0/001.p/{SIZE - 256}")
    assert len(partial.content) == (SIZE - 256) * 32
    assert len(api.client.get("/ledger/tile/1/000.p/1").content) == 32
    bundle = api.client.get(f"/ledger/tile/entries/001.p/{SIZE - 256}")
    leaves = unpack_bundle(bundle.content)
    assert b"".join(leaf_hash(leaf) for leaf in leaves) == partial.content


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/ledger/tile/0/001", 404),  # not full yet
        ("/ledger/tile/0/001.p/45", 404),  # wider than the tree
        ("/ledger/tile/00/000", 404),  # level with a leading zero
        ("/ledger/tile/0/0", 422),  # index not in 3-digit elements
        ("/ledger/tile/0/x000/001", 422),  # non-canonical index
        ("/ledger/tile/0/000.p/256", 422),  # a partial tile is narrower than 256
        ("/ledger/tile/entries/002", 404),
    ],
)
def test_bad_or_absent_tiles_are_problems(api: LedgerApi, path: str, status: int) -> None:
    response = api.client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


def test_inclusion_and_consistency_proofs_verify(api: LedgerApi) -> None:
    body = api.client.get("/v1/ledger/proofs/inclusion", params={"index": 123, "size": SIZE}).json()
    verify_inclusion(123, SIZE, b64(body["leaf_hash"]), [b64(h) for h in body["hashes"]], b64(body["root"]))
    body = api.client.get("/v1/ledger/proofs/consistency", params={"old": 100, "new": SIZE}).json()
    proof = [b64(h) for h in body["hashes"]]
    verify_consistency(100, SIZE, proof, b64(body["old_root"]), b64(body["new_root"]))


def test_proofs_beyond_the_log_are_not_found(api: LedgerApi) -> None:
    response = api.client.get("/v1/ledger/proofs/inclusion", params={"index": 1, "size": SIZE + 1})
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    response = api.client.get("/v1/ledger/proofs/consistency", params={"old": 5, "new": 4})
    assert (response.status_code, response.json()["code"]) == (422, "invalid_input")


def test_entry_payload_is_shown_to_auditors_only(api: LedgerApi) -> None:
    anonymous = api.client.get("/v1/ledger/entries/7").json()
    assert (anonymous["status"], anonymous["event"]) == ("ok", None)
    assert api.client.get("/v1/ledger/entries/7", headers=api.auth("evaluator")).json()["event"] is None
    audited = api.client.get("/v1/ledger/entries/7", headers=api.auth("regulator")).json()
    assert audited["event"]["text"] == "note 7"


def test_erased_entry_reads_erased_through_the_api(api: LedgerApi) -> None:
    api.ledger.erase(7)
    body = api.client.get("/v1/ledger/entries/7", headers=api.auth("regulator")).json()
    assert (body["status"], body["event"]) == ("erased", None)


def test_proof_bundle_verifies_offline(api: LedgerApi) -> None:
    fill(api.ledger, 10)
    api.ledger.publish()
    response = api.client.get("/v1/ledger/entries/42/bundle", params={"since": [SIZE]})
    bundle = BundleDoc.model_validate(response.json())
    report = verify_bundles(
        [bundle], TrustedKeys(LOG_SIGNER.verifier()), [api.ledger.store.checkpoints()[0].note]
    )
    assert report.size == SIZE + 10


def test_bundle_payloads_are_for_auditors_only(api: LedgerApi) -> None:
    assert api.client.get("/v1/ledger/entries/1/bundle", params={"payload": True}).status_code == 403
    response = api.client.get(
        "/v1/ledger/entries/1/bundle", params={"payload": True}, headers=api.auth("admin")
    )
    assert "payload" in response.json()


def test_publishing_on_demand_needs_an_admin_key(api: LedgerApi) -> None:
    assert api.client.post("/v1/ledger/checkpoints").status_code == 401
    assert api.client.post("/v1/ledger/checkpoints", headers=api.auth("regulator")).status_code == 403
    fill(api.ledger, 1)
    response = api.client.post("/v1/ledger/checkpoints", headers=api.auth("admin"))
    assert (response.status_code, response.json()["size"]) == (201, SIZE + 1)


def test_server_without_a_ledger_answers_503(sqlite_engine: Engine, clock: FixedClock) -> None:
    app = create_app(sqlite_engine, clock=clock)
    response = TestClient(app).get("/ledger/checkpoint")
    assert (response.status_code, response.json()["code"]) == (503, "unavailable")
