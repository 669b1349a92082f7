"""The benchmarks' percentile: nearest rank, so one slow sample of twenty is the maximum, not the p95."""

from __future__ import annotations

import pytest

from bench.http import percentile_ms


@pytest.mark.parametrize(
    ("count", "pct", "rank"),
    [(20, 95, 19), (20, 50, 10), (40, 95, 38), (100, 99, 99), (1000, 99, 990), (7, 95, 7), (1, 50, 1)],
)
def test_nearest_rank(count, pct, rank):
    seconds = [n / 1000 for n in range(count, 0, -1)]  # 1 … count ms, unsorted
    assert percentile_ms(seconds, pct) == rank


def test_no_values():
    assert percentile_ms([], 95) is None
