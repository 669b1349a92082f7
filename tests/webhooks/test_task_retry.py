"""A task retried after the database went away takes over its own claim (found by
tests/integration/test_faults.py, PostgreSQL stopped while the worker processes)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from links.models import Order
from tests.webhooks.conftest import store
from webhooks.models import WebhookEvent
from webhooks.tasks import process_webhook_event

pytestmark = pytest.mark.django_db


def _run(event_id: int, *, retries: int) -> str | None:
    process_webhook_event.push_request(args=[event_id], retries=retries, delivery_info={"redelivered": False})
    try:
        return process_webhook_event.run(event_id)
    finally:
        process_webhook_event.pop_request()


def _claimed_by_a_failed_attempt(stripe_session) -> WebhookEvent:
    # The first attempt claimed the event, then lost the database: it could not mark the event failed.
    session = stripe_session()
    return store(
        obj={"id": session["id"]},
        status=WebhookEvent.Status.PROCESSING,
        attempts=1,
        next_attempt_at=timezone.now() + timedelta(minutes=2),
    )


def test_a_retry_takes_over_the_claim_its_failed_attempt_left(stripe_session):
    event = _claimed_by_a_failed_attempt(stripe_session)
    assert _run(event.id, retries=1) == WebhookEvent.Status.PROCESSED
    assert Order.objects.count() == 1
    event.refresh_from_db()
    assert (event.status, event.attempts) == (WebhookEvent.Status.PROCESSED, 2)


def test_a_first_attempt_still_leaves_a_live_claim_alone(stripe_session):
    event = _claimed_by_a_failed_attempt(stripe_session)
    assert _run(event.id, retries=0) is None
    assert not Order.objects.exists()


def test_a_retry_never_processes_a_finished_event_again(stripe_session):
    event = _claimed_by_a_failed_attempt(stripe_session)
    WebhookEvent.objects.filter(id=event.id).update(
        status=WebhookEvent.Status.PROCESSED, next_attempt_at=None
    )
    assert _run(event.id, retries=3) is None
    assert not Order.objects.exists()
