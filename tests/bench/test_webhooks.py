"""The webhook benchmarks' helpers: the floor they compare with, the fulfilment run's queue profile."""

from __future__ import annotations

from bench.webhooks import faster_floor, longest_per_window


def test_longest_queue_in_each_window():
    samples = [(99.0, 50), (100.0, 3), (104.5, 9), (110.0, 0), (125.0, 40), (129.9, 41), (131.0, 99)]
    assert longest_per_window(samples, start=100.0, end=130.0, seconds=10) == [9, 0, 41]


def test_a_window_with_no_sample_is_zero_and_the_last_partial_window_counts():
    samples = [(0.5, 7), (21.0, 2)]
    assert longest_per_window(samples, start=0.0, end=21.0, seconds=10) == [7, 0, 2]


def test_a_last_window_with_no_sample_is_left_out():
    # A 60 s run ends a moment after its last sample: no seventh window of nothing.
    samples = [(second / 2, 5) for second in range(120)]
    assert longest_per_window(samples, start=0.0, end=60.2, seconds=10) == [5] * 6
    assert longest_per_window([], start=0.0, end=60.0, seconds=10) == []


def test_the_faster_floor_sample_is_kept_with_every_sample_beside_it():
    disturbed = {"rps": 1629.9, "p50_ms": 9.1}
    undisturbed = {"rps": 4440.5, "p50_ms": 2.8}
    assert faster_floor(disturbed, undisturbed) == {
        "rps": 4440.5,
        "p50_ms": 2.8,
        "samples_rps": [1629.9, 4440.5],
    }
    assert faster_floor(undisturbed, disturbed)["rps"] == 4440.5
    assert "samples_rps" not in undisturbed  # the samples themselves are left as they were
