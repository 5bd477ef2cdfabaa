"""Demo data: two organisations and a dozen agents across domains, protocols and lifecycle states."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from agentgov.identity.apikeys import Principal, Role
from agentgov.registry.service import RegistryService

__all__ = ["demo_data", "load_demo"]

_REGISTRAR = Principal(key_id="demo-registrar", role=Role.REGISTRAR)


def demo_data() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("demo.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def load_demo(service: RegistryService) -> dict[str, int]:
    """Load the demo through the service, with the same checks as any filing. Returns counts."""
    data = demo_data()
    org_ids: dict[str, str] = {}
    for org in data["organisations"]:
        org_ids[org["domain"]] = service.create_org(_REGISTRAR, org).id
    for item in data["agents"]:
        developer = Principal(key_id="demo-developer", role=Role.DEVELOPER, org_id=org_ids[item["org"]])
        record = service.register_agent(
            developer, item["org"], item["name"], item["declaration"], item["aliases"]
        )
        for action, reason in item["lifecycle"]:
            by_registrar = action in {"approve", "reject", "suspend", "reinstate", "recall"}
            service.move(_REGISTRAR if by_registrar else developer, record.id, action, reason)
    return {"organisations": len(data["organisations"]), "agents": len(data["agents"])}
