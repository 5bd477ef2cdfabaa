"""C2SP tlog-tiles paths and tile arithmetic, against the examples of the specification."""

from __future__ import annotations

import pytest

from agentgov.errors import InvalidInput
from agentgov.ledger.tiles import (
    format_tile_path,
    pack_bundle,
    parse_tile_index,
    tile_available,
    unpack_bundle,
)


@pytest.mark.parametrize(
    ("index", "width", "path"),
    [(1234067, None, "x001/x234/067"), (0, None, "000"), (999, None, "999"), (1000, 5, "x001/000.p/5")],
)
def test_tile_paths_use_x_prefixed_three_digit_elements(index: int, width: int | None, path: str) -> None:
    assert format_tile_path(index, width) == path
    assert parse_tile_index(path) == (index, width)


@pytest.mark.parametrize(
    "path", ["1234067", "x1/234", "x000/001", "001.p/0", "001.p/256", "001.p/07", "x001", ""]
)
def test_non_canonical_tile_paths_are_refused(path: str) -> None:
    with pytest.raises(InvalidInput):
        parse_tile_index(path)


def test_a_tree_of_70000_has_the_tiles_the_specification_lists() -> None:
    size = 70_000
    assert tile_available(0, 272, None, size)
    assert not tile_available(0, 273, None, size)
    assert tile_available(0, 273, 112, size)
    assert not tile_available(0, 273, 113, size)
    assert tile_available(1, 0, None, size)
    assert tile_available(1, 1, 17, size)
    assert not tile_available(1, 1, 18, size)
    assert tile_available(2, 0, 1, size)
    assert not tile_available(2, 0, 2, size)


def test_a_tree_of_256_has_a_full_level_0_tile_and_a_level_1_tile_of_width_1() -> None:
    assert tile_available(0, 0, None, 256)
    assert tile_available(1, 0, 1, 256)


def test_entry_bundles_are_uint16_length_prefixed() -> None:
    entries = [b"", b"a", b"x" * 300]
    packed = pack_bundle(entries)
    assert packed[:2] == b"\x00\x00"
    assert packed[2:5] == b"\x00\x01a"
    assert unpack_bundle(packed) == entries
    with pytest.raises(InvalidInput):
        pack_bundle([b"x" * 65536])
    with pytest.raises(InvalidInput):
        unpack_bundle(b"\x00\x05ab")
