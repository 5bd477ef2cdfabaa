"""Full exports of the log, for offline verification: one JSON header line, then one line per entry.

Header: ``{"format", "origin", "vkey", "size", "checkpoints": [cosigned notes, oldest first]}``.
Entry lines, in index order: ``{"leaf": b64}``, plus ``"payload"`` and ``"salt"`` (base64) when the
export carries payloads (they may name people: export them only to whoever may read them).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from agentgov.errors import InvalidInput
from agentgov.ledger.store import LedgerStore

__all__ = ["EXPORT_FORMAT", "ExportHeader", "read_export", "write_export"]

EXPORT_FORMAT = "agentgov-ledger-export/1"
_CHUNK = 8192  # entries read from the store per query: a few MiB at a time, never the whole log


@dataclass(frozen=True)
class ExportHeader:
    origin: str
    vkey: str
    size: int
    checkpoints: tuple[str, ...]


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def write_export(
    store: LedgerStore, out: IO[str], *, origin: str, vkey: str, notes: list[str], with_payloads: bool = False
) -> int:
    """Write the integrated log to ``out``; return the number of entries written."""
    size = store.tree_state().size
    header = {"format": EXPORT_FORMAT, "origin": origin, "vkey": vkey, "size": size, "checkpoints": notes}
    out.write(json.dumps(header, ensure_ascii=False) + "\n")
    written = 0
    for start in range(0, size, _CHUNK):
        for entry in store.entries(start, min(start + _CHUNK, size), payloads=with_payloads):
            line: dict[str, Any] = {"leaf": _b64(entry.leaf)}
            if with_payloads and entry.payload is not None and entry.salt is not None:
                line["payload"] = _b64(entry.payload)
                line["salt"] = _b64(entry.salt)
            out.write(json.dumps(line) + "\n")
            written += 1
    return written


def _entries(lines: Iterator[str], path: Path) -> Iterator[tuple[bytes, bytes | None, bytes | None]]:
    for number, line in enumerate(lines, start=2):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            leaf = base64.b64decode(item["leaf"], validate=True)
            payload = item.get("payload")
            salt = item.get("salt")
            yield (
                leaf,
                None if payload is None else base64.b64decode(payload, validate=True),
                None if salt is None else base64.b64decode(salt, validate=True),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInput(f"{path}:{number}: not an export entry line ({exc})") from exc


@contextmanager
def read_export(
    path: Path,
) -> Iterator[tuple[ExportHeader, Iterator[tuple[bytes, bytes | None, bytes | None]]]]:
    """The header and a streaming iterator over (leaf, payload, salt), valid inside the ``with``."""
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        try:
            raw = json.loads(handle.readline())
            if raw.get("format") != EXPORT_FORMAT:
                raise InvalidInput(f"{path} is not an {EXPORT_FORMAT} file")
            header = ExportHeader(
                str(raw["origin"]), str(raw["vkey"]), int(raw["size"]), tuple(raw["checkpoints"])
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidInput(f"{path}: malformed export header ({exc})") from exc
        yield header, _entries(handle, path)
