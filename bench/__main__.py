"""``uv run python -m bench [--quick] [--json] [--only NAME ...]``: run the benchmarks, print the figures.

Needs PostgreSQL and Redis at their default local addresses (BENCH_PG_URL, BENCH_REDIS_URL to change):
the run creates its own database and uses Redis db 9, and drops and flushes them at the end. The
reliability run starts a private PostgreSQL and Redis of its own (bench/stack.py). docs/performance.md
says what each figure means.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import traceback
from datetime import UTC, datetime

from bench import common, report, wrk
from bench import stack as stack_module
from bench.stack import Stack

SUITES = ("floor", "webhooks", "fulfilment", "sandbox", "bulk", "scale", "reliability")

QUICK = {
    "floor_s": 4,
    "ingest_s": 4,
    "ingest_alone": False,
    "drain_cap": 5,
    "pool": 20,
    "fulfil_rate": 100,
    "fulfil_s": 2,
    "fulfil_wait": 12,
    "fulfil_sustained_rate": None,
    "sandbox_s": 2.5,
    "checkout_s": 4,
    "bulk_links": 30,
    "scale_steps": [(1000, 10000)],
    # Enough for the p95 not to be the slowest sample (the 19th of 20); pages are quick at this size.
    "page_samples": 20,
    "export_rows": 10000,
    "all_pages": False,
    "reliability_n": 50,
}
FULL = {
    "floor_s": 15,
    "ingest_s": 20,
    "ingest_alone": True,
    "drain_cap": 120,
    "pool": 100,
    "fulfil_rate": 100,
    "fulfil_s": 60,
    "fulfil_wait": 120,
    # Also below this machine's capacity, to show latency when the queue is not growing.
    "fulfil_sustained_rate": 60,
    "sandbox_s": 15,
    "checkout_s": 20,
    "bulk_links": 1000,
    "scale_steps": [(1000, 10000), (9000, 90000), (90000, 900000)],
    # Nearest rank: the p95 of 40 is the 38th, so the odd slow sample of a shared machine does not set it.
    "page_samples": 40,
    "export_rows": 100000,
    "all_pages": True,
    "reliability_n": 2000,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="a short version of each benchmark (< 3 minutes)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--only", nargs="+", choices=SUITES, help="run only these benchmarks")
    parser.add_argument("--keep-logs", action="store_true", help="keep the server and worker logs")
    parser.add_argument("--keep-db", action="store_true", help="keep the database (to EXPLAIN its queries)")
    parser.add_argument("--fulfil-seconds", type=float, help="length of the fulfilment run (100 events/s)")
    parser.add_argument(
        "--fulfil-sustained-rate", type=float, help="a second fulfilment run at this rate (events/s)"
    )
    parser.add_argument("--reliability-n", type=int, help="checkouts of the reliability run under faults")
    args = parser.parse_args(argv)
    plan = dict(QUICK if args.quick else FULL)
    if args.fulfil_seconds:
        plan["fulfil_s"] = args.fulfil_seconds
    if args.reliability_n:
        plan["reliability_n"] = args.reliability_n
    if args.fulfil_sustained_rate:
        plan["fulfil_sustained_rate"] = args.fulfil_sustained_rate
    suites = args.only or list(SUITES)

    def log(*parts) -> None:
        print(*parts, file=sys.stderr, flush=True)

    results: dict = {"meta": _meta(args)}
    stack = Stack()
    started = time.monotonic()
    try:
        log(f"bench: database {stack.db_name}, server {stack.base_url}, var {stack.var_dir}")
        stack.create_database_in_process()
        stack.start_web(wait=False)  # both start at once: start-up is CPU-bound
        stack.start_worker()
        stack.wait_web()
        results["meta"]["setup_s"] = round(time.monotonic() - started, 1)
        _run(stack, suites, plan, results, log)
    except Exception:  # noqa: BLE001 - report what ran, then fail
        traceback.print_exc()
        results["error"] = traceback.format_exc(limit=3)
    finally:
        results["meta"]["total_s"] = round(time.monotonic() - started, 1)
        stack.close(keep_var=args.keep_logs, keep_db=args.keep_db)
    figures = report.figures(results)
    if args.json:
        print(json.dumps({**figures, "details": results}, default=str))
    else:
        print(report.table(figures, results))
    # Not exactly N orders and N e-mails under faults is a failure, not a figure.
    failed = "error" in results or figures.get("reliability_ok") is False
    return 1 if failed else 0


def _run(stack: Stack, suites: list[str], plan: dict, results: dict, log) -> None:
    needs_checkout = {"webhooks", "fulfilment", "sandbox", "bulk"} & set(suites)
    if "floor" in suites:
        log("bench: floor")
        results["floor"] = common.floor(stack, duration=plan["floor_s"])
    if needs_checkout:
        price, pool_link = common.catalog_and_link(name="Bench ingest pool")
        _price, fulfil_link = common.catalog_and_link(name="Bench fulfilment")
    if "webhooks" in suites:
        log("bench: paying the sessions the events refer to")
        pool, _rate = common.completed_sessions(stack, pool_link.url, plan["pool"])
        log("bench: webhook ingest")
        from bench import webhooks

        results["webhooks"] = _timed(
            lambda: webhooks.ingest(stack, pool, duration=plan["ingest_s"], drain_cap=plan["drain_cap"])
        )
        _quiesce(stack)
        if plan["ingest_alone"]:
            log("bench: webhook ingest, worker stopped")
            results["webhooks"]["worker_stopped"] = webhooks.ingest_without_worker(
                stack, pool, duration=plan["ingest_s"]
            )
            _quiesce(stack)
    if "fulfilment" in suites:
        from bench import webhooks

        count = int(plan["fulfil_rate"] * plan["fulfil_s"]) + webhooks.FULFIL_WARM_UP
        log(f"bench: paying {count} sessions for fulfilment")
        sessions, pay_rate = common.completed_sessions(stack, fulfil_link.url, count)
        log("bench: fulfilment")
        results["fulfilment"] = webhooks.fulfilment(
            stack, sessions, rate=plan["fulfil_rate"], duration=plan["fulfil_s"], wait_cap=plan["fulfil_wait"]
        )
        results["fulfilment"]["hosted_pay_no_webhook_per_s"] = round(pay_rate, 1)
        _quiesce(stack)
        if plan["fulfil_sustained_rate"]:
            rate = plan["fulfil_sustained_rate"]
            log(f"bench: fulfilment at {rate} events/s")
            _price, sustained_link = common.catalog_and_link(name="Bench fulfilment, sustained")
            sessions, _pay_rate = common.completed_sessions(
                stack, sustained_link.url, int(rate * plan["fulfil_s"]) + webhooks.FULFIL_WARM_UP
            )
            results["fulfilment_sustained"] = webhooks.fulfilment(
                stack, sessions, rate=rate, duration=plan["fulfil_s"], wait_cap=plan["fulfil_wait"]
            )
            _quiesce(stack)
    if "sandbox" in suites:
        from bench import stripe_api
        from webhooks.endpoints import webhook_endpoint_register, webhook_endpoint_url

        log("bench: sandbox")
        results["sandbox"] = {
            "hosted_page": stripe_api.hosted_page(stack, pool_link.url, duration=plan["sandbox_s"]),
            "payment_links_create": stripe_api.payment_links_create(stack, price, duration=plan["sandbox_s"]),
        }
        # From here the sandbox delivers checkout.session.completed to us, and waits for our answer.
        webhook_endpoint_register(url=webhook_endpoint_url())
        results["sandbox"]["full_checkout_c8"] = common.full_checkouts(
            stack, fulfil_link.url, concurrency=8, duration=plan["checkout_s"]
        )
        _quiesce(stack)
    if "bulk" in suites:
        from bench import stripe_api

        log("bench: bulk links")
        results["bulk"] = stripe_api.bulk_links(price, count=plan["bulk_links"])
    if "scale" in suites:
        from bench import scale

        results["scale"] = []
        for links, orders in plan["scale_steps"]:
            log(f"bench: seeding {links} links and {orders} orders")
            seconds = scale.seed(links=links, orders=orders)
            from links.models import Order, PaymentLink

            step = {
                "links": PaymentLink.objects.count(),
                "orders": Order.objects.count(),
                "seed_s": round(seconds, 1),
            }
            log(f"bench: pages at {step['orders']} orders")
            step["pages"] = scale.measure_pages(
                stack, samples=plan["page_samples"], all_pages=plan["all_pages"]
            )
            results["scale"].append(step)
        log("bench: CSV export")
        results["export"] = scale.export_csv(stack, rows=plan["export_rows"])
    if "reliability" in suites:
        from bench import reliability

        # On servers of its own, which it stops: the bench's stack is idle meanwhile.
        results["reliability"] = reliability.run(n=plan["reliability_n"], log=log)


def _timed(function):
    started = time.monotonic()
    result = function()
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


def _quiesce(stack: Stack) -> None:
    """Leave no backlog to the next benchmark: wait briefly, then drop what is still queued."""
    from webhooks.models import WebhookEvent

    deadline = time.monotonic() + 5
    while stack.queue_length() and time.monotonic() < deadline:
        time.sleep(0.5)
    stack.flush_redis()
    WebhookEvent.objects.filter(status__in=["pending", "failed"]).update(
        status="ignored", next_attempt_at=None
    )


def _meta(args) -> dict:
    import os

    import django
    import psycopg
    import stripe

    try:
        import psutil

        memory_gb = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        memory_gb = None
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "uv run python -m bench"
        + (" --quick" if args.quick else "")
        + (" --json" if args.json else ""),
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "django": django.get_version(),
        "psycopg": psycopg.__version__,
        "stripe": stripe.VERSION,
        "client": "wrk" if wrk.available() else "asyncio (wrk not installed)",
        "gunicorn": f"{stack_module.GUNICORN_WORKERS} workers x {stack_module.GUNICORN_THREADS} threads",
        "celery_concurrency": stack_module.CELERY_CONCURRENCY,
        "worker_nice": stack_module.WORKER_NICE,
        "autogroups": stack_module.AUTOGROUP_ENABLED,
    }


if __name__ == "__main__":
    sys.exit(main())
