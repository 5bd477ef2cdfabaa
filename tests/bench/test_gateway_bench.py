"""The gateway benchmark prints, as its last line, the figures its targets are judged on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
REQUIRED = (
    "direct_p50_ms",
    "direct_p99_ms",
    "gateway_p50_ms",
    "gateway_p99_ms",
    "calls_per_s",
    "gateway_rss_mb",
)


def test_the_gateway_bench_prints_one_json_object_with_every_figure_last() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.gateway", "--n", "30", "--warmup", "5", "--concurrency", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    for key in REQUIRED:
        assert isinstance(result[key], int | float), key
        assert result[key] > 0, key
    assert result["n"] == 30
    assert result["direct_p50_ms"] <= result["direct_p99_ms"]
    assert result["gateway_p50_ms"] <= result["gateway_p99_ms"]
    assert result["added_p50_ms"] == round(result["gateway_p50_ms"] - result["direct_p50_ms"], 3)
    # The allow-all gateway is measured in rounds of its own, against the direct path again.
    assert result["transport_direct_p50_ms"] > 0
    assert result["transport_added_p50_ms"] == round(
        result["transport_p50_ms"] - result["transport_direct_p50_ms"], 3
    )
    assert result["gate"].startswith("the guard")
