"""Policy set versions and deployments (Art. 7): load, validate, store by digest, activate per deployment.

A version is stored with every pack in full (shipped packs are resolved when loaded), so it rebuilds
to the same digest after an upgrade changes the shipped packs; a version that does not is refused.
Built sets are cached by digest: parsing and validating Cedar costs milliseconds, deciding microseconds.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from agentgov.core.clock import Clock, isoformat_z
from agentgov.core.validation import validate_model
from agentgov.errors import Forbidden, NotFound, Unavailable
from agentgov.identity.apikeys import Principal, Role
from agentgov.policy.catalog import Pack
from agentgov.policy.fences import PolicySet
from agentgov.policy.packs import load_pack
from agentgov.policy.store import AuthorityStore, Recorder

__all__ = ["PolicyMode", "PolicySource", "PolicyVersions", "require_role"]

PackName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
DeploymentName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
READERS = (Role.ADMIN, Role.REGULATOR)


class PolicyMode(StrEnum):
    ENFORCE = "enforce"
    SHADOW = "shadow"  # Art. 7: a new set is watched (decided and recorded) before it is enforced


class PolicySource(BaseModel):
    """What a policy set is made of: shipped packs by name, the deployer's own packs, setting values."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    packs: tuple[PackName, ...] = Field(default=(), max_length=32)
    extra: tuple[Pack, ...] = Field(default=(), max_length=32)
    settings: dict[str, JsonValue] = Field(default_factory=dict)

    def resolved(self) -> PolicySource:
        """Every pack in full."""
        return PolicySource(extra=(*(load_pack(n) for n in self.packs), *self.extra), settings=self.settings)

    def build(self) -> PolicySet:
        """Checked and loaded; InvalidPolicy (with line and column) or InvalidPack when wrong."""
        full = self.resolved()
        return PolicySet.build(full.extra, settings=full.settings)


class _Deployment(BaseModel):
    name: DeploymentName


def require_role(who: Principal, *roles: Role) -> None:
    if who.role not in roles:
        names = ", ".join(r.value for r in roles)
        raise Forbidden(f"this needs one of the roles: {names} (you have: {who.role.value})")


