"""Server limits, each with its reason (STYLE 6)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ServerSettings"]


@dataclass(frozen=True)
class ServerSettings:
    # The largest legitimate body is a declaration or an Agent Card with many skills: well under 1 MiB.
    # Anything larger is refused before it is read, so a client cannot make the server buffer it.
    max_body_bytes: int = 1024 * 1024
    # Pages are bounded so a search cannot ask the store for an unbounded result.
    default_page_size: int = 20
    max_page_size: int = 100
    # Public base URL used in exported documents (Agent Cards, AI Catalog) when none is configured.
    public_base_url: str = "http://127.0.0.1:8000"
    # The name the AI Catalog gives its host.
    host_name: str = "agentgov registry"
    # How often registry changes left unrecorded (a crash, a change made by the CLI) are put on the
    # record: a few seconds keeps the record close behind without polling the tables constantly.
    record_sweep_s: float = 5.0
