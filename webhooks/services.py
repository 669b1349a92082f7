"""Receiving, storing and processing Stripe events; registering our endpoint with Stripe.

The database is the outbox: ``webhook_event_record`` stores an event (unique by Stripe id) and enqueues
its processing on commit; ``webhook_event_process`` claims it with a conditional UPDATE, so a duplicate
task or a concurrent worker does nothing; ``webhook_events_requeue`` finds the events whose task never
ran or failed and enqueues them again, with exponential back-off and a retry limit.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

import orjson
import stripe
from django.conf import settings
from django.db import DataError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.stripe_client import get_stripe_client
from webhooks.group_commit import GroupCommit
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

logger = logging.getLogger(__name__)

# After this many attempts a failing event stays failed until someone replays it.
MAX_ATTEMPTS = 8
# First retry after this long, doubling each attempt, capped.
RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)
# An event claimed for longer than this is taken to have lost its worker (SIGKILL, OOM, deploy).
# Above the hard time limit, after which Celery kills the task: a live task is never overtaken.
PROCESSING_LEASE = timedelta(seconds=getattr(settings, "CELERY_TASK_TIME_LIMIT", 90) + 30)
# How long a freshly stored event waits for its on-commit task before the requeuer sends another.
ENQUEUE_GRACE = timedelta(seconds=120)
# The requeuer's batch size: one beat tick never floods the broker.
REQUEUE_BATCH = 500
# How long a worker process trusts its copy of the endpoint secrets.
SECRETS_TTL = 30.0
# At most one refresh of the secrets per second when a signature matches none (a flood of forged
# requests must not become a flood of queries).
SECRETS_REFRESH_MIN_INTERVAL = 1.0

# Request headers never written to the delivery log.
_SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "x-api-key", "x-csrftoken"})

REJECT_NO_SIGNATURE = "missing Stripe-Signature header"
REJECT_TOO_LARGE = "body too large"
REJECT_BAD_SIGNATURE = "signature does not match, or timestamp outside the tolerance"
REJECT_MALFORMED = "malformed event JSON"
REJECT_NOT_UTF8 = "body is not UTF-8"
REJECT_TOO_DEEP = "event JSON nested too deep"
# Stripe's events nest about a dozen levels. Far deeper JSON is not an event: json.loads gives up past
# about 1,500 levels (RecursionError), and below that Python's own encoder (the event page prints the
# payload indented) gives up near 1,000.
MAX_JSON_DEPTH = 256
# The error of an event whose object fails the sync's validation (shown on the event's page).
OBJECT_NOT_STORED = _("%(id)s was not stored: %(reason)s")


class WebhookRejected(Exception):
    """The request is not a valid Stripe event: answer 400 and store nothing."""


@dataclass(frozen=True)
class RecordResult:
    event: WebhookEvent
    created: bool


# SECRETS -------------------------------------------------------------------------------------------

_secrets_lock = threading.Lock()
_secrets_cache: dict[str, object] = {"secrets": (), "loaded_at": 0.0}


def _endpoint_secrets(*, refresh: bool = False) -> tuple[str, ...]:
    """The secrets of our registered endpoints, cached per process for SECRETS_TTL seconds."""
    now = time.monotonic()
    with _secrets_lock:
        age = now - float(_secrets_cache["loaded_at"])  # type: ignore[arg-type]
        stale = age > SECRETS_TTL or (refresh and age > SECRETS_REFRESH_MIN_INTERVAL)
        if not stale:
            return _secrets_cache["secrets"]  # type: ignore[return-value]
    secrets = tuple(WebhookEndpoint.objects.exclude(secret="").values_list("secret", flat=True))
    with _secrets_lock:
        _secrets_cache.update(secrets=secrets, loaded_at=time.monotonic())
    return secrets


def webhook_secrets_invalidate() -> None:
    """Forget this process's cached secrets (after a registration, and between tests)."""
    with _secrets_lock:
        _secrets_cache.update(secrets=(), loaded_at=0.0)


