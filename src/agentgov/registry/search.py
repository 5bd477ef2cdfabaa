"""Search and discovery (Art. 4): what is indexed, how a query is read, and how it is planned. Pure.

Indexing. ``index_text`` turns a declaration into a stream of normalised tokens separated by single
spaces: case and diacritics folded (NFKD), everything that is not a letter or digit dropped, and every
CJK run (Chinese, Japanese kana) replaced by its overlapping character bigrams plus its last character
alone. So the two-character word 医疗 is a token of 智能医疗助手 without a segmenter, and a single
character query finds every occurrence as the start of some token. SQLite's FTS5 and PostgreSQL's
``to_tsvector('simple', ...)`` both index these tokens as they are.

Query terms. ``query_terms`` reads the query the same way: words, and CJK runs as bigrams. Latin-script
words of three characters or more also match the words they begin (``appoint`` finds ``appointments``);
shorter words, numbers and CJK bigrams match exactly; a single CJK character matches every token it
begins (on SQLite through FTS5's own prefix query, the slow path for a common character). A long CJK
query whose bigrams would exceed ``max_terms`` is covered by non-overlapping bigrams. Terms contain only
letters and digits and are quoted by the SQL layer, so no user text reaches the FTS5 or tsquery syntax.

Plans. A page of results walks one *source* in key order and checks every other condition on each
candidate row: the full-text index (in ``seq`` order), one facet, one organisation, one status, the
change order ``(updated_at, seq)`` when ``updated_since`` is given, or the table itself. Results come in
registration order (change order for synchronisation), never by relevance: a ranked order cannot be
paged by key, and ranking a common word's every match does not fit the latency budget.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from agentgov.errors import InvalidInput
from agentgov.registry.declaration import Declaration
from agentgov.registry.lifecycle import AgentStatus

__all__ = [
    "DEFAULT_LIMITS",
    "FACETS",
    "SearchLimits",
    "SearchPlan",
    "SearchQuery",
    "Source",
    "decode_cursor",
    "encode_cursor",
    "facets_of",
    "fts5_expression",
    "index_text",
    "is_cjk",
    "is_prefix_term",
    "matched_fields",
    "plan_search",
    "query_terms",
    "tsquery_text",
]

FACETS = ("skill", "tag", "protocol", "domain", "data")
# Which facet drives a page when several are given: the ones with many values are usually the rarer.
_FACET_ORDER = ("skill", "tag", "domain", "data", "protocol")
_WORD = re.compile(r"[^\W_]+")
# CJK ideographs (with extension A, compatibility and the supplementary planes) and Japanese kana.
_CJK_RANGES = ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))
_CJK = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _CJK_RANGES) + "]+")
_MIN_PREFIX = 3  # shorter words match only themselves: "ai", "hr", "it" are words, not prefixes
# Combining marks of the Basic Multilingual Plane, dropped after NFKD decomposition (diacritics).
_COMBINING: dict[int, None] = dict.fromkeys(c for c in range(0x10000) if unicodedata.combining(chr(c)))
# A letter or digit that is not CJK: what may not touch a Latin-script term for it to be a word (start).
_LATIN_WORD_CHAR = "[^\\W_" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _CJK_RANGES) + "]"


@dataclass(frozen=True)
class SearchLimits:
    """Bounds on the work of one search request."""

    # Terms of one query, after CJK runs became bigrams: bounds the size of the full-text expression.
    max_terms: int = 8
    # Words a prefix may stand for before the SQLite index's own (slower) prefix scan is used instead.
    max_expansions: int = 32
    # Candidate rows one page may examine. When it runs out before the page is full, the page comes back
    # short with a cursor from where the walk stopped (as DynamoDB's Query does), so no request walks the
    # whole registry whatever its filters; clients follow ``next_cursor`` until it is null.
    scan_budget: int = 2000


DEFAULT_LIMITS = SearchLimits()


# -- indexing ------------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Lower case without diacritics; compatibility forms (full-width Latin, CJK compatibility) unified."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKD", text.lower()).lower().translate(_COMBINING)


def is_cjk(term: str) -> bool:
    return bool(_CJK.fullmatch(term))


def _tokens(text: str, *, final_char: bool, sparse: bool = False) -> list[str]:
    """Letters-and-digits words of folded ``text``; each CJK run becomes its bigrams.

    ``final_char`` adds each run's last character alone (indexing); ``sparse`` keeps only bigrams that
    do not overlap, plus the last one, which still cover every character of the run (long queries).
    """
    tokens: list[str] = []
    for word in _WORD.findall(_fold(text)):
        start = 0
        for run in _CJK.finditer(word):
            if run.start() > start:
                tokens.append(word[start : run.start()])
            chars = run.group()
            tokens.extend(chars[i : i + 2] for i in range(0, len(chars) - 1, 2 if sparse else 1))
            if sparse and len(chars) > 2 and len(chars) % 2:
                tokens.append(chars[-2:])
            if final_char or len(chars) == 1:
                tokens.append(chars[-1])
            start = run.end()
        if start < len(word):
            tokens.append(word[start:])
    return tokens


def _declared_text(name: str, declaration: Declaration) -> str:
    parts = [name, declaration.display_name, declaration.description, " ".join(declaration.all_tags())]
    for skill in declaration.skills:
        parts.extend((skill.id, skill.name, skill.description))
    return " ".join(p for p in parts if p)


def index_text(name: str, declaration: Declaration) -> str:
    """The token stream put into the full-text index for one agent version."""
    return " ".join(_tokens(_declared_text(name, declaration), final_char=True))


def facets_of(declaration: Declaration) -> list[tuple[str, str]]:
    facets = [("skill", s.id.lower()) for s in declaration.skills]
    facets += [("tag", t.lower()) for t in declaration.all_tags()]
    facets += [("protocol", p) for p in declaration.protocols()]
    facets += [("domain", d.value) for d in declaration.application_domains]
    facets += [("data", c.value) for c in declaration.data_categories]
    return facets


# -- query terms ---------------------------------------------------------------------------------------


def is_prefix_term(term: str) -> bool:
    """Whether ``term`` also matches the longer words it begins (a single CJK character does too)."""
    if is_cjk(term):
        return len(term) == 1
    return len(term) >= _MIN_PREFIX and not term[0].isdigit()


def query_terms(q: str, limits: SearchLimits = DEFAULT_LIMITS) -> list[str]:
    """Terms of the query (folded); CJK runs become their bigrams. All of them must match.

    A long CJK run whose overlapping bigrams would exceed ``max_terms`` is covered by non-overlapping
    bigrams instead, which still require every character of the query.
    """
    terms = list(dict.fromkeys(_tokens(q, final_char=False)))
    if len(terms) > limits.max_terms:
        terms = list(dict.fromkeys(_tokens(q, final_char=False, sparse=True)))
    if len(terms) > limits.max_terms:
        raise InvalidInput(f"at most {limits.max_terms} search terms", field="q")
    return terms


def _quote(term: str) -> str:
    return '"' + term.replace('"', "") + '"'


def fts5_expression(terms: Sequence[str], expansions: Mapping[str, Sequence[str] | None]) -> str:
    """The FTS5 query: all terms, each a quoted phrase. A prefix term is an OR of itself and the indexed
    words it begins (``expansions[term]``), or FTS5's own prefix query when that list is None (too many
    words) or absent (a single CJK character)."""
    parts = []
    for term in terms:
        if not is_prefix_term(term):
            parts.append(_quote(term))
        elif expansions.get(term) is None:
            parts.append(_quote(term) + "*")
        else:
            words = [term, *(expansions.get(term) or ())]
            parts.append("(" + " OR ".join(_quote(w) for w in words) + ")")
    return " AND ".join(parts)


def tsquery_text(terms: Sequence[str]) -> str:
    """The PostgreSQL tsquery: all terms, each a quoted lexeme, ``:*`` on prefix terms."""
    return " & ".join(
        "'" + t.replace("'", "").replace("\\", "") + "'" + (":*" if is_prefix_term(t) else "") for t in terms
    )


@functools.lru_cache(maxsize=256)
def _term_pattern(terms: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern finding any term in folded text the way the index matches it."""
    parts = []
    for term in terms:
        if is_cjk(term):
            parts.append(re.escape(term))  # bigrams and single characters sit anywhere in a CJK run
        else:
            end = "" if is_prefix_term(term) else f"(?!{_LATIN_WORD_CHAR})"
            parts.append(f"(?<!{_LATIN_WORD_CHAR}){re.escape(term)}{end}")
    return re.compile("|".join(parts))


