"""/v1/keys: API keys (admin creates and revokes; admin and regulator list metadata)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from agentgov.identity.apikeys import Role
from agentgov.registry.access import require_role
from agentgov.server.deps import Services, SignedIn, services

__all__ = ["router"]

router = APIRouter(prefix="/v1/keys", tags=["keys"])


class KeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    org: str | None = Field(default=None, description="organisation id or domain; developer keys only")
    subject: str | None = Field(default=None, max_length=200, description="the user; user keys only")
    label: str = Field(default="", max_length=200)


@router.post("", status_code=201, summary="Create an API key (shown once)")
def create_key(
    body: KeyRequest, who: SignedIn, svc: Annotated[Services, Depends(services)]
) -> dict[str, Any]:
    require_role(who, Role.ADMIN)
    return svc.keys.create(body.role.value, org=body.org, subject=body.subject, label=body.label).to_json()


@router.get("", summary="List API keys (metadata only)")
def list_keys(who: SignedIn, svc: Annotated[Services, Depends(services)]) -> list[dict[str, Any]]:
    require_role(who, Role.ADMIN, Role.REGULATOR)
    return svc.keys.list()


@router.delete("/{key_id}", status_code=204, summary="Revoke an API key at once")
def revoke_key(key_id: str, who: SignedIn, svc: Annotated[Services, Depends(services)]) -> Response:
    require_role(who, Role.ADMIN)
    svc.keys.revoke(key_id)
    return Response(status_code=204)
