"""Where the CPU of one webhook event goes: ``uv run python -m bench.profile [--events 150]``.

Starts the bench's stack without a worker (gunicorn serves the sandbox), pays sessions, then runs in this
process, one at a time: the floor view, the store floor and the webhook receiver through Django's test
client, and the fulfilment of each stored event (the worker's code, without Celery), timing the CPU of
each phase with ``time.process_time`` and the CPU gunicorn spent answering the worker's API calls.
``--cprofile`` also prints the functions where the receiver and fulfilment spend their time,
``--queries`` the SQL statements of one event.
The figures behind "What limits each figure" in docs/performance.md.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from contextlib import contextmanager

from bench import common
from bench.stack import Stack
from bench.webhooks import STORE_FLOOR_PATH, WEBHOOK_PATH, EventFactory

PHASES = ("fetch", "record", "e-mail send", "claim, dispatch, finish")


def _cpu_ms(seconds: float, count: int) -> float:
    return round(seconds / count * 1000, 2)


def receiver(factory: EventFactory, count: int, *, cprofile: bool = False) -> dict:
    """CPU per request of the floor, the store floor and the receiver, in-process (no HTTP server, no
    client); PostgreSQL's own share is not in these."""
    from django.test import Client

    client = Client()

    def floor(_index: int) -> None:
        assert client.get("/bench/floor").status_code == 200

    def post(path: str, index: int) -> None:
        body = factory.body(10**8 + index)
        headers = {"Stripe-Signature": factory.signature(body)}
        response = client.post(path, data=body, content_type="application/json", headers=headers)
        assert response.status_code == 200, response.content

    def store_floor(index: int) -> None:
        post(STORE_FLOOR_PATH, index)

    def webhook(index: int) -> None:
        post(WEBHOOK_PATH, index)

    result = {}
    for name, call in (("floor", floor), ("store_floor", store_floor), ("receiver", webhook)):
        for index in range(20):  # warm up
            call(index)
        profiler = cProfile.Profile(time.process_time) if cprofile and name == "receiver" else None
        started = time.process_time()
        if profiler:
            profiler.enable()
        for index in range(20, 20 + count):
            call(index)
        if profiler:
            profiler.disable()
        result[f"{name}_cpu_ms"] = _cpu_ms(time.process_time() - started, count)
        if profiler:
            print("The webhook receiver, through the test client:")
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    return result


@contextmanager
def _phase_timers(totals: dict[str, float]):
    """Wrap fulfilment's fetch and record and the e-mail send with CPU timers."""
    from links import emails, fulfilment

    originals = {
        "fetch": (fulfilment, "checkout_session_fetch"),
        "record": (fulfilment, "order_record_session"),
        "e-mail send": (emails, "outbound_email_send"),
    }
    saved = {name: getattr(module, attr) for name, (module, attr) in originals.items()}

    def timed(name):
        def call(**kwargs):
            started = time.process_time()
            try:
                return saved[name](**kwargs)
            finally:
                totals[name] += time.process_time() - started

        return call

    for name, (module, attr) in originals.items():
        setattr(module, attr, timed(name))
    try:
        yield
    finally:
        for name, (module, attr) in originals.items():
            setattr(module, attr, saved[name])


def fulfilment(stack: Stack, event_ids: list[int], *, cprofile: bool, queries: bool = False) -> dict:
    from links.emails import outbound_emails_sent_inline
    from webhooks.services import webhook_event_process

    def process(ids: list[int]) -> None:
        # As the task runs it: e-mails sent by this process after the order's commit.
        with outbound_emails_sent_inline():
            for event_id in ids:
                webhook_event_process(event_id=event_id)

    process(event_ids[:9])  # warm up
    if queries:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            process(event_ids[9:10])
        print(f"{len(captured.captured_queries)} statements for one checkout.session.completed:")
        for query in captured.captured_queries:
            print(f"  {query['sql'][:160]}")
    else:
        process(event_ids[9:10])
    measured = event_ids[10:]
    totals = dict.fromkeys(PHASES, 0.0)
    profiler = cProfile.Profile(time.process_time) if cprofile else None  # CPU, not waits
    # gunicorn's CPU, and every PostgreSQL process of the machine's (run this alone).
    cpu_started = stack.cpu_seconds()
    started, wall_started = time.process_time(), time.perf_counter()
    with _phase_timers(totals):
        if profiler:
            profiler.enable()
        process(measured)
        if profiler:
            profiler.disable()
    total = time.process_time() - started
    wall = time.perf_counter() - wall_started
    cpu_ended = stack.cpu_seconds()
    server = cpu_ended["gunicorn"] - cpu_started["gunicorn"]
    database = cpu_ended["postgres"] - cpu_started["postgres"]
    # The e-mail goes out when the order's transaction commits, inside order_record_session's timer.
    totals["record"] -= totals["e-mail send"]
    totals["claim, dispatch, finish"] = total - sum(totals[name] for name in PHASES[:3])
    result = {f"{name}_cpu_ms": _cpu_ms(seconds, len(measured)) for name, seconds in totals.items()}
    result |= {
        "worker_cpu_ms": _cpu_ms(total, len(measured)),
        "sandbox_api_cpu_ms_in_gunicorn": _cpu_ms(server, len(measured)),
        "postgresql_cpu_ms": _cpu_ms(database, len(measured)),
        "wall_ms": _cpu_ms(wall, len(measured)),
        "events": len(measured),
    }
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(r"links/|webhooks/|stripe/_stripe_service", 30)
        # Where the time is spent, whoever's code it is (Django, psycopg, the SDK, the templates).
        stats.sort_stats("tottime").print_stats(25)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=150)
    parser.add_argument("--cprofile", action="store_true", help="also print the functions' CPU (cProfile)")
    parser.add_argument("--queries", action="store_true", help="also print the SQL of one event's fulfilment")
    args = parser.parse_args(argv)
    stack = Stack()
    try:
        stack.create_database_in_process()
        stack.start_web()
        _price, link = common.catalog_and_link(name="Bench profile")
        sessions, _rate = common.completed_sessions(stack, link.url, args.events + 10)
        factory = EventFactory(stack, sessions)
        from webhooks.services import webhook_event_record

        event_ids = []
        for index, session_id in enumerate(sessions):
            body = factory.body(index, session_id)
            recorded = webhook_event_record(payload=body, signature=factory.signature(body))
            event_ids.append(recorded.event.id)
        stack.flush_redis()  # no worker runs: the tasks enqueued above are dropped, the events stay pending
        figures = receiver(factory, args.events, cprofile=args.cprofile) | fulfilment(
            stack, event_ids, cprofile=args.cprofile, queries=args.queries
        )
    finally:
        stack.close()
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name.ljust(width)}  {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
