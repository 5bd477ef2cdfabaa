"""The policy packs shipped with agentgov, read from the package (``policy/packs/<name>.cedar|json``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

from agentgov.core.validation import validate_model
from agentgov.errors import NotFound
from agentgov.policy.catalog import Pack
from agentgov.policy.fences import PolicySet

__all__ = ["available_packs", "load_pack", "load_packs"]

_PACKS = resources.files("agentgov.policy") / "packs"


def available_packs() -> tuple[str, ...]:
    return tuple(sorted(p.name.removesuffix(".json") for p in _PACKS.iterdir() if p.name.endswith(".json")))


def load_pack(name: str) -> Pack:
    """The shipped pack ``name``: its manifest and its Cedar policies."""
    if name not in available_packs():
        raise NotFound(f"no policy pack {name!r}; shipped: {', '.join(available_packs())}")
    manifest: dict[str, Any] = json.loads((_PACKS / f"{name}.json").read_text(encoding="utf-8"))
    manifest["policies"] = (_PACKS / f"{name}.cedar").read_text(encoding="utf-8")
    return validate_model(Pack, manifest)


def load_packs(
    names: Sequence[str], *, settings: Mapping[str, Any] | None = None, extra: Sequence[Pack] = ()
) -> PolicySet:
    """A policy set of shipped packs (plus the deployer's own ``extra`` packs), with setting overrides."""
    return PolicySet.build([*(load_pack(n) for n in names), *extra], settings=settings)
