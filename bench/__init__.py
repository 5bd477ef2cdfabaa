"""Runnable benchmarks, one per claim the platform makes; each prints its result as one JSON line.

Run them as modules from the repository root, e.g. ``python -m bench.registry_search --n 100000``.
They are not part of the test suite.
"""
