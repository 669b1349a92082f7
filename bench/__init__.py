"""Benchmarks: scripts that print figures measured against the machine's floor (docs/performance.md).

Run with ``uv run python -m bench`` (``--quick``, ``--json``, ``--only NAME``). Never part of the test run.
"""
