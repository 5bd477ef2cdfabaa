"""Who may do what in the registry. Pure: principals and records in, a decision or Forbidden out."""

from __future__ import annotations

from agentgov.errors import Forbidden
from agentgov.identity.apikeys import Principal, Role
from agentgov.registry.lifecycle import Actor, AgentStatus

__all__ = [
    "PUBLIC_STATUSES",
    "actor_for",
    "may_see",
    "require_org_manager",
    "require_role",
    "sees_everything",
]

# What anyone may discover. Filed, under-review and withdrawn records are seen by their developer,
# registrars, regulators and admins only.
PUBLIC_STATUSES = frozenset(
    {
        AgentStatus.REGISTERED,
        AgentStatus.SUSPENDED,
        AgentStatus.DEPRECATED,
        AgentStatus.RETIRED,
        AgentStatus.RECALLED,
    }
)
_SEE_ALL = frozenset({Role.ADMIN, Role.REGISTRAR, Role.REGULATOR})


def require_role(principal: Principal | None, *roles: Role) -> Principal:
    if principal is None or principal.role not in roles:
        names = ", ".join(r.value for r in roles)
        held = principal.role.value if principal else "no key"
        raise Forbidden(f"this needs one of the roles: {names} (you have: {held})")
    return principal


def require_org_manager(principal: Principal | None, org_id: str) -> Principal:
    """Admins, and developers of this very organisation."""
    p = require_role(principal, Role.ADMIN, Role.DEVELOPER)
    if p.role is Role.DEVELOPER and p.org_id != org_id:
        raise Forbidden("a developer key acts only for its own organisation")
    return p


def actor_for(principal: Principal | None, org_id: str, needed: Actor) -> Principal:
    """Check that ``principal`` may act as ``needed`` on an agent of ``org_id``."""
    if needed is Actor.REGISTRAR:
        return require_role(principal, Role.ADMIN, Role.REGISTRAR)
    return require_org_manager(principal, org_id)


def sees_everything(principal: Principal | None) -> bool:
    return principal is not None and principal.role in _SEE_ALL


def may_see(principal: Principal | None, org_id: str, status: AgentStatus) -> bool:
    if status in PUBLIC_STATUSES or sees_everything(principal):
        return True
    return principal is not None and principal.role is Role.DEVELOPER and principal.org_id == org_id
