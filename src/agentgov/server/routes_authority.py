"""/v1/grants, /v1/policies, /v1/decisions and /v1/me/signing-key: authority (Art. 6, 7).

The routes need ``app.state.authority``, an :class:`agentgov.approvals.wiring.AuthorityServices`;
:func:`install_authority` builds it and includes this router and the approvals router.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Query, Response
from pydantic import BaseModel, ConfigDict, Field, JsonValue
from sqlalchemy import Engine

from agentgov.approvals.notify import Notifier
from agentgov.approvals.settings import ApprovalSettings
from agentgov.approvals.wiring import AuthorityServices, open_authority
from agentgov.core.clock import Clock
from agentgov.identity.apikeys import Role
from agentgov.policy.model import ActionRef, ActionRequest, RequestContext
from agentgov.policy.service import AuthoritySettings
from agentgov.policy.store import Recorder
from agentgov.policy.versions import READERS, PolicyMode, PolicySource, require_role
from agentgov.server import routes_approvals
from agentgov.server.deps import SignedIn
from agentgov.server.routes_approvals import Authority

__all__ = ["install_authority", "router"]

router = APIRouter()


def install_authority(
    app: FastAPI,
    engine: Engine,
    *,
    clock: Clock,
    recorder: Recorder,
    authority_settings: AuthoritySettings | None = None,
    approval_settings: ApprovalSettings | None = None,
    notifier: Notifier | None = None,
) -> AuthorityServices:
    """Build the services onto ``app.state.authority`` and include the authority and approvals routers."""
    services = open_authority(
        engine,
        clock,
        recorder,
        authority_settings=authority_settings,
        approval_settings=approval_settings,
        notifier=notifier,
    )
    app.state.authority = services
    app.include_router(router)
    app.include_router(routes_approvals.router)
    return services


# grants ----------------------------------------------------------------------------------------------


class GrantBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grant: dict[str, JsonValue] = Field(
        description="the grant; id and not_before may be left out when unsigned"
    )
    signature: str | None = Field(default=None, description="base64url Ed25519 over the canonical grant")
    algorithm: Literal["EdDSA"] = "EdDSA"


class Revocation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=1000)


class SigningKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public_key: str = Field(max_length=128, description="did:key, or the 32-byte Ed25519 key in base64url")


@router.post(
    "/v1/grants", status_code=201, tags=["grants"], summary="Delegate authority to an agent (a user)"
)
def create_grant(body: GrantBody, who: SignedIn, svc: Authority) -> dict[str, Any]:
    return svc.authority.grants.create(who, body.model_dump(exclude_none=True, exclude_defaults=True))


@router.get("/v1/grants", tags=["grants"], summary="What my agents may do: grants, with today's usage")
def list_grants(
    who: SignedIn,
    svc: Authority,
    *,
    user: str | None = None,
    agent: str | None = None,
    live: bool = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
) -> list[dict[str, Any]]:
    return svc.authority.grants.list_grants(who, user=user, agent_id=agent, live=live, limit=limit)


@router.get("/v1/grants/{grant_id}", tags=["grants"], summary="One grant")
def get_grant(grant_id: str, who: SignedIn, svc: Authority) -> dict[str, Any]:
    return svc.authority.grants.get(who, grant_id)


@router.post("/v1/grants/{grant_id}/revoke", tags=["grants"], summary="Revoke a grant at once")
def revoke_grant(grant_id: str, body: Revocation, who: SignedIn, svc: Authority) -> dict[str, Any]:
    return svc.authority.grants.revoke(who, grant_id, body.reason)


@router.put(
    "/v1/me/signing-key", tags=["grants"], summary="Register my Ed25519 key: signed grants are checked"
)
def put_signing_key(body: SigningKey, who: SignedIn, svc: Authority) -> dict[str, Any]:
    return svc.authority.grants.set_signing_key(who, body.public_key)


@router.get("/v1/me/signing-key", tags=["grants"], summary="My registered signing key")
def get_signing_key(who: SignedIn, svc: Authority) -> dict[str, Any]:
    return svc.authority.grants.signing_key(who)


# policies --------------------------------------------------------------------------------------------


class Activation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    mode: PolicyMode = PolicyMode.ENFORCE


@router.post("/v1/policies/validate", tags=["policies"], summary="Check a policy set; store nothing")
def validate_policy(body: PolicySource, who: SignedIn, svc: Authority) -> dict[str, Any]:
    require_role(who, *READERS)
    return svc.authority.policies.validate(body)


@router.post("/v1/policies", tags=["policies"], summary="Load a policy set version (by digest)")
def load_policy(body: PolicySource, who: SignedIn, svc: Authority, response: Response) -> dict[str, Any]:
    loaded = svc.authority.policies.load(who, body)
    response.status_code = 201 if loaded["created"] else 200
    return loaded


@router.get("/v1/policies", tags=["policies"], summary="Policy set versions, newest first")
def list_policies(
    who: SignedIn, svc: Authority, limit: Annotated[int, Query(ge=1, le=100)] = 50
) -> list[dict[str, Any]]:
    return svc.authority.policies.versions(who, limit)


@router.get(
    "/v1/policies/deployments", tags=["policies"], summary="The active set and mode of each deployment"
)
def list_deployments(who: SignedIn, svc: Authority) -> list[dict[str, Any]]:
    return svc.authority.policies.deployments(who)


@router.put(
    "/v1/policies/deployments/{name}", tags=["policies"], summary="Activate a version (enforce or shadow)"
)
def activate_policy(name: str, body: Activation, who: SignedIn, svc: Authority) -> dict[str, Any]:
    return svc.authority.policies.activate(who, body.digest, body.mode, name)


@router.get("/v1/policies/{digest}", tags=["policies"], summary="One policy set version and its source")
def get_policy(digest: str, who: SignedIn, svc: Authority) -> dict[str, Any]:
    return svc.authority.policies.get(who, digest)


# decisions -------------------------------------------------------------------------------------------


class DecideBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request: ActionRequest
    deployment: str | None = Field(default=None, max_length=64)


class VisibleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: str = Field(min_length=1, max_length=256)
    user_id: str = Field(min_length=1, max_length=256)
    context: RequestContext
    tools: list[ActionRef] = Field(max_length=1000)
    deployment: str | None = Field(default=None, max_length=64)


@router.post("/v1/decisions", tags=["decisions"], summary="Decide an action request, and record it")
def decide(body: DecideBody, who: SignedIn, svc: Authority) -> dict[str, Any]:
    require_role(who, Role.ADMIN)
    return svc.authority.decide(body.request, actor=who.actor, deployment=body.deployment).to_json()


@router.post("/v1/decisions/visible-tools", tags=["decisions"], summary="The tools an agent may be shown")
def visible(body: VisibleBody, who: SignedIn, svc: Authority) -> dict[str, Any]:
    require_role(who, Role.ADMIN)
    tools = svc.authority.visible(body.agent_id, body.user_id, body.context, body.tools, body.deployment)
    return {"tools": [t.model_dump() for t in tools]}


@router.get("/v1/decisions", tags=["decisions"], summary="Recorded decisions, newest first")
def list_decisions(
    who: SignedIn,
    svc: Authority,
    *,
    user: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    before: Annotated[int | None, Query(ge=1, description="the seq of the last decision seen")] = None,
) -> list[dict[str, Any]]:
    return svc.authority.list_decisions(who, user=user, limit=limit, before=before)


@router.get("/v1/decisions/{decision_id}", tags=["decisions"], summary="One recorded decision")
def get_decision(decision_id: str, who: SignedIn, svc: Authority) -> dict[str, Any]:
    return svc.authority.get_decision(who, decision_id)


@router.post("/v1/decisions/{decision_id}/ran", tags=["decisions"], summary="Report that the action ran")
def action_ran(decision_id: str, who: SignedIn, svc: Authority) -> dict[str, Any]:
    return svc.authority.action_ran(who, decision_id)
