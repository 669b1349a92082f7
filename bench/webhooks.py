"""Webhook ingest (events/s and latency at full speed, p99 at half of it) and fulfilment latency.

Events are real ``checkout.session.completed`` events for sessions paid in the sandbox, each with its
own event id, signed like Stripe with the secret the receiver takes from ``STRIPE_WEBHOOK_SECRET``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import tempfile
import threading
import time
import uuid
from pathlib import Path

from bench import common, http, wrk
from bench.stack import Stack

WEBHOOK_PATH = "/webhooks/stripe/"


class EventFactory:
    """Signed event bodies shaped like Stripe's: the real session object under ``data.object``."""

    def __init__(self, stack: Stack, session_ids: list[str]) -> None:
        from config.stripe_client import get_stripe_client

        self.secret = stack.webhook_secret
        self.session_ids = session_ids
        self.run = uuid.uuid4().hex[:10]
        template = get_stripe_client().v1.checkout.sessions.retrieve(session_ids[0]).to_dict(for_json=True)
        self.template = json.dumps(template, separators=(",", ":"))
        self.template_id = session_ids[0]

    def event_id(self, index: int) -> str:
        return f"evt_bench_{self.run}_{index:08d}"

    def body(self, index: int, session_id: str | None = None) -> bytes:
        session_id = session_id or self.session_ids[index % len(self.session_ids)]
        session = self.template.replace(self.template_id, session_id)
        # %-formatting: the template is JSON, whose braces str.format and f-strings would need doubled.
        return (
            '{"id":"%s","object":"event","api_version":"2025-09-30.clover","created":%d,"data":{"object":%s},'  # noqa: UP031
            '"livemode":false,"pending_webhooks":1,"request":{"id":null,"idempotency_key":null},'
            '"type":"checkout.session.completed"}' % (self.event_id(index), int(time.time()), session)
        ).encode()

    def signature(self, body: bytes) -> str:
        timestamp = int(time.time())
        digest = hmac.new(self.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        return f"t={timestamp},v1={digest}"

    def request(
        self, index: int, session_id: str | None = None, *, path: str = WEBHOOK_PATH
    ) -> http.RequestSpec:
        body = self.body(index, session_id)
        return (
            "POST",
            path,
            {"Content-Type": "application/json", "Stripe-Signature": self.signature(body)},
            body,
        )

    def write_file(self, count: int) -> Path:
        """``<signature>\\t<body>`` lines for wrk."""
        handle = tempfile.NamedTemporaryFile("wb", suffix=".tsv", delete=False)
        with handle:
            for index in range(count):
                body = self.body(index)
                handle.write(self.signature(body).encode() + b"\t" + body + b"\n")
        return Path(handle.name)


def post_closed_loop(stack: Stack, factory: EventFactory, *, path: str, duration: float) -> http.LoadResult:
    """Distinct signed events POSTed to ``path`` at full speed: wrk if installed, else the asyncio client."""
    if not wrk.available():
        return http.closed_loop(
            "127.0.0.1",
            stack.port,
            lambda index: factory.request(index, path=path),
            concurrency=common.CONNECTIONS,
            duration=duration,
        )
    # Enough distinct events for 4,000/s: the file never wraps round at this machine's speed.
    requests_file = factory.write_file(int(4000 * duration))
    try:
        return wrk.run(
            stack.base_url + path,
            duration=duration,
            connections=common.CONNECTIONS,
            post_path=path,
            requests_file=requests_file,
        )
    finally:
        requests_file.unlink(missing_ok=True)


def _events_stored(factory: EventFactory) -> int:
    from webhooks.models import WebhookEvent

    return WebhookEvent.objects.filter(stripe_event_id__startswith=f"evt_bench_{factory.run}_").count()


def events_per_commit(factory: EventFactory) -> float | None:
    """How many of the run's deliveries each of the receiver's commits stored, on average (its group
    commit): a delivery row is never updated, so its ``xmin`` is the transaction that inserted it."""
    from django.db import connection

    from webhooks.models import WebhookDelivery

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), count(DISTINCT xmin::text) FROM {WebhookDelivery._meta.db_table}"
            " WHERE stripe_event_id LIKE %s",
            [f"evt_bench_{factory.run}_%"],
        )
        deliveries, commits = cursor.fetchone()
    return round(deliveries / commits, 2) if commits else None


def faster_floor(*samples: dict) -> dict:
    """The faster of the floor's samples, with every sample's requests/s beside it.

    A neighbour on a shared machine can take a core for half a minute: a floor measured then makes every
    ratio to it look better than it is (once 1,630 req/s against 4,440 at the run's start). The faster
    sample is the machine as it is when undisturbed, so the ratios are never flattered.
    """
    best = dict(max(samples, key=lambda sample: sample.get("rps") or 0))
    best["samples_rps"] = [sample.get("rps") for sample in samples]
    return best