def _verify(payload: str, signature: str, secrets: tuple[str, ...]) -> bool:
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(
                payload, signature, secret, settings.STRIPE_WEBHOOK_TOLERANCE
            )
        except stripe.SignatureVerificationError:
            continue
        return True
    return False


def webhook_signature_verify(*, payload: bytes, signature: str) -> None:
    """Raise WebhookRejected unless one of the accepted secrets signed ``payload`` recently enough.

    Accepted: every secret in STRIPE_WEBHOOK_SECRETS plus every registered endpoint's secret, so a secret
    can be rotated without dropping events.
    """
    if not signature:
        raise WebhookRejected(REJECT_NO_SIGNATURE)
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookRejected(REJECT_NOT_UTF8) from None
    configured = tuple(s.strip() for s in settings.STRIPE_WEBHOOK_SECRETS if s.strip())
    if _verify(text, signature, configured + _endpoint_secrets()):
        return
    # A secret registered by another process since we cached: look again, at most once a second.
    if not _verify(text, signature, _endpoint_secrets(refresh=True)):
        raise WebhookRejected(REJECT_BAD_SIGNATURE)


# RECORDING -----------------------------------------------------------------------------------------


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _deeper_than(value: dict | list, limit: int) -> bool:
    """Whether containers nest in ``value`` more than ``limit`` levels (a walk with a stack, no recursion)."""
    stack = [(value, 1)]
    while stack:
        container, depth = stack.pop()
        if depth > limit:
            return True
        children = container.values() if isinstance(container, dict) else container
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _parse_event(payload: bytes) -> dict:
    # NUL and NaN/Infinity: Python's json reads them, jsonb refuses them, Stripe never sends them.
    if b"\\u0000" in payload:
        raise WebhookRejected(REJECT_MALFORMED)
    try:
        event = json.loads(payload, parse_constant=_reject_constant)
    except ValueError:
        raise WebhookRejected(REJECT_MALFORMED) from None
    except RecursionError:
        raise WebhookRejected(REJECT_TOO_DEEP) from None
    if not isinstance(event, dict):
        raise WebhookRejected(REJECT_MALFORMED)
    # Nesting cannot exceed the number of brackets: counting them (in C) spares nearly every event the walk.
    if payload.count(b"{") + payload.count(b"[") > MAX_JSON_DEPTH and _deeper_than(event, MAX_JSON_DEPTH):
        raise WebhookRejected(REJECT_TOO_DEEP)
    event_id, event_type, created = event.get("id"), event.get("type"), event.get("created")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 255:
        raise WebhookRejected(REJECT_MALFORMED)
    if not isinstance(event_type, str) or not event_type or len(event_type) > 100:
        raise WebhookRejected(REJECT_MALFORMED)
    if not isinstance(created, int) or isinstance(created, bool) or created < 0:
        raise WebhookRejected(REJECT_MALFORMED)
    if not isinstance(event.get("data"), dict) or not isinstance(event["data"].get("object"), dict):
        raise WebhookRejected(REJECT_MALFORMED)
    return event


def delivery_headers_clean(headers: dict[str, str]) -> dict[str, str]:
    """Headers worth keeping for the delivery log: no credentials, the signature reduced to its time."""
    clean = {}
    for name, value in headers.items():
        if name.lower() in _SECRET_HEADERS:
            continue
        if name.lower() == "stripe-signature":
            value = ",".join(part for part in value.split(",") if part.startswith("t="))
        clean[name] = value[:500]
    return clean


def _ip_or_none(value: str | None) -> str | None:
    # REMOTE_ADDR is empty or a path behind some proxies (unix sockets); the column takes IPs only.
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None


