"""Helpers shared by the benchmarks: timing, percentiles, peak memory, progress and the JSON result line.

Every benchmark prints its progress to stderr and, as the last line of stdout, one JSON object that a
script can parse (``json.loads(out.splitlines()[-1])``).
"""

from __future__ import annotations

import json
import math
import resource
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = [
    "Timer",
    "peak_rss_mb",
    "percentile",
    "print_result",
    "progress",
    "summarise_ms",
    "time_call_ms",
]

# ru_maxrss is in kibibytes on Linux (bytes on macOS, which these benchmarks do not target).
_KIB_PER_MIB = 1024


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident set size of this process (or of its largest waited-for child), in MiB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return round(resource.getrusage(who).ru_maxrss / _KIB_PER_MIB, 1)


def percentile(samples: Iterable[float], p: float) -> float:
    """The ``p``-th percentile (0-100) by the nearest-rank method; NaN for no samples."""
    ordered = sorted(samples)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summarise_ms(samples: list[float]) -> dict[str, float | int]:
    """Count, p50, p95, p99 and max of latencies in milliseconds, rounded to microseconds."""
    return {
        "count": len(samples),
        "p50_ms": round(percentile(samples, 50), 3),
        "p95_ms": round(percentile(samples, 95), 3),
        "p99_ms": round(percentile(samples, 99), 3),
        "max_ms": round(max(samples), 3) if samples else math.nan,
    }


def time_call_ms(call: Callable[[], object]) -> float:
    """Wall time of one call, in milliseconds."""
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


class Timer:
    """Elapsed seconds since creation (monotonic)."""

    def __init__(self) -> None:
        self._start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self._start


def progress(message: str) -> None:
    """One line of progress on stderr, stamped with the wall-clock time."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def print_result(result: Mapping[str, Any]) -> None:
    """The result as one JSON line: the last line the benchmark writes to stdout."""
    print(json.dumps(result, ensure_ascii=False, sort_keys=False, allow_nan=False), flush=True)
