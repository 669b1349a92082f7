"""Webhook delivery: sign like Stripe, POST through one helper, record every attempt, retry with back-off.

A ``WebhookDelivery`` row (event × endpoint) is the outbox: an attempt claims it, sends, records a
``WebhookDeliveryAttempt``, and either marks it succeeded or schedules the next attempt from
``SANDBOX_WEBHOOK_RETRY_SCHEDULE`` (seconds after each failure; exhausted → failed).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from sandbox import faults, store
from sandbox.models import ApiObject, WebhookDelivery, WebhookDeliveryAttempt

logger = logging.getLogger(__name__)

USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
# Stripe's test mode "retries three times over a few hours".
DEFAULT_RETRY_SCHEDULE = (60, 600, 3600)
DEFAULT_TIMEOUT = 10.0
# A claim older than this belongs to a worker that died mid-send: the row may be claimed again.
STALE_CLAIM = datetime.timedelta(minutes=5)


def retry_schedule() -> tuple[int, ...]:
    return tuple(getattr(settings, "SANDBOX_WEBHOOK_RETRY_SCHEDULE", DEFAULT_RETRY_SCHEDULE))


def webhook_timeout() -> float:
    return float(getattr(settings, "SANDBOX_WEBHOOK_TIMEOUT", DEFAULT_TIMEOUT))


def signed_at() -> int:
    """The signature's ``t``: wall time, never the sandbox clock. The receiver checks it against its own
    clock (300 s tolerance), and Stripe signs its real deliveries at send time too."""
    return int(time.time())


def signature_header(*, payload: str, secret: str, timestamp: int) -> str:
    """``t=…,v1=…`` exactly as ``stripe.WebhookSignature.verify_header`` checks it (no spaces)."""
    signed = f"{timestamp}.{payload}".encode()
    digest = hmac.new(secret.encode("utf-8"), msg=signed, digestmod=hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass
class HttpResult:
    status_code: int | None
    body: str = ""
    error: str = ""


def post_webhook(*, url: str, body: str, headers: dict, timeout: float) -> HttpResult:
    """The single outbound HTTP call of the sandbox (tests may replace only this seam)."""
    try:
        response = requests.post(
            url, data=body.encode("utf-8"), headers=headers, timeout=timeout, allow_redirects=False
        )
    except requests.RequestException as exc:
        return HttpResult(status_code=None, error=f"{type(exc).__name__}: {exc}")
    return HttpResult(status_code=response.status_code, body=response.text[:2000])


def _claim(delivery_id: int) -> bool:
    # Claims, retries and the lost-delivery sweep run on wall time (Celery's countdowns are real seconds):
    # an advanced sandbox clock must not make a claim stale or a retry due.
    now = timezone.now()
    unclaimed = Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - STALE_CLAIM)
    pending = WebhookDelivery.objects.filter(unclaimed, pk=delivery_id, status=WebhookDelivery.Status.PENDING)
    return pending.update(claimed_at=now) == 1


def delivery_attempt(*, delivery_id: int, timeout: float | None = None) -> int | None:
    """Make one attempt; return the seconds until the next one, or None when there is none to make.

    Safe to call twice for one delivery (duplicate task, resend): the claim lets one caller send.
    """
    if not _claim(delivery_id):
        return None
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    event = ApiObject.objects.filter(type="event", stripe_id=delivery.event_id).first()
    endpoint = ApiObject.objects.filter(type="webhook_endpoint", stripe_id=delivery.endpoint_id).first()
    if event is None or endpoint is None or endpoint.data["status"] != "enabled":
        # A deleted or disabled endpoint gets nothing more, as on Stripe.
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=WebhookDelivery.Status.FAILED, claimed_at=None
        )
        return None
    result = _send(event=event, endpoint=endpoint, timeout=timeout or webhook_timeout(), delivery=delivery)
    return _record_outcome(delivery, result)


def _send(*, event: ApiObject, endpoint: ApiObject, timeout: float, delivery: WebhookDelivery) -> HttpResult:
    payload = json.dumps(store.public(event.data), indent=2)
    delay = faults.webhook_fault("webhook_delay")
    if delay:
        time.sleep(delay.seconds)
    started = time.monotonic()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "Stripe-Signature": signature_header(
            payload=payload, secret=endpoint.data["_secret"], timestamp=signed_at()
        ),
    }
    if faults.webhook_fault("webhook_drop"):
        result = HttpResult(status_code=None, error="Dropped by SANDBOX_FAULTS")
    else:
        result = post_webhook(url=endpoint.data["url"], body=payload, headers=headers, timeout=timeout)
    duration_ms = int((time.monotonic() - started) * 1000)
    WebhookDeliveryAttempt.objects.create(
        delivery=delivery,
        status_code=result.status_code,
        duration_ms=duration_ms,
        error=result.error,
        response_body=result.body,
    )
    if _ok(result) and faults.webhook_fault("webhook_duplicate"):
        # Stripe may deliver an event more than once; receivers must dedupe on the event id.
        headers["Stripe-Signature"] = signature_header(
            payload=payload, secret=endpoint.data["_secret"], timestamp=signed_at()
        )
        post_webhook(url=endpoint.data["url"], body=payload, headers=headers, timeout=timeout)
    return result


def _ok(result: HttpResult) -> bool:
    return result.status_code is not None and 200 <= result.status_code < 300


def _record_outcome(delivery: WebhookDelivery, result: HttpResult) -> int | None:
    schedule = retry_schedule()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        delivery.attempts += 1
        delivery.claimed_at = None
        retry_in = None
        if _ok(result):
            delivery.status = WebhookDelivery.Status.SUCCEEDED
            delivery.next_attempt_at = None
            _one_less_pending(delivery.event_id)
        elif delivery.attempts > len(schedule):
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.next_attempt_at = None
            _one_less_pending(delivery.event_id)
        else:
            retry_in = int(schedule[delivery.attempts - 1])
            delivery.next_attempt_at = timezone.now() + datetime.timedelta(seconds=retry_in)
        delivery.save(update_fields=["attempts", "claimed_at", "status", "next_attempt_at"])
    return retry_in


def _one_less_pending(event_id: str) -> None:
    event = store.locked(type="event", object_id=event_id)
    event.data["pending_webhooks"] = max(0, event.data["pending_webhooks"] - 1)
    store.save(event)


def delivery_enqueue(*, delivery_id: int, countdown: int | None = None) -> None:
    """Hand a delivery to Celery; if the broker is down the row stays pending for the tick's sweep."""
    from sandbox import tasks as delivery_task

    try:
        delivery_task.deliver_event.apply_async(args=[delivery_id], countdown=countdown)
    except Exception:  # the broker's errors vary by transport; the outbox row is the source of truth
        logger.exception("Could not queue webhook delivery %s; the sandbox tick will retry it.", delivery_id)