def webhook_event_record(
    *, payload: bytes, signature: str, headers: dict[str, str] | None = None, remote_addr: str | None = None
) -> RecordResult:
    """Verify, store (once per Stripe event id) and enqueue one delivery; log the delivery.

    Raises WebhookRejected, storing nothing, for anything not signed by an accepted secret.
    Processing is enqueued only after the commit, so the worker always finds the row. On PostgreSQL the
    requests a process is answering at the same moment share one statement and one commit (group commit):
    each returns once its own event is committed.
    """
    pending = _event_received(payload=payload, signature=signature, headers=headers, remote_addr=remote_addr)
    if connection.vendor != "postgresql":
        with transaction.atomic():
            event, created = _event_store_orm(event=pending.event, delivery=pending.delivery)
        if created:
            _enqueue_on_commit(event.id)
        return RecordResult(event=event, created=created)
    if connection.in_atomic_block:
        # Inside the caller's transaction (a test, a script): no other request's row may depend on it.
        (outcome,) = _events_store_postgresql([pending])
        if isinstance(outcome, WebhookRejected):
            raise outcome
        if outcome.created:
            _enqueue_on_commit(outcome.event.id)
        return outcome
    return _event_group_commit.submit(pending)


@dataclass(frozen=True)
class _PendingEvent:
    event: WebhookEvent
    delivery: WebhookDelivery
    payload: bytes


def webhook_event_verify_and_parse(*, payload: bytes, signature: str) -> dict:
    """The event in ``payload``, once its size, signature and shape are checked; WebhookRejected if not."""
    if len(payload) > settings.WEBHOOK_MAX_BODY_BYTES:
        raise WebhookRejected(REJECT_TOO_LARGE)
    webhook_signature_verify(payload=payload, signature=signature)
    return _parse_event(payload)


def _event_received(
    *, payload: bytes, signature: str, headers: dict[str, str] | None, remote_addr: str | None
) -> _PendingEvent:
    """The event and its delivery as they will be stored, once the body is verified and read."""
    data = webhook_event_verify_and_parse(payload=payload, signature=signature)
    now = timezone.now()
    event = WebhookEvent(
        stripe_event_id=data["id"],
        type=data["type"],
        api_version=str(data.get("api_version") or "")[:64],
        created=data["created"],
        livemode=bool(data.get("livemode")),
        object_id=str(data["data"]["object"].get("id") or "")[:255],
        payload=data,
        received_at=now,
        next_attempt_at=now + ENQUEUE_GRACE,
    )
    delivery = WebhookDelivery(
        stripe_event_id=event.stripe_event_id,
        received_at=now,
        remote_addr=_ip_or_none(remote_addr),
        headers=delivery_headers_clean(headers or {}),
        status_code=200,
    )
    return _PendingEvent(event=event, delivery=delivery, payload=payload)


def _event_store_orm(*, event: WebhookEvent, delivery: WebhookDelivery) -> tuple[WebhookEvent, bool]:
    # get_or_create handles the race of two web processes storing the same event: the loser's INSERT
    # hits the unique constraint inside a savepoint and it reads the winner's row.
    defaults = {
        f.attname: getattr(event, f.attname) for f in WebhookEvent._meta.concrete_fields if not f.primary_key
    }
    stored, created = WebhookEvent.objects.get_or_create(
        stripe_event_id=event.stripe_event_id, defaults=defaults
    )
    delivery.event = stored
    delivery.result = WebhookDelivery.Result.ACCEPTED if created else WebhookDelivery.Result.DUPLICATE
    delivery.save(force_insert=True)
    return stored, created


