"""What storing an event costs PostgreSQL, by group-commit batch size: ``uv run python -m bench.store_cost``.

Stores events through the receiver's own functions (verify and read the body, then the one-statement
store, committed per batch) from this process, one batch at a time, and reads the CPU of this process and
of its PostgreSQL backend (``psutil``) around each run. Then drops the event log's four indexes and stores
batches of 3 again: what the indexes cost. The figures behind "A twelfth session" in docs/performance.md.
"""

from __future__ import annotations

import argparse
import time

from bench import common
from bench.stack import Stack
from bench.webhooks import EventFactory

# The event log's indexes (webhooks/models.py): the ones a leaner receiver could do without.
EVENT_LOG_INDEXES = ("event_received", "event_status_received", "event_type_received", "event_object")


def store_events(factory: EventFactory, *, first: int, count: int, batch: int) -> None:
    from webhooks.services import _event_received, _events_store_postgresql

    pending = []
    for index in range(first, first + count):
        body = factory.body(index)
        pending.append(
            _event_received(
                payload=body,
                signature=factory.signature(body),
                headers={"User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"},
                remote_addr="127.0.0.1",
            )
        )
        if len(pending) == batch:
            outcomes = _events_store_postgresql(pending)
            assert all(outcome.created for outcome in outcomes), outcomes
            pending = []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.store_cost", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000, help="events per measured run")
    args = parser.parse_args(argv)
    stack = Stack()
    try:
        stack.create_database_in_process()
        stack.start_web()  # the sandbox, for a real session object in the events' bodies
        _price, link = common.catalog_and_link(name="Bench store cost")
        sessions, _rate = common.completed_sessions(stack, link.url, 3)
        factory = EventFactory(stack, sessions)

        import psutil
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = psutil.Process(cursor.fetchone()[0])
        next_index = 0

        def measured(batch: int) -> tuple[float, float]:
            nonlocal next_index
            database_started, started = sum(backend.cpu_times()[:2]), time.process_time()
            store_events(factory, first=next_index, count=args.events, batch=batch)
            next_index += args.events
            database = (sum(backend.cpu_times()[:2]) - database_started) * 1000 / args.events
            return round(database, 3), round((time.process_time() - started) * 1000 / args.events, 3)

        store_events(factory, first=10**7, count=300, batch=3)  # warm up
        print("batch  postgresql_cpu_ms_per_event  receiver_cpu_ms_per_event (this process)")
        for batch in (1, 3, 8, 3, 1, 8):
            database, receiver = measured(batch)
            print(f"{batch:>5}  {database:>27}  {receiver:>9}")
        with connection.cursor() as cursor:
            for name in EVENT_LOG_INDEXES:
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
        for _ in range(2):
            database, receiver = measured(3)
            print(f"    3  {database:>27}  {receiver:>9}  without the event log's four indexes")
    finally:
        stack.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
