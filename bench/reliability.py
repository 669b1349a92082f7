"""Reliability under faults: N checkouts through the sandbox, exactly N orders and N confirmation e-mails.

Run by ``uv run python -m bench`` (``--only reliability --reliability-n 2000`` for it alone).

What it does, all in real processes on a private PostgreSQL cluster and a private Redis (started on free
ports and thrown away after: the machine's shared servers are never touched; see
bench/stack.py:

1. migrates, starts gunicorn (gthread) and a Celery worker with ``SANDBOX_FAULTS`` (by default duplicated,
   delayed — hence reordered —, dropped deliveries and failing API calls), registers the webhook
   endpoint and creates one payment link;
2. ``--concurrency`` customers open the link's hosted page and pay with 4242… until N checkouts are
   paid; the ingest throughput is N over that time;
3. waits for the system to settle: when the workers are idle, runs what beat would run later — the
   requeue of events and e-mails (its clock ahead of the grace periods) and the reconciler, which
   creates the orders whose every delivery was dropped;
4. checks, as staff would, the orders CSV export (``orders:export``) and the e-mail outbox: exactly N
   orders (N distinct checkout sessions, all paid) and N confirmation e-mails sent, one written per
   customer. Exit status 0 only then.
"""

from __future__ import annotations

import csv
import io
import secrets
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bench.forms import submit_form
from bench.stack import AppStack, PrivatePostgres, PrivateRedis, missing_tools, pay, sent_messages

DEFAULT_FAULTS = "webhook_duplicate=0.1,webhook_delay=0.05:2,webhook_drop=0.1,api_500=0.02"
# Past the enqueue grace (120 s), the processing lease (120 s) and the e-mail pending grace (300 s).
LATER = 400.0


def _log_in(base_url: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base_url}/accounts/login/", timeout=30)
    response = submit_form(
        session, page, action_contains="/accounts/login/", values={"username": "staff", "password": password}
    )
    response.raise_for_status()
    if "/accounts/login/" in response.url:
        raise RuntimeError("could not log in as staff")
    return session


def _drive(link_url: str, n: int, concurrency: int) -> tuple[float, list[str], list[str]]:
    """N customers pay, ``concurrency`` at a time; returns (seconds, paid e-mails, errors)."""
    paid: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()
    local = threading.local()
    progress = {"done": 0}

    def one(i: int) -> None:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        email = f"customer-{i}@example.com"
        try:
            response = pay(link_url, email=email, session=local.session, timeout=60)
            ok = response.status_code == 200
            detail = f"HTTP {response.status_code}"
        except Exception as exc:  # noqa: BLE001 - counted and reported
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        with lock:
            (paid if ok else errors).append(email if ok else f"{email}: {detail}")
            progress["done"] += 1
            if progress["done"] % max(1, n // 10) == 0:
                print(f"  … {progress['done']}/{n} checkouts", file=sys.stderr, flush=True)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(n)))
    return time.monotonic() - started, paid, errors


def _counts(stack: AppStack) -> dict[str, int]:
    row = stack.query("""
        SELECT
          (SELECT count(*) FROM links_order),
          (SELECT count(*) FROM links_outboundemail WHERE kind = 'order_confirmation' AND status = 'sent'),
          (SELECT count(*) FROM webhooks_webhookevent WHERE status IN ('pending', 'failed')),
          (SELECT count(*) FROM webhooks_webhookevent WHERE status = 'processing'),
          (SELECT count(*) FROM links_outboundemail WHERE status IN ('pending', 'failed'))
    """)[0]
    return dict(
        zip(
            ("orders", "emails_sent", "events_waiting", "events_processing", "emails_waiting"),
            row,
            strict=True,
        )
    )


def _queue_length(redis_port: int) -> int:
    import redis

    client = redis.Redis(host="127.0.0.1", port=redis_port, socket_timeout=5)
    try:
        return int(client.llen("celery"))
    finally:
        client.close()


def _settle(stack: AppStack, redis: PrivateRedis, n: int, timeout: float) -> tuple[float, int]:
    """Wait until N orders and N sent confirmations, nothing waiting; run requeue and reconciler when
    the workers are idle (what beat does, minutes later). Returns (seconds, catch-up rounds)."""
    started = time.monotonic()
    rounds, idle = 0, 0
    while time.monotonic() - started < timeout:
        counts = _counts(stack)
        if (
            counts["orders"] >= n
            and counts["emails_sent"] >= n
            and not counts["events_waiting"]
            and not counts["events_processing"]
            and not counts["emails_waiting"]
        ):
            return time.monotonic() - started, rounds
        busy = counts["events_processing"] or _queue_length(redis.port)
        idle = 0 if busy else idle + 1
        if idle >= 2:
            # Idle workers and still short: events whose task was lost, orders never delivered.
            stack.requeue(ahead=LATER)
            stack.enqueue("links.reconcile_checkout_sessions")
            rounds, idle = rounds + 1, -3
        time.sleep(1.0)
    raise TimeoutError(f"not settled after {timeout} s: {_counts(stack)}")