def _events_store_postgresql(pendings: list[_PendingEvent]) -> list[RecordResult | WebhookRejected]:
    """The events (those not stored yet) and every delivery in one statement, committed on its own: one
    round trip and one commit for the whole batch, no savepoint.

    The rows go to PostgreSQL as two JSON arrays of records, so that the statement's text is the same for
    any number of events and its two parameters cost psycopg little to send (each column as an array
    parameter cost 0.4 ms per body). The bodies are spliced in as received, not re-serialised. Events
    are inserted in id order, so two batches sharing events wait for each other in the same order and
    never deadlock. A delivery racing another request's uncommitted INSERT of the same event waits for
    it, then stores nothing; its delivery row is logged without the event's id (the statement's snapshot
    cannot see that row yet). A body that Python reads but jsonb refuses fails the whole statement: each
    event of the batch is then stored alone, so that only that one is rejected.
    """
    event_fields, delivery_fields = _store_fields_postgresql()
    # The first delivery of an event in the batch may be its accepted one, the others are duplicates.
    firsts: dict[str, int] = {}
    for index, pending in enumerate(pendings):
        firsts.setdefault(pending.event.stripe_event_id, index)
    events = [pendings[firsts[stripe_event_id]] for stripe_event_id in sorted(firsts)]
    payload = WebhookEvent._meta.get_field("payload").column
    event_records = b",".join(
        # {"payload": <the body as received>, <the other columns>}: the columns' object without its "{".
        b'{"' + payload.encode() + b'":' + pending.payload + b"," + _record(pending.event, event_fields)[1:]
        for pending in events
    )
    delivery_records = b",".join(
        _record(
            pending.delivery,
            delivery_fields,
            first=firsts[pending.event.stripe_event_id] == index,
            position=index,
        )
        for index, pending in enumerate(pendings)
    )
    params = [
        (b"[" + event_records + b"]").decode(),
        sorted(firsts),
        WebhookDelivery.Result.ACCEPTED,
        WebhookDelivery.Result.DUPLICATE,
        (b"[" + delivery_records + b"]").decode(),
    ]
    try:
        with connection.cursor() as cursor:
            cursor.execute(_store_statement_postgresql(), params)
            stored = {stripe_event_id: (event_id, created) for event_id, stripe_event_id, created in cursor}
    except DataError:
        if len(pendings) == 1:
            # JSON that Python reads but jsonb refuses (a lone surrogate, say): not a Stripe event.
            return [WebhookRejected(REJECT_MALFORMED)]
        return [outcome for pending in pendings for outcome in _events_store_postgresql([pending])]
    outcomes: list[RecordResult | WebhookRejected] = []
    for index, pending in enumerate(pendings):
        event_id, created = stored.get(pending.event.stripe_event_id, (None, False))
        pending.event.id = event_id
        first = firsts[pending.event.stripe_event_id] == index
        outcomes.append(RecordResult(event=pending.event, created=created and first))
    return outcomes


def _record(instance, fields: list, **extra) -> bytes:
    """The instance's columns as one JSON object, keyed by column name (jsonb_to_recordset's input)."""
    values = {field.column: getattr(instance, field.attname) for field in fields}
    if isinstance(instance, WebhookDelivery):
        values["stripe_event_id"] = instance.stripe_event_id
    return orjson.dumps({**values, **extra})


def _events_enqueue(pendings: list[_PendingEvent], outcomes: list[RecordResult | BaseException]) -> None:
    """After a group's commit: one task for the events it stored (not for duplicates)."""
    from webhooks.tasks import process_webhook_event as process_webhook_event_task
    from webhooks.tasks import process_webhook_events as process_webhook_events_task

    event_ids = [o.event.id for o in outcomes if isinstance(o, RecordResult) and o.created]
    try:
        if len(event_ids) == 1:
            process_webhook_event_task.delay(event_ids[0])
        elif event_ids:
            process_webhook_events_task.delay(event_ids)
    except Exception:
        # The rows are committed: the periodic requeue sends them once the broker is back.
        logger.exception("Could not enqueue webhook events %s", event_ids)


# Concurrent requests of this process share one statement and one commit (webhooks/group_commit.py).
_event_group_commit: GroupCommit[_PendingEvent, RecordResult] = GroupCommit(
    _events_store_postgresql, after=_events_enqueue
)


@functools.cache
def _store_fields_postgresql() -> tuple[list, list]:
    """The columns of the receiver's records (the payload, the results and the events' ids of the
    deliveries apart)."""
    event_fields = [f for f in WebhookEvent._meta.concrete_fields if f.name not in ("id", "payload")]
    delivery_fields = [
        f
        for f in WebhookDelivery._meta.concrete_fields
        if f.name not in ("id", "event", "result", "stripe_event_id")
    ]
    return event_fields, delivery_fields


