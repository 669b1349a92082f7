"""The webhook benchmarks' helpers: the floor they compare with, the fulfilment run's queue profile."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from bench.webhooks import events_per_commit, faster_floor, longest_per_window
from webhooks.models import WebhookDelivery


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


@pytest.mark.skipif(connection.vendor != "postgresql", reason="read from PostgreSQL's xmin")
@pytest.mark.django_db(transaction=True)  # each atomic block below is a real commit
def test_events_per_commit_counts_the_deliveries_each_transaction_stored():
    factory = type("Factory", (), {"run": "t1"})()

    def deliver(*names: str) -> None:
        with transaction.atomic():
            for name in names:
                WebhookDelivery.objects.create(
                    stripe_event_id=f"evt_bench_t1_{name}", result="accepted", status_code=200
                )

    assert events_per_commit(factory) is None
    deliver("a", "b", "c")
    deliver("d")
    WebhookDelivery.objects.create(stripe_event_id="evt_other", result="accepted", status_code=200)
    assert events_per_commit(factory) == 2.0
