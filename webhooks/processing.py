"""Processing stored events: the claim, the dispatch to the handlers, failure with back-off, the requeuer
and replay.

``webhook_event_process`` claims an event with a conditional UPDATE, so a duplicate task or a concurrent
worker does nothing; ``webhook_events_requeue`` finds the events whose task never ran or failed and
enqueues them again, with exponential back-off and a retry limit.
"""

from __future__ import annotations

import functools
import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from webhooks.models import WebhookEvent
from webhooks.storing import ENQUEUE_GRACE, webhook_event_enqueue_on_commit

logger = logging.getLogger(__name__)

# After this many attempts a failing event stays failed until someone replays it.
MAX_ATTEMPTS = 8
# First retry after this long, doubling each attempt, capped.
RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)
# An event claimed for longer than this is taken to have lost its worker (SIGKILL, OOM, deploy).
# Above the hard time limit, after which Celery kills the task: a live task is never overtaken.
PROCESSING_LEASE = timedelta(seconds=getattr(settings, "CELERY_TASK_TIME_LIMIT", 90) + 30)
# The requeuer's batch size: one beat tick never floods the broker.
REQUEUE_BATCH = 500
# The error of an event whose object fails the sync's validation (shown on the event's page).
OBJECT_NOT_STORED = _("%(id)s was not stored: %(reason)s")


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
        webhook_event_enqueue_on_commit(event.id)