@functools.cache
def _store_statement_postgresql() -> str:
    """The receiver's statement, built once per process (not per event)."""
    event_fields, delivery_fields = _store_fields_postgresql()
    q = connection.ops.quote_name
    events, deliveries = q(WebhookEvent._meta.db_table), q(WebhookDelivery._meta.db_table)
    event_id, payload = q("stripe_event_id"), q(WebhookEvent._meta.get_field("payload").column)
    event_columns = [q(f.column) for f in event_fields]
    delivery_columns = [q(f.column) for f in delivery_fields]
    delivery_targets = ", ".join([q("event_id"), q("result"), event_id, *delivery_columns])

    def typed(fields: list) -> str:
        return ", ".join(f"{q(f.column)} {f.db_type(connection)}" for f in fields)

    return f"""
        WITH new_event AS (
            INSERT INTO {events} ({", ".join(event_columns)}, {payload})
            SELECT {", ".join(event_columns)}, {payload}
            FROM jsonb_to_recordset(%s::jsonb) AS incoming ({typed(event_fields)}, {payload} jsonb)
            ON CONFLICT ({event_id}) DO NOTHING
            RETURNING {q("id")}, {event_id}
        ), stored AS (
            SELECT {q("id")}, {event_id}, TRUE AS created FROM new_event
            UNION ALL
            SELECT {q("id")}, {event_id}, FALSE FROM {events}
            WHERE {event_id} = ANY(%s::varchar[]) AND {event_id} NOT IN (SELECT {event_id} FROM new_event)
        ), delivery AS (
            INSERT INTO {deliveries} ({delivery_targets})
            SELECT stored.{q("id")},
                   CASE WHEN incoming.first AND stored.created THEN %s ELSE %s END,
                   incoming.{event_id}, {", ".join("incoming." + column for column in delivery_columns)}
            FROM jsonb_to_recordset(%s::jsonb)
                AS incoming ({event_id} varchar, first boolean, position integer, {typed(delivery_fields)})
            LEFT JOIN stored USING ({event_id})
            ORDER BY incoming.position
        )
        SELECT {q("id")}, {event_id}, created FROM stored
    """


def _enqueue_on_commit(event_id: int) -> None:
    from webhooks.tasks import process_webhook_event as process_webhook_event_task

    # robust: the row is committed whatever happens; if the broker is down the periodic requeue sends it.
    transaction.on_commit(lambda: process_webhook_event_task.delay(event_id), robust=True)


