"""Random bytes drawn in blocks: the right size, never repeated, never shared with a forked child."""

from __future__ import annotations

import os
import re

import pytest

from agentgov.core.ids import new_id
from agentgov.core.randomness import RandomPool


def test_values_have_their_size_and_do_not_repeat_across_blocks() -> None:
    pool = RandomPool(12, block=8)
    values = [pool.take() for _ in range(100)]  # a dozen refills
    assert {len(v) for v in values} == {12}
    assert len(set(values)) == 100


def test_a_pool_refuses_a_size_or_block_below_one() -> None:
    with pytest.raises(ValueError, match="positive"):
        RandomPool(0)
    with pytest.raises(ValueError, match="positive"):
        RandomPool(8, block=0)


def test_ids_are_url_safe_with_96_random_bits() -> None:
    ids = {new_id("dec") for _ in range(2000)}
    assert len(ids) == 2000
    assert all(re.fullmatch(r"dec_[A-Za-z0-9_-]{16}", i) for i in ids)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_never_hands_out_what_its_parent_will() -> None:
    pool = RandomPool(16, block=64)
    pool.take()  # the rest of the block waits in the parent's pool
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its first values, to the parent
        os.close(read)
        os.write(write, b"".join(pool.take() for _ in range(8)))
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        child = pipe.read()
    os.waitpid(pid, 0)
    parent = b"".join(pool.take() for _ in range(8))
    assert len(child) == len(parent) == 128
    assert child != parent
