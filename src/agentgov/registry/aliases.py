"""Aliases: other identifiers an agent is known by (a DID, a national 智能体身份码, a URL). Pure."""

from __future__ import annotations

import re

from agentgov.errors import InvalidInput

__all__ = ["AGENT_ID_PREFIX", "ALIAS_SCHEMES", "check_alias"]

# Every agent id starts so (urn:agent:<org domain>:<name>); no alias may, so a key names one or the other.
AGENT_ID_PREFIX = "urn:agent:"

ALIAS_SCHEMES = {
    "did": re.compile(r"^did:[a-z0-9]+:[A-Za-z0-9._:%-]{1,380}$"),
    # 智能体身份码 issued by a national registry: an opaque code of letters, digits and hyphens.
    "aip": re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{7,63}$"),
    "url": re.compile(r"^https://[^\s]{4,390}$"),
    "other": re.compile(r"^[^\s]{1,400}$"),
}


def check_alias(alias: dict[str, str]) -> tuple[str, str]:
    scheme = alias.get("scheme", "")
    value = alias.get("alias", "")
    pattern = ALIAS_SCHEMES.get(scheme)
    if pattern is None:
        raise InvalidInput(
            f"unknown alias scheme {scheme!r} (known: {', '.join(ALIAS_SCHEMES)})", field="scheme"
        )
    if not pattern.match(value):
        raise InvalidInput(f"{value!r} is not a valid {scheme} alias", field="alias")
    if value.startswith(AGENT_ID_PREFIX):
        raise InvalidInput("an alias cannot take the form of an agent id", field="alias")
    return value, scheme