# PROCESSING ----------------------------------------------------------------------------------------


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off: 30 s, 1 min, 2 min, … capped at an hour."""
    return min(RETRY_BASE * (2 ** max(attempts - 1, 0)), RETRY_MAX)


# What every handler reads; a handler that reads more (the payload) loads it when it first reads it.
# In the model's field order: Model.from_db takes the returned values in that order.
CLAIM_RETURNS = ("id", "stripe_event_id", "type", "created", "object_id")


@functools.cache
def _claim_statement() -> str:
    """The claim as one UPDATE … RETURNING: the ORM's update() returns only a count, and the claim plus
    the query that then read the event cost the worker about 2 ms of CPU per event, ten times this."""
    q = connection.ops.quote_name

    def column(name: str) -> str:
        return q(WebhookEvent._meta.get_field(name).column)

    status, next_attempt_at, attempts = column("status"), column("next_attempt_at"), column("attempts")
    return f"""
        UPDATE {q(WebhookEvent._meta.db_table)}
        SET {status} = %(processing)s, {attempts} = {attempts} + 1, {next_attempt_at} = %(lease_end)s
        WHERE {column("id")} = %(id)s AND (
            {status} = %(pending)s
            -- A failed event is retried until it runs out of attempts (next_attempt_at then NULL).
            OR ({status} = %(failed)s AND {next_attempt_at} IS NOT NULL)
            -- Claimed by a worker that died before finishing: its lease is over, or it is taken over.
            OR ({status} = %(processing)s AND ({next_attempt_at} <= %(now)s OR %(take_over)s))
        )
        RETURNING {", ".join(column(name) for name in CLAIM_RETURNS)}
    """


def webhook_event_claim(*, event_id: int, take_over: bool = False) -> WebhookEvent | None:
    """Take the event for this worker and return it (the columns every handler reads; the others load
    when first read); None when another worker has it or it is finished.

    ``take_over``: the broker redelivered this task because its worker died, so an event still marked
    processing is that dead worker's and may be taken without waiting for its lease to run out.
    """
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    params = {
        "id": event_id,
        "now": adapt(now),
        "lease_end": adapt(now + PROCESSING_LEASE),
        "take_over": take_over,
        "pending": WebhookEvent.Status.PENDING.value,
        "processing": WebhookEvent.Status.PROCESSING.value,
        "failed": WebhookEvent.Status.FAILED.value,
    }
    with connection.cursor() as cursor:
        cursor.execute(_claim_statement(), params)
        row = cursor.fetchone()
    if row is None:
        return None
    # from_db marks the columns not returned as deferred, as only() would.
    return WebhookEvent.from_db(connection.alias, CLAIM_RETURNS, row)


def webhook_event_process(*, event_id: int, take_over: bool = False) -> str | None:
    """Process one stored event exactly once; return its final status (None if not claimed).

    1. Claim with a conditional UPDATE (pending/failed/stale → processing, attempts + 1).
    2. Dispatch by type through ``handlers.HANDLERS``; unknown types become ``ignored``.
    3. Mark processed; on an exception mark failed with the error and the time of the next attempt
       (none after MAX_ATTEMPTS), then re-raise so the task can decide to retry sooner. An object that
       Paylinks cannot store (StripeObjectInvalid) fails the event for good, with the reason, unraised.
    Handlers are idempotent (ledgers keyed by the Stripe object), so a retry never doubles an effect.
    """
    from catalog.services import StripeObjectInvalid
    from webhooks.handlers import HANDLERS

    event = webhook_event_claim(event_id=event_id, take_over=take_over)
    if event is None:
        return None
    handler = HANDLERS.get(event.type)
    if handler is None:
        _event_finish(event, status=WebhookEvent.Status.IGNORED)
        return WebhookEvent.Status.IGNORED
    # Not one transaction with the handler's writes: on SQLite a transaction takes the write lock when it
    # begins, and the handler calls the API before it writes. Handlers are idempotent, so an order
    # committed before a failure here is found, not doubled, by the retry.
    try:
        handler(event)
    except StripeObjectInvalid as exc:
        # Every retry would meet the same object: no more attempts (a replay tries again, say after a fix).
        logger.warning("Webhook event %s (%s) not stored: %s", event.stripe_event_id, event.type, exc.reason)
        _event_fail(event, error=OBJECT_NOT_STORED % {"id": exc.stripe_id, "reason": exc.reason}, retry=False)
        return WebhookEvent.Status.FAILED
    except Exception as exc:
        logger.warning("Webhook event %s (%s) failed: %r", event.stripe_event_id, event.type, exc)
        _event_fail(event, error=f"{type(exc).__name__}: {exc}")
        raise
    _event_finish(event, status=WebhookEvent.Status.PROCESSED)
    return WebhookEvent.Status.PROCESSED


def _event_finish(event: WebhookEvent, *, status: str) -> None:
    # Guarded by status: a stale worker whose lease was taken over cannot overwrite the new owner's result.
    WebhookEvent.objects.filter(id=event.id, status=WebhookEvent.Status.PROCESSING).update(
        status=status, last_error="", processed_at=timezone.now(), next_attempt_at=None
    )


def _event_fail(event: WebhookEvent, *, error: str, retry: bool = True) -> None:
    attempts = WebhookEvent.objects.filter(id=event.id).values_list("attempts", flat=True).first() or 0
    retry = retry and attempts < MAX_ATTEMPTS
    next_attempt_at = timezone.now() + retry_delay(attempts) if retry else None
    WebhookEvent.objects.filter(id=event.id, status=WebhookEvent.Status.PROCESSING).update(
        status=WebhookEvent.Status.FAILED, last_error=error[:5000], next_attempt_at=next_attempt_at
    )


def webhook_events_requeue(*, limit: int = REQUEUE_BATCH) -> int:
    """Enqueue events whose task never ran, failed, or lost its worker; return how many.

    Each event enqueued has its next attempt pushed back first (conditionally, so two beat ticks never
    enqueue the same event twice), which is also what spaces out the retries of a failing event.
    """
    from webhooks.tasks import process_webhook_event as process_webhook_event_task

    now = timezone.now()
    # A worker died mid-event: make it a failed attempt, retried now or left failed if out of attempts.
    WebhookEvent.objects.filter(status=WebhookEvent.Status.PROCESSING, next_attempt_at__lte=now).update(
        status=WebhookEvent.Status.FAILED,
        last_error="Processing did not finish (worker lost).",
        next_attempt_at=now,
    )
    WebhookEvent.objects.filter(
        status=WebhookEvent.Status.FAILED, attempts__gte=MAX_ATTEMPTS, next_attempt_at__isnull=False
    ).update(next_attempt_at=None)
    due = (
        WebhookEvent.objects.filter(
            Q(next_attempt_at__lte=now) | Q(status=WebhookEvent.Status.PENDING, next_attempt_at__isnull=True),
            status__in=[WebhookEvent.Status.PENDING, WebhookEvent.Status.FAILED],
        )
        .order_by("next_attempt_at")
        .values_list("id", "attempts", "next_attempt_at")[:limit]
    )
    enqueued = 0
    for event_id, attempts, next_attempt_at in list(due):
        later = now + max(retry_delay(attempts + 1), ENQUEUE_GRACE)
        bumped = WebhookEvent.objects.filter(id=event_id, next_attempt_at=next_attempt_at).update(
            next_attempt_at=later
        )
        if bumped:
            process_webhook_event_task.delay(event_id)
            enqueued += 1
    return enqueued


def webhook_event_replay(*, event: WebhookEvent) -> None:
    """Process the event again from its stored payload (handlers re-fetch current state, so this is safe)."""
    with transaction.atomic():
        WebhookEvent.objects.filter(id=event.id).exclude(status=WebhookEvent.Status.PROCESSING).update(
            status=WebhookEvent.Status.PENDING, last_error="", next_attempt_at=timezone.now() + ENQUEUE_GRACE
        )
        _enqueue_on_commit(event.id)


# REGISTRATION --------------------------------------------------------------------------------------


def handled_event_types() -> list[str]:
    from webhooks.handlers import HANDLERS

    return sorted(HANDLERS)


def _api_base() -> str:
    return settings.STRIPE_API_BASE if settings.STRIPE_SANDBOX_MODE else "https://api.stripe.com"


def webhook_endpoint_register(*, url: str) -> WebhookEndpoint:
    """Register ``url`` with Stripe for the events we handle, keeping the returned signing secret.

    Reuses an existing registration for the same URL and API base: Stripe returns the secret only at
    creation, and a second endpoint would deliver every event twice.
    """
    api_base = _api_base()
    existing = WebhookEndpoint.objects.filter(url=url, api_base=api_base).first()
    if existing is not None and _endpoint_still_registered(existing):
        return existing
    enabled_events = handled_event_types()
    created = get_stripe_client().v1.webhook_endpoints.create(
        params={"url": url, "enabled_events": enabled_events}
    )
    created = created.to_dict()
    endpoint = WebhookEndpoint(
        stripe_id=created["id"],
        url=url,
        api_base=api_base,
        secret=created["secret"],
        enabled_events=list(created.get("enabled_events") or enabled_events),
    )
    # Not the URL: an internal host name without a dot (docker, CI) is fine for delivery.
    endpoint.full_clean(exclude=["url"])
    endpoint.save()
    webhook_secrets_invalidate()
    return endpoint


def _endpoint_still_registered(endpoint: WebhookEndpoint) -> bool:
    """False only if Stripe says the endpoint is gone (deleted in its dashboard); the row is then dropped."""
    try:
        get_stripe_client().v1.webhook_endpoints.retrieve(endpoint.stripe_id)
    except stripe.InvalidRequestError as exc:
        if exc.http_status != 404:
            raise
        endpoint.delete()
        webhook_secrets_invalidate()
        return False
    except stripe.APIConnectionError:
        # Offline: keep what we have rather than fail start-up.
        return True
    return True


def webhook_endpoint_url() -> str:
    """The address Stripe should deliver to: this install's public base URL plus the view's path."""
    from django.urls import reverse

    return settings.PAYLINKS_BASE_URL + reverse("webhooks:stripe")
