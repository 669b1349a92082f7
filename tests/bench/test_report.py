"""The headline figures (bench/report.py) read from a run's results."""

from __future__ import annotations

from bench.report import figures


def _ingest(*, busy_backlog_after: int) -> dict:
    return {
        "floor": {"rps": 2000.0},
        "full": {"rps": 400.0},
        "worker_stopped": {"rps": 500.0},
        "floor_while_worker_busy": {"rps": 1100.0, "backlog_after": busy_backlog_after},
    }


def test_the_ingest_figures_are_given_as_ratios_to_the_runs_own_floor():
    headline = figures({"webhooks": _ingest(busy_backlog_after=7000)})

    assert headline["webhook_ingest_ratio_worker_stopped"] == 0.25
    assert headline["webhook_ingest_ratio"] == 0.2
    assert headline["floor_ratio_while_worker_busy"] == 0.55


def test_the_floor_while_the_worker_is_busy_is_left_out_if_the_worker_ran_out_of_work():
    headline = figures({"webhooks": _ingest(busy_backlog_after=0)})

    assert headline["floor_ratio_while_worker_busy"] is None
    assert headline["webhook_ingest_ratio"] == 0.2


def test_the_reliability_run_is_in_the_headline_and_a_mismatch_shows():
    headline = figures({"reliability": {"ok": False, "checkouts_per_s": 4.5}})

    assert headline["reliability_ok"] is False
    assert headline["reliability_checkouts_per_s"] == 4.5
    assert figures({})["reliability_ok"] is None  # not run: neither passed nor failed
