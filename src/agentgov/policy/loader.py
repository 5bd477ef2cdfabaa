"""Load packs into checked policies: parse, validate against the schema, read annotations, digest.

Everything that can be wrong with a policy is found here, once, and refused as :class:`InvalidPolicy`
with the pack's source name, line and column; nothing is half-loaded.

The digest versions the policy set (Art. 7: every decision names the policy version that made it). It
covers the meaning, not the layout: each policy in Cedar's JSON form (so whitespace and comments do
not count), the policies as a sorted set (so their order does not count, as in Cedar), the tool
manifests, the setting values and the trusted sources.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cedarpy
from cedarpy import pst

from agentgov.core.digest import digest_bytes, digest_json
from agentgov.policy.analysis import AnnotationError, PolicyMeta, read_policy
from agentgov.policy.catalog import Catalog, Pack
from agentgov.policy.cedar_text import error_offset, line_column, policy_spans, refine_offset, tokenize
from agentgov.policy.errors import InvalidPack, InvalidPolicy

__all__ = ["DIGEST_FORMAT", "Loaded", "load"]

DIGEST_FORMAT = "agentgov.policy-set/1"


@dataclass(frozen=True)
class Loaded:
    catalog: Catalog
    schema: cedarpy.Schema
    entities: cedarpy.Entities
    templates: dict[str, pst.Template]  # by policy id, in load order
    metas: dict[str, PolicyMeta]
    digest: str


class _Source:
    """One pack's Cedar text, with what is needed to point into it."""

    def __init__(self, pack: Pack) -> None:
        self.name = f"{pack.name}.cedar"
        self.text = pack.policies
        self._spans: list[tuple[int, int]] | None = None

    def refuse(self, message: str, offset: int, policy_id: str | None = None) -> InvalidPolicy:
        line, column = line_column(self.text, offset)
        return InvalidPolicy(message, source=self.name, line=line, column=column, policy_id=policy_id)

    def span(self, index: int) -> tuple[int, int]:
        if self._spans is None:
            self._spans = policy_spans(self.text)
        return self._spans[index] if index < len(self._spans) else (0, 0)

    def at_policy(
        self, message: str, index: int, hint: str = "", policy_id: str | None = None
    ) -> InvalidPolicy:
        return self.refuse(message, refine_offset(self.text, self.span(index), hint or message), policy_id)


def _index(positional_id: str) -> int:
    """Cedar names the policies of one text policy0, policy1, ... in order."""
    return int(positional_id.removeprefix("policy")) if positional_id.startswith("policy") else 0


def _parse(source: _Source) -> tuple[pst.PolicySet, dict[str, Any]]:
    try:
        parsed = cedarpy.PolicySet.from_str(source.text)
    except ValueError as exc:
        raise source.refuse(str(exc), error_offset(source.text)) from exc
    tree = parsed.to_pst()
    if tree.templates:
        slot = next((t.start for t in tokenize(source.text) if t.text == "?"), 0)
        raise source.refuse(
            "templates (?principal, ?resource) are not supported: write static policies", slot
        )
    est = json.loads(cedarpy.policies_to_json_str(source.text))["staticPolicies"]
    return tree, est


def _validate(source: _Source, schema: cedarpy.Schema) -> None:
    result = cedarpy.validate_policies(source.text, schema)
    if not result.validation_passed and result.errors:
        first = result.errors[0]
        raise source.at_policy(
            f"does not validate against the schema: {first.error}", _index(first.policy_id)
        )


def _policy_digest(est: Any) -> str:
    # Cedar longs may exceed the integers RFC 8785 can carry; sorted-key JSON is exact and stable.
    return digest_bytes(json.dumps(est, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())


def _schema(catalog: Catalog) -> cedarpy.Schema:
    try:
        return cedarpy.Schema.from_str(catalog.schema_text())
    except ValueError as exc:
        raise InvalidPack(f"the packs' manifests do not make a valid Cedar schema: {exc}") from exc


def load(packs: Sequence[Pack], settings: Mapping[str, Any]) -> Loaded:
    catalog = Catalog(packs)
    schema = _schema(catalog)
    values = catalog.setting_values(settings)
    deployment = [{"uid": {"type": "Deployment", "id": "current"}, "attrs": values, "parents": []}]
    try:
        entities = cedarpy.Entities.from_json_str(json.dumps(deployment), schema)
    except ValueError as exc:
        raise InvalidPack(f"settings do not fit the schema: {exc}", field="settings") from exc
    templates: dict[str, pst.Template] = {}
    metas: dict[str, PolicyMeta] = {}
    digests: dict[str, str] = {}  # policy id -> digest of its meaning
    for pack in packs:
        source = _Source(pack)
        tree, est = _parse(source)
        _validate(source, schema)  # Art. 7: rules embedded at runtime are checked before they apply
        for positional, template in tree.static_policies.items():
            digest = _policy_digest(est[positional])
            index = _index(positional)
            try:
                meta = read_policy(template, fallback_id=f"{pack.name}.anon-{digest[7:19]}")
            except AnnotationError as exc:
                raise source.at_policy(str(exc), index, hint=f"`@{exc.key}`") from exc
            if meta.id in metas:
                if digests[meta.id] == digest:
                    continue  # the same policy written twice: a set holds it once
                raise source.at_policy(f"policy id {meta.id!r} is used twice", index, "`@id`", meta.id)
            templates[meta.id], metas[meta.id], digests[meta.id] = template, meta, digest
    # Art. 7: verifiable, traceable behaviour: every decision names the policy version that made it.
    digest = digest_json(
        {
            "format": DIGEST_FORMAT,
            "policies": sorted(digests.values()),
            "tools": {name: spec.model_dump(mode="json") for name, spec in catalog.tools.items()},
            "settings": values,
            "trusted_sources": sorted(catalog.trusted_sources),
        }
    )
    return Loaded(catalog, schema, entities, templates, metas, digest)
