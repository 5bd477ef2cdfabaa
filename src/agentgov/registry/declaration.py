"""The machine-readable declaration of an agent (Art. 4): what it is, who made it, how it is deployed,
which protocols it speaks, what it touches and what it is certified for.

A declaration is a value. The registry stores each version as RFC 8785 canonical JSON with its
``sha256:`` digest. Fields the model does not know are kept in ``extensions``, never dropped.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

from agentgov.core.clock import ensure_utc
from agentgov.core.digest import DIGEST_PATTERN

__all__ = [
    "AGENT_NAME_PATTERN",
    "ApplicationDomain",
    "AutonomyLevel",
    "Certification",
    "CertificationStatus",
    "DataCategory",
    "Declaration",
    "Deployment",
    "DeploymentMode",
    "Interface",
    "ModelUse",
    "Protocol",
    "Skill",
    "ToolUse",
    "UtcDatetime",
]

AGENT_NAME_PATTERN = r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$"
_TAG_RE = re.compile(r"^[^\s,][^,]{0,63}$")

UtcDatetime = Annotated[datetime, AfterValidator(ensure_utc)]
Digest = Annotated[str, Field(pattern=DIGEST_PATTERN)]


class Protocol(StrEnum):
    A2A = "a2a"
    MCP = "mcp"
    ANP = "anp"
    OPENAPI = "openapi"


class DeploymentMode(StrEnum):
    CLOUD = "cloud"
    ON_DEVICE = "on-device"
    HYBRID = "hybrid"
    SELF_HOSTED = "self-hosted-package"
    CONTAINER = "container"


class ApplicationDomain(StrEnum):
    """Application domains named by the Implementation Opinions and the fields they list."""

    MEDICAL = "medical"
    TRANSPORT = "transport"
    MEDIA = "media"
    PUBLIC_SECURITY = "public-security"
    FINANCE = "finance"
    GOVERNMENT = "government"
    EDUCATION = "education"
    OFFICE = "office"
    ENTERTAINMENT = "entertainment"
    MANUFACTURING = "manufacturing"
    AGRICULTURE = "agriculture"
    ENERGY = "energy"
    RETAIL = "retail"
    SCIENCE = "science"
    SOFTWARE = "software"
    CUSTOMER_SERVICE = "customer-service"
    GENERAL = "general"


class DataCategory(StrEnum):
    """Categories of data an agent handles (PIPL Art. 28 for sensitive personal information)."""

    PUBLIC = "public"
    BUSINESS = "business"
    PERSONAL = "personal"
    SENSITIVE_PERSONAL = "sensitive-personal"
    MINORS = "minors"
    BIOMETRIC = "biometric"
    HEALTH = "health"
    FINANCIAL = "financial"
    LOCATION = "location"
    IMPORTANT = "important-data"
    CREDENTIALS = "credentials"


class AutonomyLevel(StrEnum):
    """How far the agent decides alone (Art. 6 decision classes, coarsest grain)."""

    SUGGEST_ONLY = "suggest-only"
    USER_APPROVED = "user-approved"
    SUPERVISED = "supervised"
    AUTONOMOUS = "autonomous"


class CertificationStatus(StrEnum):
    VALID = "valid"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXPIRED = "expired"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Skill(_Model):
    id: str = Field(min_length=1, max_length=128)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    tags: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for tag in value:
            if not _TAG_RE.match(tag):
                raise ValueError(f"tag {tag!r} must be 1-64 characters without commas or leading space")
        return value


class Interface(_Model):
    protocol: Protocol
    url: HttpUrl
    binding: str = Field(default="", max_length=64, description="e.g. JSONRPC, GRPC, HTTP+JSON, stdio")
    protocol_version: str = Field(default="", max_length=32)


class Deployment(_Model):
    mode: DeploymentMode
    instances: int = Field(default=1, ge=0, le=10_000_000)
    regions: tuple[str, ...] = ()


class ModelUse(_Model):
    provider: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    version: str = Field(default="", max_length=64)
    filing_number: str = Field(default="", max_length=64, description="生成式人工智能服务备案号, where filed")


class ToolUse(_Model):
    name: str = Field(min_length=1, max_length=200)
    server: str = Field(default="", max_length=500, description="MCP server name or package")
    version: str = Field(default="", max_length=64)
    digest: Digest | None = Field(default=None, description="pinned digest of the tool definitions")


class Certification(_Model):
    issuer: str = Field(min_length=1, max_length=200)
    scope: str = Field(min_length=1, max_length=500)
    valid_from: UtcDatetime
    valid_until: UtcDatetime
    status: CertificationStatus = CertificationStatus.VALID
    evidence_digest: Digest | None = None

    @model_validator(mode="after")
    def _window(self) -> Certification:
        if self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self

    def is_valid_at(self, at: datetime) -> bool:
        return self.status is CertificationStatus.VALID and self.valid_from <= at < self.valid_until


class Declaration(_Model):
    """One version of what an agent declares about itself."""

    display_name: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=8000)
    version: str = Field(default="1.0.0", min_length=1, max_length=64, description="the agent's own version")
    skills: tuple[Skill, ...] = ()
    tags: tuple[str, ...] = ()
    interfaces: tuple[Interface, ...] = ()
    deployment: Deployment
    models: tuple[ModelUse, ...] = ()
    tools: tuple[ToolUse, ...] = ()
    application_domains: tuple[ApplicationDomain, ...] = Field(min_length=1)
    data_categories: tuple[DataCategory, ...] = ()
    permissions: tuple[str, ...] = ()
    autonomy: AutonomyLevel = AutonomyLevel.USER_APPROVED
    certifications: tuple[Certification, ...] = ()
    documentation_url: HttpUrl | None = None
    extensions: dict[str, Any] = Field(default_factory=dict)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return Skill._tags(value)

    @model_validator(mode="before")
    @classmethod
    def _keep_unknown(cls, data: Any) -> Any:
        """Move unknown top-level members into ``extensions`` instead of refusing or dropping them."""
        if not isinstance(data, dict):
            return data
        known = set(cls.model_fields)
        unknown = {k: v for k, v in data.items() if k not in known}
        if not unknown:
            return data
        kept = {k: v for k, v in data.items() if k in known}
        extensions = dict(kept.get("extensions") or {})
        for key, value in unknown.items():
            extensions.setdefault(key, value)
        kept["extensions"] = extensions
        return kept

    def protocols(self) -> list[str]:
        return sorted({i.protocol.value for i in self.interfaces})

    def all_tags(self) -> list[str]:
        tags = set(self.tags)
        for skill in self.skills:
            tags.update(skill.tags)
        return sorted(tags)

    def is_certified(self, at: datetime) -> bool:
        return any(c.is_valid_at(at) for c in self.certifications)

    def to_json(self) -> dict[str, Any]:
        """The JSON value that is canonicalised and digested."""
        return self.model_dump(mode="json", exclude_none=True)