def ingest(stack: Stack, session_ids: list[str], *, duration: float, drain_cap: float) -> dict:
    """Full speed (wrk if installed, else the asyncio client), then half of it at a fixed rate."""
    from webhooks.models import WebhookEvent

    floor_before = common.floor(stack, duration=duration)
    # Warm up: every gunicorn thread's first event pays for imports, its database and broker connections.
    warm = EventFactory(stack, session_ids)
    http.closed_loop("127.0.0.1", stack.port, warm.request, concurrency=common.CONNECTIONS, duration=2)
    floor = faster_floor(floor_before, common.floor(stack, duration=duration))
    factory = EventFactory(stack, session_ids)
    full = post_closed_loop(stack, factory, path=WEBHOOK_PATH, duration=duration)
    stored_full = _events_stored(factory)
    full_summary = full.summary()
    full_summary["events_per_commit"] = events_per_commit(factory)
    # Half rate, open loop: the latency a steady flow of that size sees.
    offset = 10**7
    half_rate = max(1.0, full_summary["rps"] / 2)
    half = http.open_loop(
        "127.0.0.1", stack.port, lambda i: factory.request(offset + i), rate=half_rate, duration=duration
    )
    half_summary = half.summary()
    stored = _events_stored(factory)
    sent_ok = (
        full_summary["requests"] - full_summary["errors"] + half_summary["requests"] - half_summary["errors"]
    )
    # Then the worker works through the backlog the burst left (its fetches go to the same server). First
    # the floor again while it does: what fulfilment leaves the server, whatever the server is answering
    # (only if the worker still had work at the end: "backlog_after").
    unfinished = WebhookEvent.objects.filter(status__in=["pending", "processing"])
    backlog = unfinished.count()
    busy_floor = common.floor(stack, duration=min(duration, 10))
    busy_floor["backlog_after"] = unfinished.count()
    drain_started = time.monotonic()
    backlog_at_start = busy_floor["backlog_after"]
    while unfinished.exists() and time.monotonic() - drain_started < drain_cap:
        time.sleep(0.5)
    drain_elapsed = time.monotonic() - drain_started
    left = unfinished.count()
    return {
        "floor": floor,
        "full": full_summary,
        "half_rate": round(half_rate, 1),
        "half": half_summary,
        "events_answered_200": sent_ok,
        "events_stored": stored,
        # Requests still in flight when wrk stops are stored but not counted as answered: stored >= answered.
        "events_lost": max(0, sent_ok - stored),
        "events_stored_during_full_speed": stored_full,
        "backlog_after_load": backlog,
        "floor_while_worker_busy": busy_floor,
        "worker_events_per_s": round((backlog_at_start - left) / drain_elapsed, 1) if drain_elapsed else None,
        "backlog_left_after_cap": left,
    }


def ingest_without_worker(stack: Stack, session_ids: list[str], *, duration: float) -> dict:
    """The receiver alone (worker stopped, events queue up in Redis): what ingest costs by itself."""
    factory = EventFactory(stack, session_ids)
    stack.stop("worker")
    try:
        result = post_closed_loop(stack, factory, path=WEBHOOK_PATH, duration=duration)
    finally:
        stack.flush_redis()
        stack.start_worker()
    return {**result.summary(), "events_per_commit": events_per_commit(factory)}


# Events sent, and waited for, before a fulfilment run is measured (not counted in it).
FULFIL_WARM_UP = 40


def _confirmations(session_ids: list[str]):
    from links.models import OutboundEmail

    return OutboundEmail.objects.filter(
        kind=OutboundEmail.Kind.ORDER_CONFIRMATION, order__checkout_session_id__in=session_ids
    )


def _warm_up(stack: Stack, factory: EventFactory, session_ids: list[str], *, wait_cap: float) -> None:
    """Fulfil a few events at a gentle rate and wait for them: every process of the worker's pool has then
    opened its connections and loaded its code and templates, as a worker that has been running has.
    Cold, the pool's first tasks leave a backlog that a rate near capacity never drains."""
    http.open_loop(
        "127.0.0.1",
        stack.port,
        lambda i: factory.request(i, session_ids[i]),
        rate=20,
        duration=len(session_ids) / 20,
    )
    deadline = time.monotonic() + wait_cap
    while _confirmations(session_ids).count() < len(session_ids) and time.monotonic() < deadline:
        time.sleep(0.2)


