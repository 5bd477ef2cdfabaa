"""Search and discovery (Art. 4): full text (SQLite FTS5 / PostgreSQL tsvector) with filters.

Text is indexed as words plus character bigrams of CJK runs, so that a two-character Chinese word
(医疗, 金融) matches inside a longer run without a segmenter. Query terms are sanitised to word
characters and quoted, so no user text reaches the FTS query language.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agentgov.errors import InvalidInput
from agentgov.registry.declaration import Declaration
from agentgov.registry.lifecycle import AgentStatus

__all__ = [
    "FACETS",
    "SearchQuery",
    "decode_cursor",
    "encode_cursor",
    "facets_of",
    "index_text",
    "matched_fields",
    "query_terms",
]

FACETS = ("skill", "tag", "protocol", "domain", "data")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_MAX_TERMS = 8


def _cjk_bigrams(text: str) -> list[str]:
    grams: list[str] = []
    for run in _CJK.findall(text):
        if len(run) == 1:
            grams.append(run)
        grams.extend(run[i : i + 2] for i in range(len(run) - 1))
    return grams


def index_text(name: str, declaration: Declaration) -> str:
    """The text put into the full-text index for one agent version."""
    parts = [name, declaration.display_name, declaration.description, " ".join(declaration.all_tags())]
    for skill in declaration.skills:
        parts.extend((skill.id, skill.name, skill.description))
    text = " ".join(p for p in parts if p)
    grams = _cjk_bigrams(text)
    return text + (" " + " ".join(grams) if grams else "")


def facets_of(declaration: Declaration) -> list[tuple[str, str]]:
    facets = [("skill", s.id.lower()) for s in declaration.skills]
    facets += [("tag", t.lower()) for t in declaration.all_tags()]
    facets += [("protocol", p) for p in declaration.protocols()]
    facets += [("domain", d.value) for d in declaration.application_domains]
    facets += [("data", c.value) for c in declaration.data_categories]
    return facets


def query_terms(q: str) -> list[str]:
    """Words of the query (lower case); CJK runs become their bigrams. At most eight terms."""
    terms: list[str] = []
    for word in _WORD.findall(q.lower()):
        if _CJK.fullmatch(word):
            terms.extend(_cjk_bigrams(word))
        else:
            terms.extend(_WORD.findall(_CJK.sub(" ", word)))
            terms.extend(_cjk_bigrams(word))
    unique = list(dict.fromkeys(t for t in terms if t))
    if len(unique) > _MAX_TERMS:
        raise InvalidInput(f"at most {_MAX_TERMS} search terms", field="q")
    return unique


def matched_fields(terms: Sequence[str], name: str, declaration: dict[str, Any]) -> list[str]:
    """Which declaration fields contain a query term (case-insensitive), for 'why did this match'."""
    if not terms:
        return []
    skills = declaration.get("skills", [])
    fields = {
        "name": name,
        "display_name": declaration.get("display_name", ""),
        "description": declaration.get("description", ""),
        "skills": " ".join(
            f"{s.get('id', '')} {s.get('name', '')} {s.get('description', '')}" for s in skills
        ),
        "tags": " ".join([*declaration.get("tags", []), *(t for s in skills for t in s.get("tags", []))]),
    }
    found = []
    for field_name, text in fields.items():
        lowered = text.lower()
        if any(term in lowered for term in terms):
            found.append(field_name)
    return found


@dataclass(frozen=True)
class SearchQuery:
    """A validated search request. ``filters`` maps a facet to the value it must have."""

    q: str = ""
    filters: dict[str, str] = field(default_factory=dict)
    deployment_mode: str | None = None
    statuses: frozenset[AgentStatus] | None = None
    certified: bool | None = None
    org_id: str | None = None
    updated_since: datetime | None = None
    include_deleted: bool = False
    public_only: bool = True
    own_org: str | None = None
    limit: int = 20
    cursor: str | None = None


def encode_cursor(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("cursor is not one this registry issued", field="cursor") from exc
    if not isinstance(value, dict):
        raise InvalidInput("cursor is not one this registry issued", field="cursor")
    return value
