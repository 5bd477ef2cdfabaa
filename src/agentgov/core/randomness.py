"""Random bytes drawn from the OS in blocks: one getrandom call per block, not per value.

Each value is a slice of the OS's CSPRNG output, never derived: as unpredictable as a call per value,
and unique but with negligible probability. ``deque.popleft`` and ``extend`` are atomic, so threads
share a pool without a lock; two threads refilling at once only draw one block too many. A forked
child empties its copy of every pool: parent and child must never hand out the same bytes.
"""

from __future__ import annotations

import os
import weakref
from collections import deque

__all__ = ["RandomPool"]

_POOLS: weakref.WeakSet[RandomPool] = weakref.WeakSet()


class RandomPool:
    """Values of ``size`` random bytes, drawn ``block`` at a time."""

    def __init__(self, size: int, block: int = 1024) -> None:
        if size < 1 or block < 1:
            raise ValueError("size and block must be positive")
        self.size = size
        self._block = block
        self._values: deque[bytes] = deque()
        _POOLS.add(self)

    def take(self) -> bytes:
        try:
            return self._values.popleft()
        except IndexError:
            size = self.size
            drawn = os.urandom(size * self._block)
            self._values.extend(drawn[i : i + size] for i in range(0, len(drawn), size))
            return self._values.popleft()

    def clear(self) -> None:
        self._values.clear()


def _forget_in_child() -> None:
    for pool in list(_POOLS):
        pool.clear()


os.register_at_fork(after_in_child=_forget_in_child)