def fulfilment(
    stack: Stack, session_ids: list[str], *, rate: float, duration: float, wait_cap: float
) -> dict:
    """One event per fresh paid session at a fixed rate; from the 200 to the order and its e-mail row.

    The first FULFIL_WARM_UP sessions warm the worker up; the measured run sends the rest."""
    from django.utils import timezone

    from links.models import OutboundEmail

    factory = EventFactory(stack, session_ids)
    warm_up_ids, session_ids = session_ids[:FULFIL_WARM_UP], session_ids[FULFIL_WARM_UP:]
    _warm_up(stack, factory, warm_up_ids, wait_cap=wait_cap)
    count = min(len(session_ids), int(rate * duration))
    samples: list[tuple[float, int]] = []
    stop = threading.Event()

    def sample_queue() -> None:
        while not stop.is_set():
            samples.append((time.monotonic(), stack.queue_length()))
            stop.wait(0.5)

    sampler = threading.Thread(target=sample_queue, daemon=True)
    sampler.start()
    since = timezone.now()
    send_start = time.monotonic()
    cpu_before = stack.cpu_seconds()
    try:
        result = http.open_loop(
            "127.0.0.1",
            stack.port,
            # Event ids numbered after the warm-up's, so that none is a duplicate.
            lambda i: factory.request(FULFIL_WARM_UP + i, session_ids[i]),
            rate=rate,
            duration=count / rate,
        )
        send_end = time.monotonic()
        deadline = time.monotonic() + wait_cap
        # Nothing else runs meanwhile (the warm-up's e-mails are recorded before ``since``): every
        # confirmation recorded since is one of ours, counted through an index while the CPU is measured.
        emails = OutboundEmail.objects.filter(
            created_at__gte=since, kind=OutboundEmail.Kind.ORDER_CONFIRMATION
        )
        while emails.count() < count and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        stop.set()
        sampler.join()
    cpu_after = stack.cpu_seconds()
    recorded = dict(emails.values_list("order__checkout_session_id", "created_at"))
    latencies = []
    for index, answered in result.answered_at.items():
        created = recorded.get(session_ids[index])
        if created is not None:
            latencies.append(max(0.0, created.timestamp() - answered))
    queue = [length for moment, length in samples if moment <= send_end]
    half = len(queue) // 2
    return {
        "rate": rate,
        "events": count,
        "answered": result.completed,
        "errors": result.errors + result.non_2xx(),
        "webhook_p99_ms": http.percentile_ms(result.latencies, 99),
        "orders_with_email": len(recorded),
        "p50_ms": http.percentile_ms(latencies, 50),
        "p99_ms": http.percentile_ms(latencies, 99),
        "max_ms": http.percentile_ms(latencies, 100),
        "queue_max": max(queue, default=0),
        # Where in the run a backlog formed.
        "queue_max_per_10s": longest_per_window(samples, start=send_start, end=send_end, seconds=10),
        # The queue does not grow: its mean over the second half of the run is no larger than the first.
        "queue_mean_first_half": round(sum(queue[:half]) / max(half, 1), 1),
        "queue_mean_second_half": round(sum(queue[half:]) / max(len(queue) - half, 1), 1),
        # CPU per event of each part, from the first event sent to the last e-mail recorded (or the cap).
        "cpu_ms_per_event": {
            part: round((cpu_after[part] - cpu_before[part]) * 1000 / max(len(recorded), 1), 2)
            for part in cpu_after
        },
        "queue_grows": sum(queue[half:]) / max(len(queue) - half, 1)
        > 1.2 * sum(queue[:half]) / max(half, 1) + 5,
    } | _capacity(cpu_before, cpu_after, len(recorded))


def longest_per_window(
    samples: list[tuple[float, int]], *, start: float, end: float, seconds: float
) -> list[int]:
    """The longest queue sampled in each ``seconds`` from ``start`` to ``end``, up to the last window with
    a sample (0 for a window before it with none)."""
    longest: dict[int, int] = {}
    for moment, length in samples:
        if start <= moment <= end:
            index = int((moment - start) // seconds)
            longest[index] = max(longest.get(index, 0), length)
    return [longest.get(index, 0) for index in range(max(longest, default=-1) + 1)]


def _capacity(cpu_before: dict, cpu_after: dict, events: int) -> dict:
    """Events/s every core of this machine would fulfil at that CPU per event, all of it busy: the rate
    beyond which the queue must grow, whatever the run's own rate."""
    machine_ms = (cpu_after["machine"] - cpu_before["machine"]) * 1000 / max(events, 1)
    cores = os.cpu_count() or 1
    return {"capacity_events_per_s": round(cores * 1000 / machine_ms, 1) if machine_ms > 0 else None}
