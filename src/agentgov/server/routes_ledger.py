"""The record's read API: C2SP tlog-tiles paths under /ledger, JSON proofs and entries under /v1/ledger.

Tiles, entry bundles, proofs and checkpoints carry no personal data and are public, as a
transparency log must be. An entry's payload (which may name people) is shown only to the roles that
audit the platform (admin, registrar, regulator).
"""

from __future__ import annotations

import base64
import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from agentgov.errors import Forbidden, InvalidInput, NotFound, Unavailable
from agentgov.identity.apikeys import Principal, Role
from agentgov.ledger.service import LedgerService
from agentgov.ledger.tiles import parse_tile_index
from agentgov.server.deps import Caller, SignedIn

__all__ = ["ledger_service", "router"]

router = APIRouter(tags=["ledger"])

_AUDITORS = frozenset({Role.ADMIN, Role.REGISTRAR, Role.REGULATOR})
_TILE_LEVEL = re.compile(r"0|[1-9][0-9]?", re.ASCII)  # C2SP tlog-tiles: decimal, no leading zeroes
_TEXT = "text/plain; charset=utf-8"
_BINARY = "application/octet-stream"
_IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}  # full tiles never change
_SHORT = {"Cache-Control": "public, max-age=5"}  # C2SP tlog-tiles: no caching beyond a few seconds


def ledger_service(request: Request) -> LedgerService:
    ledger: LedgerService | None = getattr(request.app.state.services, "ledger", None)
    if ledger is None:
        raise Unavailable("the ledger is not configured on this server")
    return ledger


Ledger = Annotated[LedgerService, Depends(ledger_service)]


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _may_read_payloads(principal: Principal | None) -> bool:
    return principal is not None and principal.role in _AUDITORS


class InclusionProof(BaseModel):
    index: int
    size: int
    root: str
    leaf_hash: str
    hashes: list[str]


class ConsistencyProof(BaseModel):
    old: int
    new: int
    old_root: str
    new_root: str
    hashes: list[str]


class LedgerEntry(BaseModel):
    index: int
    leaf: str
    leaf_hash: str
    kind: str
    time: str
    follows: int | None
    status: Literal["ok", "erased", "tampered"]
    detail: str
    event: dict[str, Any] | None = None


class PublishedCheckpoint(BaseModel):
    size: int
    root: str
    checkpoint: str


# C2SP tlog-tiles read paths -------------------------------------------------------------------------


@router.get("/ledger/checkpoint", summary="Latest checkpoint with witness cosignatures (C2SP tlog-tiles)")
def checkpoint(ledger: Ledger) -> Response:
    return Response(ledger.checkpoint(), media_type=_TEXT, headers=_SHORT)


@router.get("/ledger/vkey", summary="The log's verifier key (C2SP signed-note verifier key text)")
def vkey(ledger: Ledger) -> Response:
    return Response(ledger.vkey() + "\n", media_type=_TEXT)


def _tile_response(body: bytes, width: int | None) -> Response:
    return Response(body, media_type=_BINARY, headers=_IMMUTABLE if width is None else _SHORT)


@router.get("/ledger/tile/entries/{path:path}", summary="Entry bundle (C2SP tlog-tiles)")
def entry_bundle(path: str, ledger: Ledger) -> Response:
    index, width = parse_tile_index(path)
    return _tile_response(ledger.reader.bundle(index, width), width)


@router.get("/ledger/tile/{level}/{path:path}", summary="Merkle tile (C2SP tlog-tiles, height 8)")
def tile(level: str, path: str, ledger: Ledger) -> Response:
    if not _TILE_LEVEL.fullmatch(level) or int(level) > 63:
        raise NotFound(f"tile level {level!r} is not a decimal from 0 to 63")
    index, width = parse_tile_index(path)
    return _tile_response(ledger.reader.tile(int(level), index, width), width)


# JSON API ------------------------------------------------------------------------------------------


@router.get("/v1/ledger/proofs/inclusion", summary="Inclusion proof of an entry (RFC 9162 §2.1.3)")
def inclusion(
    ledger: Ledger, index: Annotated[int, Query(ge=0)], size: Annotated[int, Query(ge=1)]
) -> InclusionProof:
    hashes = ledger.reader.inclusion(index, size)
    _, leaf_hash = ledger.reader.entry(index)
    root = ledger.reader.root(size)
    return InclusionProof(
        index=index, size=size, root=_b64(root), leaf_hash=_b64(leaf_hash), hashes=[_b64(h) for h in hashes]
    )


@router.get("/v1/ledger/proofs/consistency", summary="Consistency proof between tree sizes (RFC 9162 §2.1.4)")
def consistency(
    ledger: Ledger, old: Annotated[int, Query(ge=1)], new: Annotated[int, Query(ge=1)]
) -> ConsistencyProof:
    hashes = ledger.reader.consistency(old, new)
    return ConsistencyProof(
        old=old,
        new=new,
        old_root=_b64(ledger.reader.root(old)),
        new_root=_b64(ledger.reader.root(new)),
        hashes=[_b64(h) for h in hashes],
    )


@router.get("/v1/ledger/entries/{index}", summary="One entry: its leaf, and its event to auditors")
def entry(index: int, ledger: Ledger, principal: Caller) -> LedgerEntry:
    view, leaf_hash = ledger.reader.entry(index)
    show = view.event is not None and _may_read_payloads(principal)
    return LedgerEntry(
        index=index,
        leaf=_b64(view.leaf.to_bytes()),
        leaf_hash=_b64(leaf_hash),
        kind=view.leaf.kind,
        time=view.leaf.time,
        follows=view.leaf.follows,
        status=view.status,
        detail=view.detail,
        event=view.event.model_dump(mode="json") if show and view.event is not None else None,
    )


@router.get("/v1/ledger/entries/{index}/bundle", summary="Offline proof bundle of one entry")
def bundle(
    index: int,
    ledger: Ledger,
    principal: Caller,
    since: Annotated[list[int] | None, Query(description="Sizes of checkpoints you hold")] = None,
    payload: bool = False,
) -> dict[str, Any]:
    if payload and not _may_read_payloads(principal):
        raise Forbidden("only admin, registrar and regulator keys may read payloads")
    if index < 0:
        raise InvalidInput("an entry index is not negative", field="index")
    return ledger.bundle(index, since or (), with_payload=payload)


@router.post("/v1/ledger/checkpoints", summary="Sign and publish a checkpoint now", status_code=201)
def publish(ledger: Ledger, principal: SignedIn) -> PublishedCheckpoint:
    if principal.role is not Role.ADMIN:
        raise Forbidden("only an admin key may publish a checkpoint on demand")
    signed = ledger.publish()
    return PublishedCheckpoint(
        size=signed.size, root=_b64(signed.root_hash), checkpoint=ledger.publisher.cosigned_note(signed)
    )
