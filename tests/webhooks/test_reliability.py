"""Nothing lost, nothing doubled: concurrent deliveries, lost webhooks (the reconciler), expiry."""

from __future__ import annotations

import json
import threading

import pytest
import requests
from django.db import connections

from links.models import Order, PaymentLink
from links.tasks import reconcile_checkout_sessions
from tests.webhooks.conftest import TEST_SECRET, make_event, sign
from tests.webhooks.test_end_to_end import _pay
from webhooks.endpoints import webhook_endpoint_register
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.tasks import process_webhook_event


def _in_threads(n: int, target) -> list:
    results: list = [None] * n
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()
        try:
            results[i] = target()
        finally:
            # A thread's ORM connection is its own: left open, it outlives the test and keeps the test
            # database from being dropped at the end of the run.
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


@pytest.mark.django_db(transaction=True)
def test_the_same_event_delivered_concurrently_is_stored_once(live_server, settings):
    settings.STRIPE_WEBHOOK_SECRETS = [TEST_SECRET]
    body = json.dumps(make_event())

    def deliver():
        headers = {"Stripe-Signature": sign(body), "Content-Type": "application/json"}
        return requests.post(
            f"{live_server.url}/webhooks/stripe/", data=body, headers=headers, timeout=30
        ).status_code

    assert _in_threads(8, deliver) == [200] * 8
    assert WebhookEvent.objects.count() == 1
    assert WebhookDelivery.objects.count() == 8
    assert WebhookDelivery.objects.filter(result=WebhookDelivery.Result.ACCEPTED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_processing_of_one_session_gives_one_order(sandbox, stripe_client, settings):
    settings.STRIPE_WEBHOOK_SECRETS = []
    webhook_endpoint_register(url=f"{sandbox.base_url}/webhooks/stripe/")
    price = stripe_client.v1.prices.create(
        params={"product_data": {"name": "Tea"}, "currency": "eur", "unit_amount": 400}
    )
    stripe_link = stripe_client.v1.payment_links.create(
        params={"line_items": [{"price": price.id, "quantity": 1}]}
    )
    link = PaymentLink.objects.create(
        stripe_id=stripe_link.id, name="Tea", url=stripe_link.url, currency="eur"
    )
    _pay(sandbox, stripe_link.url, "t@example.com")
    completed = WebhookEvent.objects.get(type="checkout.session.completed")
    # The same session announced by three distinct events, processed at once by three workers.
    copies = [
        WebhookEvent.objects.create(
            stripe_event_id=f"{completed.stripe_event_id}_copy{i}",
            type=event_type,
            created=completed.created,
            payload=completed.payload,
            object_id=completed.object_id,
        )
        for i, event_type in enumerate(
            ["checkout.session.async_payment_succeeded", "checkout.session.completed"]
        )
    ]
    ids = [completed.id] + [c.id for c in copies]
    it = iter(ids)
    lock = threading.Lock()

    def work():
        with lock:
            event_id = next(it)
        try:
            return process_webhook_event(event_id)
        finally:
            from django.db import connection

            connection.close()

    assert _in_threads(3, work) == [WebhookEvent.Status.PROCESSED] * 3
    assert Order.objects.count() == 1
    assert Order.objects.get().emails.count() == 1
    link.refresh_from_db()
    assert (link.orders_count, link.revenue) == (1, 400)


@pytest.mark.django_db(transaction=True)
def test_reconciler_creates_orders_whose_webhook_never_came(sandbox, stripe_client):
    # No endpoint registered: the sandbox delivers nothing.
    price = stripe_client.v1.prices.create(
        params={"product_data": {"name": "Jam"}, "currency": "eur", "unit_amount": 700}
    )
    stripe_link = stripe_client.v1.payment_links.create(
        params={"line_items": [{"price": price.id, "quantity": 1}]}
    )
    PaymentLink.objects.create(stripe_id=stripe_link.id, name="Jam", url=stripe_link.url, currency="eur")
    _pay(sandbox, stripe_link.url, "jam@example.com")
    _pay(sandbox, stripe_link.url, "jam2@example.com")
    assert not WebhookEvent.objects.exists()

    assert reconcile_checkout_sessions() == 2
    assert sorted(Order.objects.values_list("customer_email", flat=True)) == [
        "jam2@example.com",
        "jam@example.com",
    ]
    assert reconcile_checkout_sessions() == 0
    assert Order.objects.count() == 2
