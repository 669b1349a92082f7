"""Webhook delivery: Stripe's signature, synchronous checkout.session.completed, retries with back-off."""

from __future__ import annotations

import json
import re

import pytest
import requests
import stripe

from sandbox import delivery, tasks
from sandbox.models import WebhookDelivery, WebhookDeliveryAttempt

CARD = {
    "card_number": "4242424242424242",
    "card_expiry": "12/34",
    "card_cvc": "123",
    "cardholder_name": "Ada",
}


def _endpoint(api, url: str, events: list[str]) -> dict:
    return api.ok("post", "webhook_endpoints", {"url": url, "enabled_events": events})


@pytest.mark.django_db
def test_checkout_completed_is_delivered_before_the_redirect(client, api, link, receiver):
    endpoint = _endpoint(api, receiver.url, ["checkout.session.completed"])
    response = client.post(link["url"].removeprefix("http://testserver"), {"email": "a@example.com", **CARD})
    assert response.status_code == 302
    assert [e["type"] for e in receiver.events()] == ["checkout.session.completed"]
    sent = receiver.requests[0]
    assert sent.headers["Content-Type"] == "application/json; charset=utf-8"
    assert sent.headers["User-Agent"] == "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", sent.headers["Stripe-Signature"])
    assert stripe.WebhookSignature.verify_header(
        sent.body, sent.headers["Stripe-Signature"], endpoint["secret"], 300
    )
    event = stripe.Webhook.construct_event(sent.body, sent.headers["Stripe-Signature"], endpoint["secret"])
    assert event.data.object.payment_status == "paid"
    row = WebhookDelivery.objects.get(event_id=event.id)
    assert row.status == WebhookDelivery.Status.SUCCEEDED
    assert row.attempt_rows.get().status_code == 200
    assert api.ok("get", f"events/{event.id}")["pending_webhooks"] == 0


@pytest.mark.django_db
def test_wrong_secret_fails_verification(client, api, link, receiver):
    _endpoint(api, receiver.url, ["*"])
    client.post(link["url"].removeprefix("http://testserver"), {"email": "a@example.com", **CARD})
    sent = receiver.requests[-1]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(sent.body, sent.headers["Stripe-Signature"], "whsec_wrong", 300)


@pytest.mark.django_db
def test_only_matching_enabled_endpoints_get_a_delivery(api, receiver, django_capture_on_commit_callbacks):
    _endpoint(api, receiver.url, ["product.created"])
    _endpoint(api, receiver.url, ["price.created"])
    disabled = _endpoint(api, receiver.url, ["*"])
    api.ok("post", f"webhook_endpoints/{disabled['id']}", {"disabled": True})
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        product = api.ok("post", "products", {"name": "Lamp"})
    rows = WebhookDelivery.objects.all()
    assert rows.count() == 1
    assert len(callbacks) == 1
    event = api.ok("get", "events", {"type": "product.created"})["data"][0]
    assert event["data"]["object"]["id"] == product["id"]
    assert event["pending_webhooks"] == 1


@pytest.mark.django_db
def test_other_events_go_through_the_task(api, receiver):
    _endpoint(api, receiver.url, ["product.created"])
    api.ok("post", "products", {"name": "Lamp"})
    row = WebhookDelivery.objects.get()
    tasks.deliver_event.apply(args=[row.pk])
    assert receiver.events()[0]["type"] == "product.created"
    row.refresh_from_db()
    assert row.status == WebhookDelivery.Status.SUCCEEDED


@pytest.mark.django_db
def test_failed_attempts_back_off_then_give_up(api, receiver, settings):
    settings.SANDBOX_WEBHOOK_RETRY_SCHEDULE = [5, 25]
    receiver.status = 500
    _endpoint(api, receiver.url, ["product.created"])
    api.ok("post", "products", {"name": "Lamp"})
    row = WebhookDelivery.objects.get()
    assert delivery.delivery_attempt(delivery_id=row.pk) == 5
    assert delivery.delivery_attempt(delivery_id=row.pk) == 25
    assert delivery.delivery_attempt(delivery_id=row.pk) is None
    row.refresh_from_db()
    assert row.status == WebhookDelivery.Status.FAILED
    assert row.attempts == 3
    assert [a.status_code for a in WebhookDeliveryAttempt.objects.filter(delivery=row)] == [500, 500, 500]
    assert len(receiver.requests) == 3