def _export(stack: AppStack, staff: requests.Session) -> list[dict]:
    response = staff.get(f"{stack.base_url}/orders/export.csv", timeout=300)
    response.raise_for_status()
    return list(csv.DictReader(io.StringIO(response.text)))


def run(
    *,
    n: int,
    concurrency: int = 8,
    faults: str = DEFAULT_FAULTS,
    web_workers: int = 2,
    web_threads: int = 12,
    worker_concurrency: int = 4,
    settle_timeout: float = 600,
    log=print,
) -> dict:
    """Drive ``n`` checkouts under ``faults``; the figures, and ``ok`` only if exactly n orders and n
    confirmation e-mails came of them."""
    missing = missing_tools()
    if missing:
        return {"skipped": f"needs {', '.join(missing)}"}
    var_dir = Path(tempfile.mkdtemp(prefix="paylinks-reliability-"))
    postgres, redis = PrivatePostgres(), PrivateRedis(var_dir)
    stack: AppStack | None = None
    password = secrets.token_urlsafe(16)
    try:
        postgres.init()
        postgres.start()
        postgres.create_database("paylinks")
        redis.start()
        stack = AppStack(
            postgres=postgres,
            redis=redis,
            database="paylinks",
            var_dir=var_dir,
            faults=faults,
            extra_env={"LOG_LEVEL": "WARNING"},
        )
        log(f"bench: reliability on PostgreSQL :{postgres.port}, Redis :{redis.port}, logs in {var_dir}")
        stack.manage("migrate", "--no-input", timeout=300)
        # Under python -m bench the environment has the bench's DEBUG=false: the server needs them then.
        stack.manage("collectstatic", "--no-input", timeout=300)
        stack.spawn_web(workers=web_workers, threads=web_threads)
        stack.spawn_console()
        worker = stack.spawn_worker(concurrency=worker_concurrency)
        stack.wait_web()
        stack.console.wait()
        stack.wait_worker(worker)
        # Setup without API faults would be kinder, but a failed setup call is retried by the SDK.
        stack.setup_shop(staff_password=password)
        link = stack.create_link(name="Reliability link", amount=1000)

        log(f"bench: driving {n} checkouts, {concurrency} at a time, SANDBOX_FAULTS={faults!r}")
        seconds, paid, errors = _drive(link["url"], n, concurrency)
        settle_seconds, rounds = _settle(stack, redis, len(paid), settle_timeout)

        staff = _log_in(stack.base_url, password)
        rows = _export(stack, staff)
        sessions = {row["checkout_session_id"] for row in rows}
        statuses = {row["status"] for row in rows}
        exported_emails = sorted(row["customer_email"] for row in rows)
        outbox = stack.query(
            "SELECT count(*), count(DISTINCT order_id) FROM links_outboundemail "
            "WHERE kind = 'order_confirmation' AND status = 'sent'"
        )[0]
        written = sent_messages(var_dir)
        deliveries = dict(
            stack.query("SELECT result, count(*) FROM webhooks_webhookdelivery GROUP BY result")
        )
        paid_count = len(paid)
        return {
            "n": n,
            "concurrency": concurrency,
            "faults": faults,
            "paid": paid_count,
            "failed": errors[:5],
            # Hosted page GET + POST, the webhook delivered and stored.
            "checkouts_per_s": round(paid_count / seconds, 1) if seconds else None,
            "deliveries_accepted": deliveries.get("accepted", 0),
            "deliveries_duplicate": deliveries.get("duplicate", 0),
            "dropped_by_sandbox": stack.scalar(
                "SELECT count(*) FROM sandbox_webhookdeliveryattempt WHERE error LIKE 'Dropped%%'"
            ),
            "orders_by_reconciler": stack.scalar(
                "SELECT count(DISTINCT order_id) FROM links_orderstatuschange WHERE actor = 'reconciler'"
            ),
            "settled_s": round(settle_seconds, 1),
            "settle_rounds": rounds,
            "orders_exported": len(rows),
            "emails_sent": outbox[0],
            "emails_written": sum(written.values()),
            "ok": (
                not errors
                and len(rows) == paid_count
                and len(sessions) == paid_count
                and statuses == {"paid"}
                and exported_emails == sorted(paid)
                and outbox == (paid_count, paid_count)
                and sum(written.values()) == paid_count
                and all(count == 1 for count in written.values())
            ),
        }
    finally:
        if stack is not None:
            stack.stop()
        redis.kill()
        postgres.destroy()
