"""Services held by the app, and the authentication dependencies of the routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from agentgov.core.clock import Clock
from agentgov.errors import Unauthenticated
from agentgov.identity.apikeys import Principal
from agentgov.identity.keystore import KeyStore
from agentgov.ledger.service import LedgerService
from agentgov.registry.service import RegistryService
from agentgov.server.settings import ServerSettings

__all__ = ["Caller", "Services", "SignedIn", "current_principal", "require_principal", "services"]


@dataclass(frozen=True)
class Services:
    registry: RegistryService
    keys: KeyStore
    clock: Clock
    settings: ServerSettings
    ledger: LedgerService | None = None  # None: the ledger routes answer 503 with the reason


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def current_principal(request: Request) -> Principal | None:
    """The caller's principal, None when no key is sent; an unknown key is refused outright."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("send the API key as 'Authorization: Bearer <key>'")
    return services(request).keys.authenticate(token)


def require_principal(principal: Annotated[Principal | None, Depends(current_principal)]) -> Principal:
    """Every mutating endpoint depends on this: no key, no change."""
    if principal is None:
        raise Unauthenticated("this endpoint changes state and needs an API key")
    return principal


Caller = Annotated[Principal | None, Depends(current_principal)]
SignedIn = Annotated[Principal, Depends(require_principal)]
