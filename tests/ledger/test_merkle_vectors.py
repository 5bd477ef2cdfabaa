"""The RFC 6962 proof vectors of transparency-dev/merkle: each verdict must match the published one."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agentgov.ledger.merkle import ProofError
from agentgov.ledger.proofs import verify_consistency, verify_inclusion

VECTORS = Path(__file__).resolve().parents[2] / ".." / "shared" / "vectors"
MERKLE_VECTORS = VECTORS / "merkle"
PUBLISHED_VECTOR_COUNT = 196

if not MERKLE_VECTORS.is_dir():
    pytest.skip(f"Merkle proof vectors not found at {MERKLE_VECTORS}", allow_module_level=True)


@dataclass(frozen=True)
class Vector:
    name: str
    kind: str
    data: dict[str, Any]

    @property
    def want_err(self) -> bool:
        return bool(self.data["wantErr"])


def _load() -> list[Vector]:
    vectors = []
    for path in sorted(MERKLE_VECTORS.rglob("*.json")):
        relative = path.relative_to(MERKLE_VECTORS)
        vectors.append(
            Vector(
                name=relative.with_suffix("").as_posix(),
                kind=relative.parts[0],
                data=json.loads(path.read_text(encoding="utf-8")),
            )
        )
    return vectors


ALL_VECTORS = _load()


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _proof(data: dict[str, Any]) -> list[bytes]:
    return [_b64(item) for item in data["proof"] or []]


def _verify(vector: Vector) -> None:
    data = vector.data
    if vector.kind == "inclusion":
        verify_inclusion(
            data["leafIdx"], data["treeSize"], _b64(data["leafHash"]), _proof(data), _b64(data["root"])
        )
    else:
        verify_consistency(
            data["size1"], data["size2"], _proof(data), _b64(data["root1"]), _b64(data["root2"])
        )


def test_every_published_vector_is_loaded() -> None:
    kinds = {vector.kind for vector in ALL_VECTORS}
    assert len(ALL_VECTORS) == PUBLISHED_VECTOR_COUNT
    assert kinds == {"inclusion", "consistency"}
    assert sum(not vector.want_err for vector in ALL_VECTORS) >= 10


@pytest.mark.parametrize("vector", ALL_VECTORS, ids=[vector.name for vector in ALL_VECTORS])
def test_verifier_accepts_exactly_the_valid_proofs(vector: Vector) -> None:
    if vector.want_err:
        with pytest.raises(ProofError) as caught:
            _verify(vector)
        assert caught.value.code == "bad_proof"
        assert caught.value.detail
    else:
        _verify(vector)
