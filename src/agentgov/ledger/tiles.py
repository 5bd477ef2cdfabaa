"""C2SP tlog-tiles (https://c2sp.org/tlog-tiles): tile paths, tile spans and entry bundles. Pure.

A tile at level ``L`` holds up to 256 consecutive hashes of Merkle level ``8 * L``; its index ``N`` is
written in 3-digit path elements, all but the last prefixed with ``x``; a partial tile adds ``.p/W``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from agentgov.errors import InvalidInput

__all__ = [
    "MAX_TILE_LEVEL",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "format_tile_path",
    "pack_bundle",
    "parse_tile_index",
    "tile_available",
    "unpack_bundle",
]

TILE_HEIGHT = 8  # C2SP tlog-tiles: tiles are subtrees of height 8...
TILE_WIDTH = 1 << TILE_HEIGHT  # ...256 hashes (8,192 bytes) when full
MAX_TILE_LEVEL = 63  # C2SP tlog-tiles: <L> is between 0 and 63
_MAX_ENTRY = 0xFFFF  # C2SP tlog-tiles: entries in a bundle are uint16 length-prefixed

_ELEMENT = re.compile(r"x[0-9]{3}")
_LAST = re.compile(r"[0-9]{3}")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")


def format_tile_path(index: int, width: int | None = None) -> str:
    """``<N>[.p/<W>]`` with N in zero-padded 3-digit elements: 1234067 -> ``x001/x234/067``."""
    if index < 0:
        raise InvalidInput(f"tile index cannot be negative: {index}")
    digits = str(index)
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    path = "/".join([*(f"x{group}" for group in groups[:-1]), groups[-1]])
    if width is None or width == TILE_WIDTH:
        return path
    if not 0 < width < TILE_WIDTH:
        raise InvalidInput(f"a partial tile has 1 to 255 hashes, not {width}")
    return f"{path}.p/{width}"


def parse_tile_index(path: str) -> tuple[int, int | None]:
    """Parse ``<N>[.p/<W>]``; only the canonical spelling is accepted (one resource, one path)."""
    elements = path.split("/")
    width: int | None = None
    if len(elements) >= 2 and elements[-2].endswith(".p"):
        if not _WIDTH.fullmatch(elements[-1]) or int(elements[-1]) >= TILE_WIDTH:
            raise InvalidInput(f"partial tile width {elements[-1]!r} is not a decimal from 1 to 255")
        width = int(elements[-1])
        elements = [*elements[:-2], elements[-2].removesuffix(".p")]
    if (
        not elements
        or not _LAST.fullmatch(elements[-1])
        or not all(_ELEMENT.fullmatch(e) for e in elements[:-1])
    ):
        raise InvalidInput(f"tile index {path!r} is not in x-prefixed 3-digit path elements")
    index = int("".join(e.removeprefix("x") for e in elements))
    if format_tile_path(index) != "/".join(elements):
        raise InvalidInput(f"tile index {path!r} is not in its canonical form")
    return index, width


def tile_available(level: int, index: int, width: int | None, tree_size: int) -> bool:
    """Whether the tree of ``tree_size`` leaves has every hash of this (full or partial) tile."""
    if not 0 <= level <= MAX_TILE_LEVEL:
        return False
    hashes = tree_size >> (TILE_HEIGHT * level)  # complete subtrees at Merkle level 8 * level
    return index * TILE_WIDTH + (width or TILE_WIDTH) <= hashes


def pack_bundle(entries: Iterable[bytes]) -> bytes:
    """An entry bundle: each entry as a big-endian uint16 length and its bytes (C2SP tlog-tiles)."""
    parts: list[bytes] = []
    for entry in entries:
        if len(entry) > _MAX_ENTRY:
            raise InvalidInput(f"an entry of {len(entry)} bytes does not fit a tlog-tiles bundle")
        parts.append(len(entry).to_bytes(2, "big") + entry)
    return b"".join(parts)


def unpack_bundle(data: bytes) -> list[bytes]:
    entries: list[bytes] = []
    offset = 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise InvalidInput("entry bundle ends inside a length prefix")
        length = int.from_bytes(data[offset : offset + 2], "big")
        offset += 2
        if offset + length > len(data):
            raise InvalidInput("entry bundle ends inside an entry")
        entries.append(data[offset : offset + length])
        offset += length
    return entries