def deliver_now(*, event_id: str, budget: float | None = None) -> None:
    """Deliver one event synchronously (the hosted page waits for ``checkout.session.completed``).

    Call only after the event's transaction has committed; never inside one. Failed attempts are
    handed to the Celery task with the back-off delay.
    """
    deadline = time.monotonic() + (budget or webhook_timeout())
    for delivery_id in WebhookDelivery.objects.filter(
        event_id=event_id, status=WebhookDelivery.Status.PENDING
    ).values_list("pk", flat=True):
        remaining = max(0.5, deadline - time.monotonic())
        retry_in = delivery_attempt(delivery_id=delivery_id, timeout=remaining)
        if retry_in is not None:
            delivery_enqueue(delivery_id=delivery_id, countdown=retry_in)


def delivery_resend(*, delivery_id: int) -> None:
    """Resend from the sandbox page: back to pending and queued now (a new attempt is recorded)."""
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        status=WebhookDelivery.Status.PENDING, claimed_at=None, next_attempt_at=None
    )
    transaction.on_commit(lambda: delivery_enqueue(delivery_id=delivery_id))


# A delivery untouched this long was lost (a crash between commit and enqueue, a lost task).
LOST_AFTER = datetime.timedelta(minutes=2)


def deliveries_requeue_lost() -> int:
    """Queue again pending deliveries that nobody is sending and whose time has passed (the outbox sweep)."""
    cutoff = timezone.now() - LOST_AFTER
    lost = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PENDING, claimed_at__isnull=True
    ).filter(Q(next_attempt_at__isnull=True, created_at__lt=cutoff) | Q(next_attempt_at__lt=cutoff))
    ids = list(lost.values_list("pk", flat=True))
    for delivery_id in ids:
        delivery_enqueue(delivery_id=delivery_id)
    return len(ids)
