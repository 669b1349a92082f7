"""Celery interfaces to the webhook services: each task takes ids and owns its retry policy."""

from __future__ import annotations

import logging

import stripe
from celery import shared_task
from django.db import InterfaceError, OperationalError

logger = logging.getLogger(__name__)

# Worth retrying within seconds: the network, Stripe's side, or the database coming back. Anything else
# is marked failed on the event and retried later, with back-off, by requeue_stuck_events.
TRANSIENT_ERRORS = (
    stripe.APIConnectionError,
    stripe.RateLimitError,
    stripe.APIError,
    OperationalError,
    InterfaceError,
)

# How soon an event of a batch that met a transient error is tried again, on its own.
RETRY_SOON = 5

# How often the reconciler (webhooks lost for good) runs, driven by the requeue task's beat entry.
RECONCILE_EVERY = 600


@shared_task(
    name="webhooks.process_event",
    bind=True,
    acks_late=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def process_webhook_event(self, event_id: int, take_over: bool = False) -> str | None:
    """Process one stored event; a duplicate or late task finds it claimed or finished and does nothing.

    ``take_over``: sent by ``process_webhook_events`` for an event whose processing met a transient error,
    which may have left it marked processing under a claim nobody holds any more.
    """
    from links.emails import outbound_emails_sent_inline
    from webhooks.processing import webhook_event_process

    # Redelivered (acks_late + reject_on_worker_lost): the worker that claimed the event died mid-way.
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    # A retry (autoretry_for): this task's previous attempt has ended with an error. If that error was the
    # database going away, the attempt could not record its failure and the event is still marked
    # processing under its own claim, which no live worker holds: without taking it over, the retry would
    # find it claimed and do nothing until the lease runs out and the requeue task sends it again.
    retried = bool(self.request.retries)
    # Already in a worker: the order's e-mails go out from here, after the order's commit.
    with outbound_emails_sent_inline():
        return webhook_event_process(event_id=event_id, take_over=take_over or redelivered or retried)


@shared_task(name="webhooks.process_events", bind=True, acks_late=True, ignore_result=True)
def process_webhook_events(self, event_ids: list[int]) -> None:
    """Process the events the receiver stored together (one message for a batch costs the receiver one
    publish instead of one per event), one after the other.

    An event that fails is marked failed by the service, as with the single-event task; one that met a
    transient error is handed to that task, with its retry policy. The others go on regardless.
    """
    from links.emails import outbound_emails_sent_inline
    from webhooks.processing import webhook_event_process

    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    for event_id in event_ids:
        try:
            with outbound_emails_sent_inline():
                webhook_event_process(event_id=event_id, take_over=redelivered)
        except TRANSIENT_ERRORS:
            process_webhook_event.apply_async((event_id,), {"take_over": True}, countdown=RETRY_SOON)
        except Exception:  # noqa: BLE001 - marked failed; requeue_stuck_events retries it with back-off
            logger.warning("Webhook event %s failed in a batch; it will be retried on its own", event_id)


@shared_task(name="webhooks.requeue_stuck_events", acks_late=True, ignore_result=True)
def requeue_stuck_events() -> dict[str, int]:
    """Beat, every minute: re-enqueue events (and e-mails) whose task never ran, failed, or died."""
    from django.core.cache import cache

    from links.emails import outbound_emails_requeue
    from links.tasks import reconcile_checkout_sessions
    from webhooks.processing import webhook_events_requeue

    counts = {"events": webhook_events_requeue(), "emails": outbound_emails_requeue()}
    # The reconciler rides on this schedule, every RECONCILE_EVERY seconds at most (cache.add is the gate).
    if cache.add("webhooks:reconcile-gate", 1, RECONCILE_EVERY):
        reconcile_checkout_sessions.delay()
    return counts
