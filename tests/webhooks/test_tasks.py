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
from webhooks.tasks import RETRY_SOON, TRANSIENT_ERRORS, process_webhook_event, process_webhook_events

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


def _run_batch(event_ids: list[int], *, redelivered: bool = False) -> None:
    process_webhook_events.push_request(args=[event_ids], delivery_info={"redelivered": redelivered})
    try:
        process_webhook_events.run(event_ids)
    finally:
        process_webhook_events.pop_request()


def test_a_batch_processes_each_of_its_events(stripe_session):
    events = [store(obj={"id": stripe_session()["id"]}) for _ in range(3)]
    _run_batch([event.id for event in events])
    assert Order.objects.count() == 3
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {WebhookEvent.Status.PROCESSED}


def test_an_event_of_a_batch_that_meets_a_transient_error_is_retried_alone(stripe_session, monkeypatch):
    first, second, third = (store(obj={"id": stripe_session()["id"]}) for _ in range(3))
    from links import fulfilment

    fetch = fulfilment.checkout_session_fetch

    def flaky(*, session_id):
        if session_id == second.object_id:
            raise stripe.APIConnectionError("network down")
        return fetch(session_id=session_id)

    monkeypatch.setattr("links.fulfilment.checkout_session_fetch", flaky)
    handed_over = []
    monkeypatch.setattr(
        process_webhook_event,
        "apply_async",
        lambda args, kwargs, countdown: handed_over.append((args, kwargs, countdown)),
    )
    _run_batch([first.id, second.id, third.id])
    assert handed_over == [((second.id,), {"take_over": True}, RETRY_SOON)]
    statuses = dict(WebhookEvent.objects.values_list("id", "status"))
    assert statuses == {
        first.id: WebhookEvent.Status.PROCESSED,
        second.id: WebhookEvent.Status.FAILED,
        third.id: WebhookEvent.Status.PROCESSED,
    }
    # The single-event task, sent with take_over, finishes it once the network is back.
    monkeypatch.setattr("links.fulfilment.checkout_session_fetch", fetch)
    assert process_webhook_event.run(second.id, take_over=True) == WebhookEvent.Status.PROCESSED
    assert Order.objects.count() == 3


def test_a_redelivered_batch_takes_over_the_event_its_dead_worker_held(stripe_session):
    done = store(obj={"id": stripe_session()["id"]}, status=WebhookEvent.Status.PROCESSED)
    held = store(
        obj={"id": stripe_session()["id"]},
        status=WebhookEvent.Status.PROCESSING,
        attempts=1,
        next_attempt_at=timezone.now() + timedelta(minutes=2),
    )
    waiting = store(obj={"id": stripe_session()["id"]})
    _run_batch([done.id, held.id, waiting.id], redelivered=True)
    # The finished event is not processed again; the other two are.
    assert Order.objects.count() == 2
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {WebhookEvent.Status.PROCESSED}


def test_an_event_of_a_batch_that_fails_is_left_failed_for_the_requeue_and_the_others_go_on(
    stripe_session, monkeypatch, caplog
):
    first, second = (store(obj={"id": stripe_session()["id"]}) for _ in range(2))
    from links import fulfilment

    fetch = fulfilment.checkout_session_fetch

    def broken_for_the_first(*, session_id):
        if session_id == first.object_id:
            raise ValueError("a handler bug")
        return fetch(session_id=session_id)

    monkeypatch.setattr("links.fulfilment.checkout_session_fetch", broken_for_the_first)
    _run_batch([first.id, second.id])
    first.refresh_from_db()
    # Failed with its next attempt set, which is what the requeue task looks for.
    assert first.status == WebhookEvent.Status.FAILED and first.next_attempt_at
    assert "a handler bug" in first.last_error
    assert f"Webhook event {first.id} failed in a batch" in caplog.text
    assert WebhookEvent.objects.get(id=second.id).status == WebhookEvent.Status.PROCESSED
    assert Order.objects.count() == 1
