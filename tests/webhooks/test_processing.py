"""Processing stored events: the claim, dispatch, failure with back-off, the requeuer and replay."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.core.cache import cache
from django.utils import timezone

from catalog.models import Product
from links import fulfilment
from links.models import Order, OutboundEmail
from tests.webhooks.conftest import store
from webhooks import processing
from webhooks.models import WebhookEvent
from webhooks.tasks import process_webhook_event, requeue_stuck_events

pytestmark = pytest.mark.django_db


def test_unknown_type_is_ignored():
    event = store("charge.succeeded", {"id": "ch_1"})
    assert process_webhook_event(event.id) == WebhookEvent.Status.IGNORED
    event.refresh_from_db()
    assert (event.status, event.attempts) == (WebhookEvent.Status.IGNORED, 1)


def test_completed_event_creates_the_order(stripe_session, django_capture_on_commit_callbacks):
    session = stripe_session()
    event = store(obj={"id": session["id"], "object": "checkout.session"})
    with django_capture_on_commit_callbacks():
        assert process_webhook_event(event.id) == WebhookEvent.Status.PROCESSED
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert event.processed_at is not None
    assert Order.objects.get().checkout_session_id == session["id"]


def test_processing_twice_does_nothing_the_second_time(stripe_session):
    session = stripe_session()
    event = store(obj={"id": session["id"]})
    process_webhook_event(event.id)
    assert process_webhook_event(event.id) is None
    event.refresh_from_db()
    assert event.attempts == 1


def test_claimed_event_is_not_claimed_again():
    event = store()
    assert processing.webhook_event_claim(event_id=event.id)
    assert not processing.webhook_event_claim(event_id=event.id)


def test_claim_after_a_lease_ran_out_returns_the_event_and_loads_its_payload_when_read():
    event = store(
        "product.updated",
        {"id": "prod_1", "name": "Mug"},
        status=WebhookEvent.Status.PROCESSING,
        attempts=1,
        next_attempt_at=timezone.now() - timedelta(seconds=1),
    )

    claimed = processing.webhook_event_claim(event_id=event.id)

    assert (claimed.id, claimed.stripe_event_id, claimed.type, claimed.object_id) == (
        event.id,
        event.stripe_event_id,
        "product.updated",
        event.object_id,
    )
    assert "payload" in claimed.get_deferred_fields()
    assert claimed.payload["data"]["object"]["name"] == "Mug"
    event.refresh_from_db()
    assert (event.status, event.attempts) == (WebhookEvent.Status.PROCESSING, 2)
    assert event.next_attempt_at > timezone.now() + processing.PROCESSING_LEASE - timedelta(seconds=5)


def test_failed_event_out_of_attempts_is_not_claimed():
    event = store(status=WebhookEvent.Status.FAILED, attempts=processing.MAX_ATTEMPTS, next_attempt_at=None)

    assert processing.webhook_event_claim(event_id=event.id) is None
    assert processing.webhook_event_claim(event_id=event.id, take_over=True) is None


def test_events_in_any_order_give_one_order_and_one_email(stripe_session, django_capture_on_commit_callbacks):
    session = stripe_session()
    succeeded = store("checkout.session.async_payment_succeeded", {"id": session["id"]})
    completed = store("checkout.session.completed", {"id": session["id"]})
    with django_capture_on_commit_callbacks():
        process_webhook_event(succeeded.id)
        process_webhook_event(completed.id)
    assert Order.objects.count() == 1
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.ORDER_CONFIRMATION).count() == 1


def test_handler_error_marks_failed_with_back_off(monkeypatch):
    def boom(*, session_id):
        raise RuntimeError("Stripe said no")

    monkeypatch.setattr("links.fulfilment.checkout_session_fetch", boom)
    event = store()
    with pytest.raises(RuntimeError):
        process_webhook_event(event.id)
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.FAILED
    assert "Stripe said no" in event.last_error
    assert event.next_attempt_at > timezone.now() + timedelta(seconds=20)


def test_an_error_after_the_order_is_committed_is_retried_without_a_second_order_or_email(
    stripe_session, monkeypatch, django_capture_on_commit_callbacks
):
    """The order's transaction commits before the handler ends: a failure after it leaves the order and
    its e-mail row, the event failed, and the retry finds them instead of recording them again."""

    def boom(*, order, session):
        raise RuntimeError("after the order")

    original = fulfilment._invoice_email_if_paid
    monkeypatch.setattr(fulfilment, "_invoice_email_if_paid", boom)
    session = stripe_session()
    event = store(obj={"id": session["id"]})
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        process_webhook_event(event.id)
    event.refresh_from_db()
    assert (event.status, event.last_error) == (WebhookEvent.Status.FAILED, "RuntimeError: after the order")
    assert Order.objects.count() == 1

    # The retry, once its back-off has passed.
    monkeypatch.setattr(fulfilment, "_invoice_email_if_paid", original)
    WebhookEvent.objects.filter(id=event.id).update(next_attempt_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert process_webhook_event(event.id) == WebhookEvent.Status.PROCESSED
    assert Order.objects.get().checkout_session_id == session["id"]
    email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.ORDER_CONFIRMATION)
    assert (email.status, email.attempts) == (OutboundEmail.Status.SENT, 1)


def test_retry_limit_leaves_the_event_failed(monkeypatch):
    monkeypatch.setattr(
        "links.fulfilment.checkout_session_fetch", mock.Mock(side_effect=RuntimeError("down"))
    )
    event = store(attempts=processing.MAX_ATTEMPTS - 1)
    with pytest.raises(RuntimeError):
        process_webhook_event(event.id)
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.FAILED
    assert event.next_attempt_at is None
    # Neither a late task nor the requeuer picks it up again.
    assert process_webhook_event(event.id) is None
    assert processing.webhook_events_requeue() == 0


def test_back_off_doubles():
    assert processing.retry_delay(1) == timedelta(seconds=30)
    assert processing.retry_delay(2) == timedelta(seconds=60)
    assert processing.retry_delay(30) == processing.RETRY_MAX


def test_requeue_picks_due_events_once():
    past = timezone.now() - timedelta(seconds=1)
    due = store(next_attempt_at=past)
    failed = store(status=WebhookEvent.Status.FAILED, attempts=2, next_attempt_at=past)
    store(next_attempt_at=timezone.now() + timedelta(minutes=1))
    store(status=WebhookEvent.Status.PROCESSED)
    with (
        mock.patch("webhooks.tasks.process_webhook_event.delay") as delay,
        mock.patch("links.tasks.reconcile_checkout_sessions.delay") as reconcile,
    ):
        cache.delete("webhooks:reconcile-gate")
        assert requeue_stuck_events()["events"] == 2
        assert sorted(c.args[0] for c in delay.call_args_list) == sorted([due.id, failed.id])
        # Pushed back: the next beat tick does not enqueue them again.
        assert requeue_stuck_events()["events"] == 0
    # The reconciler rides along, at most once per interval.
    assert reconcile.call_count == 1


def test_requeue_takes_over_events_whose_worker_died():
    event = store(
        status=WebhookEvent.Status.PROCESSING,
        attempts=1,
        next_attempt_at=timezone.now() - timedelta(seconds=1),
    )
    with mock.patch("webhooks.tasks.process_webhook_event.delay") as delay:
        assert processing.webhook_events_requeue() == 1
    delay.assert_called_once_with(event.id)
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.FAILED
    assert processing.webhook_event_claim(event_id=event.id)


def test_live_processing_lease_is_respected():
    event = store(
        status=WebhookEvent.Status.PROCESSING,
        attempts=1,
        next_attempt_at=timezone.now() + timedelta(minutes=1),
    )
    assert not processing.webhook_event_claim(event_id=event.id)
    with mock.patch("webhooks.tasks.process_webhook_event.delay"):
        assert processing.webhook_events_requeue() == 0


def test_replay_processes_again(stripe_session, django_capture_on_commit_callbacks):
    session = stripe_session()
    event = store(obj={"id": session["id"]})
    process_webhook_event(event.id)
    with mock.patch("webhooks.tasks.process_webhook_event.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            processing.webhook_event_replay(event=event)
    delay.assert_called_once_with(event.id)
    assert process_webhook_event(event.id) == WebhookEvent.Status.PROCESSED
    assert Order.objects.count() == 1


def test_catalog_event_newest_wins():
    product = Product.objects.create(stripe_id="prod_1", name="Old")
    newer = store(
        "product.updated", {"id": "prod_1", "object": "product", "name": "Newer", "active": True}, created=200
    )
    older = store(
        "product.updated", {"id": "prod_1", "object": "product", "name": "Older", "active": True}, created=100
    )
    process_webhook_event(newer.id)
    process_webhook_event(older.id)
    product.refresh_from_db()
    assert product.name == "Newer"
    assert product.stripe_event_created == 200


def test_catalog_event_for_unknown_object_creates_nothing():
    event = store("product.created", {"id": "prod_unknown", "object": "product", "name": "X"})
    assert process_webhook_event(event.id) == WebhookEvent.Status.PROCESSED
    assert not Product.objects.exists()


def test_redelivered_task_takes_over_a_dead_workers_event(stripe_session):
    session = stripe_session()
    event = store(
        obj={"id": session["id"]},
        status=WebhookEvent.Status.PROCESSING,
        attempts=1,
        next_attempt_at=timezone.now() + timedelta(minutes=2),
    )
    assert process_webhook_event(event.id) is None
    assert (
        processing.webhook_event_process(event_id=event.id, take_over=True) == WebhookEvent.Status.PROCESSED
    )
    assert Order.objects.count() == 1


def test_product_renamed_by_event_is_found_in_the_links_that_sell_it():
    from links import selectors
    from tests.links.factories import LineItemFactory

    item = LineItemFactory(price__product__stripe_id="prod_renamed", price__product__name="Poster")
    event = store(
        "product.updated",
        {"id": "prod_renamed", "object": "product", "name": "Canvas print", "active": True},
        created=300,
    )
    process_webhook_event(event.id)
    assert list(selectors.link_list(query="canvas")) == [item.payment_link]
    assert list(selectors.link_list(query="poster")) == []
