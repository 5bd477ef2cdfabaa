"""/v1/approvals, /v1/me/delegates, /v1/me/feed and /v1/disputes: the user's final say and right to
know (Art. 6).

Waiting on an approval: ``GET /v1/approvals/{id}?wait=30`` answers once it is no longer pending or
after the wait (capped by the server's settings); ``GET /v1/approvals/{id}/events`` is a stream of
server-sent events (``event: approval``, one per change, ``: keep-alive`` comments between) that ends
when the approval is decided, or after the server's maximum stream time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from agentgov.approvals.model import ApprovalInput, ApprovalStatus
from agentgov.approvals.wiring import AuthorityServices
from agentgov.errors import Unavailable
from agentgov.identity.apikeys import Principal
from agentgov.policy.versions import READERS, require_role
from agentgov.server.deps import SignedIn

__all__ = ["Authority", "authority_services", "router"]

router = APIRouter()


def authority_services(request: Request) -> AuthorityServices:
    found: AuthorityServices | None = getattr(request.app.state, "authority", None)
    if found is None:
        raise Unavailable("grants, policies and approvals are not configured on this server")
    return found


Authority = Annotated[AuthorityServices, Depends(authority_services)]


class Decide(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=1000)


class Consume(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: str = Field(min_length=1, max_length=256)
    user_id: str = Field(min_length=1, max_length=256)
    tool: str = Field(min_length=1, max_length=128)
    server: str | None = Field(default=None, max_length=256)
    arguments: dict[str, JsonValue] = Field(default_factory=dict)


class Delegates(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delegates: list[str] = Field(max_length=100, description="user ids; replaces the list")


class Dispute(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


# approvals -------------------------------------------------------------------------------------------


@router.post("/v1/approvals", status_code=201, tags=["approvals"], summary="Ask the user to approve one call")
def request_approval(body: ApprovalInput, who: SignedIn, svc: Authority) -> dict[str, Any]:
    return svc.approvals.request(who, body)


@router.get("/v1/approvals", tags=["approvals"], summary="Approvals I decide (mine, and as a delegate)")
def list_approvals(
    who: SignedIn,
    svc: Authority,
    status: ApprovalStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> list[dict[str, Any]]:
    return svc.approvals.list_approvals(who, status=status, limit=limit)


@router.get("/v1/approvals/{approval_id}", tags=["approvals"], summary="One approval; ?wait=N long-polls")
async def get_approval(
    approval_id: str,
    who: SignedIn,
    svc: Authority,
    wait: Annotated[float, Query(ge=0, le=3600, description="seconds to wait while pending (capped)")] = 0,
) -> dict[str, Any]:
    return await svc.approvals.wait(who, approval_id, wait)


def _sse(view: dict[str, Any] | None, n: int) -> str:
    if view is None:
        return ": keep-alive\n\n"
    data = json.dumps(view, ensure_ascii=False, separators=(",", ":"))  # one line: no "\n" in JSON text
    return f"event: approval\nid: {n}\ndata: {data}\n\n"


@router.get(
    "/v1/approvals/{approval_id}/events", tags=["approvals"], summary="Server-sent events of an approval"
)
async def approval_events(approval_id: str, who: SignedIn, svc: Authority) -> StreamingResponse:
    await asyncio.to_thread(svc.approvals.get, who, approval_id)  # 404 before the stream starts

    async def stream(principal: Principal) -> AsyncIterator[str]:
        n = 0
        async for view in svc.approvals.changes(principal, approval_id):
            n += view is not None
            yield _sse(view, n)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(who), media_type="text/event-stream", headers=headers)


@router.post(
    "/v1/approvals/{approval_id}/approve", tags=["approvals"], summary="Approve (the user or a delegate)"
)
def approve(approval_id: str, body: Decide, who: SignedIn, svc: Authority) -> dict[str, Any]:
    return svc.approvals.approve(who, approval_id, body.note)


@router.post(
    "/v1/approvals/{approval_id}/refuse", tags=["approvals"], summary="Refuse (the user or a delegate)"
)
def refuse(approval_id: str, body: Decide, who: SignedIn, svc: Authority) -> dict[str, Any]:
    return svc.approvals.refuse(who, approval_id, body.note)


@router.post("/v1/approvals/{approval_id}/consume", tags=["approvals"], summary="Run the approved call, once")
def consume(approval_id: str, body: Consume, who: SignedIn, svc: Authority) -> dict[str, Any]:
    return svc.approvals.consume(
        who,
        approval_id,
        agent_id=body.agent_id,
        user_id=body.user_id,
        tool=body.tool,
        server=body.server,
        arguments=body.arguments,
    )


# delegates, feed, disputes ---------------------------------------------------------------------------


@router.get(
    "/v1/me/delegates", tags=["approvals"], summary="Who may decide my approvals (not user-only ones)"
)
def get_delegates(who: SignedIn, svc: Authority) -> dict[str, Any]:
    return svc.approvals.delegates(who)


@router.put("/v1/me/delegates", tags=["approvals"], summary="Name my delegates (replaces the list)")
def put_delegates(body: Delegates, who: SignedIn, svc: Authority) -> dict[str, Any]:
    return svc.approvals.set_delegates(who, body.delegates)


@router.get("/v1/me/feed", tags=["right to know"], summary="What was done on my behalf, newest first")
def feed(
    who: SignedIn,
    svc: Authority,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    before: Annotated[
        str | None, Query(max_length=300, description="the `next` of the previous page")
    ] = None,
) -> dict[str, Any]:
    return svc.feed.feed(who, limit=limit, before=before)


@router.post(
    "/v1/me/feed/{item_id}/dispute", status_code=201, tags=["right to know"], summary="Dispute an item"
)
def dispute(item_id: str, body: Dispute, who: SignedIn, svc: Authority) -> dict[str, Any]:
    return svc.feed.dispute(who, item_id, body.reason)


@router.get("/v1/me/disputes", tags=["right to know"], summary="My disputes")
def my_disputes(who: SignedIn, svc: Authority) -> list[dict[str, Any]]:
    return svc.feed.disputes(who)


@router.get("/v1/disputes", tags=["right to know"], summary="Disputes to review (regulator, admin)")
def list_disputes(
    who: SignedIn, svc: Authority, user: str | None = None, limit: Annotated[int, Query(ge=1, le=100)] = 50
) -> list[dict[str, Any]]:
    require_role(who, *READERS)
    return svc.feed.disputes(who, user=user, limit=limit)
