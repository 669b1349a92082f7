"""The tasks as Celery runs them: called directly (Celery's testing guide), with the request context a
worker would give them."""

from __future__ import annotations

from datetime import timedelta

import pytest
import stripe
from django.db import OperationalError
from django.utils import timezone

from links.models import Order
from tests.webhooks.conftest import store
from webhooks.models import WebhookEvent
from webhooks.tasks import TRANSIENT_ERRORS, process_webhook_event

pytestmark = pytest.mark.django_db


def test_transient_errors_are_retried_by_the_task():
    for error in (stripe.APIConnectionError, stripe.RateLimitError, OperationalError):
        assert issubclass(error, TRANSIENT_ERRORS)
    assert process_webhook_event.acks_late
    assert process_webhook_event.max_retries == 5


def test_a_redelivered_task_takes_over_its_dead_predecessors_claim(stripe_session):
    session = stripe_session()
    event = store(
        obj={"id": session["id"]},
        status=WebhookEvent.Status.PROCESSING,
        attempts=1,
        next_attempt_at=timezone.now() + timedelta(minutes=2),
    )
    process_webhook_event.push_request(args=[event.id], delivery_info={"redelivered": True})
    try:
        assert process_webhook_event.run(event.id) == WebhookEvent.Status.PROCESSED
    finally:
        process_webhook_event.pop_request()
    assert Order.objects.count() == 1


def test_a_first_delivery_leaves_a_live_claim_alone(stripe_session):
    session = stripe_session()
    event = store(
        obj={"id": session["id"]},
        status=WebhookEvent.Status.PROCESSING,
        attempts=1,
        next_attempt_at=timezone.now() + timedelta(minutes=2),
    )
    process_webhook_event.push_request(args=[event.id], delivery_info={"redelivered": False})
    try:
        assert process_webhook_event.run(event.id) is None
    finally:
        process_webhook_event.pop_request()
    assert not Order.objects.exists()