@pytest.mark.django_db
def test_retry_succeeds_after_the_endpoint_recovers(api, receiver, settings):
    settings.SANDBOX_WEBHOOK_RETRY_SCHEDULE = [1]
    receiver.status = 503
    _endpoint(api, receiver.url, ["product.created"])
    api.ok("post", "products", {"name": "Lamp"})
    row = WebhookDelivery.objects.get()
    assert delivery.delivery_attempt(delivery_id=row.pk) == 1
    receiver.status = 200
    assert delivery.delivery_attempt(delivery_id=row.pk) is None
    row.refresh_from_db()
    assert row.status == WebhookDelivery.Status.SUCCEEDED


@pytest.mark.django_db
def test_unreachable_endpoint_records_the_error(api, settings):
    settings.SANDBOX_WEBHOOK_TIMEOUT = 1
    _endpoint(api, "http://127.0.0.1:9/hook", ["product.created"])
    api.ok("post", "products", {"name": "Lamp"})
    row = WebhookDelivery.objects.get()
    assert delivery.delivery_attempt(delivery_id=row.pk) is not None
    attempt = row.attempt_rows.get()
    assert attempt.status_code is None
    assert "ConnectionError" in attempt.error


@pytest.mark.django_db
def test_a_claimed_delivery_is_not_sent_twice(api, receiver):
    _endpoint(api, receiver.url, ["product.created"])
    api.ok("post", "products", {"name": "Lamp"})
    row = WebhookDelivery.objects.get()
    assert delivery.delivery_attempt(delivery_id=row.pk) is None
    assert delivery.delivery_attempt(delivery_id=row.pk) is None
    assert len(receiver.requests) == 1


@pytest.mark.django_db(transaction=True)
def test_end_to_end_over_http_with_the_sdk(stripe_client, sandbox, receiver):
    """The dashboard's client creates the endpoint and link; a browser-like client pays on the live server."""
    endpoint = stripe_client.v1.webhook_endpoints.create(
        params={"url": receiver.url, "enabled_events": ["*"]}
    )
    price = stripe_client.v1.prices.create(
        params={"product_data": {"name": "Book"}, "currency": "eur", "unit_amount": 900}
    )
    link = stripe_client.v1.payment_links.create(params={"line_items": [{"price": price.id, "quantity": 1}]})
    browser = requests.Session()
    page = browser.get(link.url + "?client_reference_id=abc", timeout=10)
    assert page.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    paid = browser.post(
        sandbox.base_url + action,
        data={"csrfmiddlewaretoken": token, "email": "reader@example.com", **CARD},
        headers={"Referer": link.url},
        allow_redirects=False,
        timeout=15,
    )
    assert paid.status_code == 302
    completed = [r for r in receiver.requests if json.loads(r.body)["type"] == "checkout.session.completed"]
    assert len(completed) == 1
    event = stripe.Webhook.construct_event(
        completed[0].body, completed[0].headers["Stripe-Signature"], endpoint.secret
    )
    session = stripe_client.v1.checkout.sessions.retrieve(
        event.data.object.id, params={"expand": ["line_items"]}
    )
    assert session.status == "complete"
    assert session.client_reference_id == "abc"
    assert session.line_items.data[0].amount_total == 900


@pytest.mark.django_db
def test_tick_requeues_a_lost_delivery(api, receiver):
    import datetime

    from django.utils import timezone

    from sandbox.delivery import deliveries_requeue_lost

    _endpoint(api, receiver.url, ["product.created"])
    api.ok("post", "products", {"name": "Lamp"})
    assert deliveries_requeue_lost() == 0
    WebhookDelivery.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=5))
    assert deliveries_requeue_lost() == 1