class PolicyVersions:
    def __init__(
        self,
        store: AuthorityStore,
        clock: Clock,
        recorder: Recorder,
        *,
        default_deployment: str = "default",
        cache_size: int = 8,
        max_page_size: int = 100,
        deployment_ttl_s: float = 1.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.recorder = recorder
        self.default_deployment = default_deployment
        self._cache_size = cache_size
        self._max_page = max_page_size
        self._sets: OrderedDict[str, PolicySet] = OrderedDict()
        self._lock = threading.Lock()
        # Which version a deployment runs is read at most once a second per process: an activation
        # made elsewhere (the CLI, another replica) applies within that second; one made here, at once.
        self._deployment_ttl_s = deployment_ttl_s
        self._deployments: dict[str, tuple[float, Any]] = {}

    def validate(self, source: PolicySource) -> dict[str, Any]:
        """Check a policy set without storing it; InvalidPolicy says where it is wrong."""
        return _summary(source.build())

    def load(self, who: Principal, source: PolicySource) -> dict[str, Any]:
        """Validate and store a version (by digest); storing the same version again changes nothing."""
        if who.role is not Role.ADMIN:
            raise Forbidden("only an admin loads policy sets")
        full = source.resolved()
        built = PolicySet.build(full.extra, settings=full.settings)  # invalid: raised, nothing stored
        row = {
            "digest": built.digest,
            "source": full.model_dump(mode="json"),
            "policy_count": len(built.metas),
            "created_at": self.clock.now(),
            "created_by": who.actor,
        }
        created = self.store.put_policy_set(row)
        if created:
            payload = {"digest": built.digest, "packs": [p.name for p in full.extra]}
            self.recorder.record("authority.policy.loaded", built.digest, who.actor, payload)
        self._remember(built.digest, built)
        return {**_summary(built), "created": created}

    def get(self, who: Principal, digest: str) -> dict[str, Any]:
        require_role(who, *READERS)
        row = self.store.get_policy_set(digest)
        if row is None:
            raise NotFound(f"no policy set {digest!r}")
        return {**_summary(self.policy_set(digest)), "source": row["source"], **_stamp(row)}

    def versions(self, who: Principal, limit: int = 50) -> list[dict[str, Any]]:
        require_role(who, *READERS)
        return [
            {"digest": r["digest"], "policy_count": r["policy_count"], **_stamp(r)}
            for r in self.store.list_policy_sets(min(limit, self._max_page))
        ]

    def activate(
        self, who: Principal, digest: str, mode: PolicyMode, deployment: str | None = None
    ) -> dict[str, Any]:
        if who.role is not Role.ADMIN:
            raise Forbidden("only an admin chooses the active policy set")
        name = validate_model(_Deployment, {"name": deployment or self.default_deployment}).name
        if self.store.get_policy_set(digest) is None:
            raise NotFound(f"no policy set {digest!r}: load it first")
        self.policy_set(digest)  # it must rebuild before it may decide
        self.store.set_deployment(name, digest, mode.value, self.clock.now(), who.actor)
        with self._lock:
            self._deployments.pop(name, None)
        payload = {"deployment": name, "digest": digest, "mode": mode.value}
        self.recorder.record("authority.policy.activated", name, who.actor, payload)
        row = self.store.deployment(name)
        if row is None:  # pragma: no cover - written just above
            raise Unavailable(f"deployment {name!r} was not stored")
        return _deployment_json(row)

    def deployments(self, who: Principal) -> list[dict[str, Any]]:
        require_role(who, *READERS)
        return [_deployment_json(r) for r in self.store.deployments()]

    def active(self, deployment: str | None) -> tuple[str, PolicySet | None, bool]:
        """(deployment name, its active set or None, whether it runs in shadow mode)."""
        name = deployment or self.default_deployment
        now = time.monotonic()
        with self._lock:
            cached = self._deployments.get(name)
        if cached is not None and now - cached[0] < self._deployment_ttl_s:
            row = cached[1]
        else:
            row = self.store.deployment(name)
            with self._lock:
                self._deployments[name] = (now, row)
        if row is None:
            return name, None, False  # no policy: evaluate denies everything
        return name, self.policy_set(row["digest"]), row["mode"] == PolicyMode.SHADOW.value

    def active_sets(self) -> list[PolicySet]:
        """The active set of every deployment."""
        return [self.policy_set(r["digest"]) for r in self.store.deployments()]

    def user_only_tools(self) -> frozenset[str]:
        """Tools some active set makes user-only (Art. 6): never granted, never approved by a delegate."""
        return frozenset().union(*(s.user_only_tools() for s in self.active_sets()))

    def declared_arguments(self) -> dict[str, set[str]]:
        """The arguments the active packs declare for each tool that declares any."""
        out: dict[str, set[str]] = {}
        for policy_set in self.active_sets():
            for tool, spec in policy_set.catalog.tools.items():
                if spec.arguments:
                    out.setdefault(tool, set()).update(spec.arguments)
        return out

    def policy_set(self, digest: str) -> PolicySet:
        with self._lock:
            found = self._sets.get(digest)
            if found is not None:
                self._sets.move_to_end(digest)
                return found
        row = self.store.get_policy_set(digest)
        if row is None:
            raise Unavailable(f"the active policy set {digest} is not in the store")
        built = PolicySource.model_validate(row["source"]).build()
        if built.digest != digest:
            raise Unavailable(f"policy set {digest} rebuilds to {built.digest}: refusing to decide with it")
        self._remember(digest, built)
        return built

    def _remember(self, digest: str, built: PolicySet) -> None:
        with self._lock:
            self._sets[digest] = built
            self._sets.move_to_end(digest)
            while len(self._sets) > self._cache_size:
                self._sets.popitem(last=False)


def _summary(built: PolicySet) -> dict[str, Any]:
    return {
        "digest": built.digest,
        "policies": sorted(built.metas),
        "tools": sorted(built.catalog.tools),
        "user_only_tools": sorted(built.user_only_tools()),
    }


def _stamp(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {"created_at": isoformat_z(row["created_at"]), "created_by": row["created_by"]}


def _deployment_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "deployment": row["name"],
        "digest": row["digest"],
        "mode": row["mode"],
        "activated_at": isoformat_z(row["activated_at"]),
        "activated_by": row["activated_by"],
    }