def matched_fields(terms: Sequence[str], name: str, declaration: dict[str, Any]) -> list[str]:
    """Which declaration fields hold a query term the way the index matched it: 'why did this match'."""
    if not terms:
        return []
    pattern = _term_pattern(tuple(terms))
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
    return [field_name for field_name, text in fields.items() if pattern.search(_fold(text))]


# -- queries and plans ---------------------------------------------------------------------------------


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


class Source(StrEnum):
    """What a page walks, in key order, to find its candidate rows."""

    CHANGES = "changes"  # (updated_at, seq): synchronisation order, whenever updated_since is given
    TEXT = "text"  # the full-text index, in seq order
    FACET = "facet"  # one (facet, value) of agent_facets, in seq order
    ORG = "org"  # one organisation's agents, in seq order
    STATUS = "status"  # one status, in seq order
    TABLE = "table"  # every agent, in seq order


@dataclass(frozen=True)
class SearchPlan:
    source: Source
    terms: tuple[str, ...]
    facet: tuple[str, str] | None  # the facet walked, for Source.FACET
    checked_facets: tuple[tuple[str, str], ...]  # facets checked on each candidate
    status: AgentStatus | None  # the status walked, for Source.STATUS


def plan_search(query: SearchQuery, terms: Sequence[str]) -> SearchPlan:
    """Choose the source: change order when synchronising, else text, facet, org, status, table."""
    facets = []
    for facet, value in query.filters.items():
        if facet not in FACETS:
            raise InvalidInput(f"unknown filter {facet!r} (known: {', '.join(FACETS)})", field=facet)
        facets.append((facet, value.strip().lower()))
    facets.sort(key=lambda fv: (_FACET_ORDER.index(fv[0]), fv[1]))
    single_status = next(iter(query.statuses)) if query.statuses and len(query.statuses) == 1 else None
    if query.updated_since is not None:
        source = Source.CHANGES
    elif terms:
        source = Source.TEXT
    elif facets:
        return SearchPlan(Source.FACET, (), facets[0], tuple(facets[1:]), None)
    elif query.org_id is not None:
        source = Source.ORG
    elif single_status is not None:
        return SearchPlan(Source.STATUS, (), None, (), single_status)
    else:
        source = Source.TABLE
    return SearchPlan(source, tuple(terms), None, tuple(facets), None)


# -- cursors -------------------------------------------------------------------------------------------


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
