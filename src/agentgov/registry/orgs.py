"""Organisations: the developers, providers and deployers that own agents (Art. 4)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Contact", "OrgKind", "OrganisationInput"]

_EMAIL = r"^[^@\s]{1,64}@[^@\s]{1,253}\.[^@\s]{2,63}$"


class OrgKind(StrEnum):
    DEVELOPER = "developer"
    PROVIDER = "provider"
    DEPLOYER = "deployer"


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    email: str = Field(pattern=_EMAIL, max_length=320)
    phone: str = Field(default="", max_length=32)
    role: str = Field(default="", max_length=100, description="e.g. security, compliance, support")


class OrganisationInput(BaseModel):
    """What a registrar (or admin) files for a new organisation."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    domain: str = Field(min_length=3, max_length=253)
    country: str = Field(default="CN", pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")
    legal_id: str | None = Field(
        default=None, max_length=64, description="for CN: the unified social credit code (统一社会信用代码)"
    )
    kinds: tuple[OrgKind, ...] = Field(default=(OrgKind.DEVELOPER,), min_length=1)
    contacts: tuple[Contact, ...] = Field(min_length=1)
    owners: tuple[str, ...] = Field(min_length=1, description="accountable owners (people or roles)")
    sponsors: tuple[str, ...] = Field(min_length=1, description="at least one sponsor vouches for the filing")
