"""Subscriptions and invoices through the sandbox: every event, in any order, gives one order, one e-mail
of each kind, and the subscription's current status."""

from __future__ import annotations

import json

import pytest
import requests

from links.models import Order, OutboundEmail, PaymentLink
from tests.webhooks.conftest import sign
from tests.webhooks.test_end_to_end import _pay
from webhooks.endpoints import webhook_endpoint_register
from webhooks.handlers import HANDLERS
from webhooks.models import WebhookEvent
from webhooks.tasks import process_webhook_event


def _deliver_all_events(stripe_client, sandbox, secret: str) -> None:
    """Like ``stripe events resend``: post every event we handle, signed, to our endpoint.

    (In tests the sandbox's own delivery of non-checkout events waits in a broker nobody consumes.)
    """
    for event in stripe_client.v1.events.list(params={"limit": 100}).auto_paging_iter():
        if event.type not in HANDLERS:
            continue
        body = json.dumps(event.to_dict(for_json=True))
        response = requests.post(
            f"{sandbox.base_url}/webhooks/stripe/",
            data=body,
            headers={"Stripe-Signature": sign(body, secret), "Content-Type": "application/json"},
            timeout=20,
        )
        assert response.status_code == 200


def _process(events) -> None:
    for event in events:
        process_webhook_event(event.id)


def _coffee_club_link(stripe_client, *, quantity: int):
    """A payment link in Stripe for a monthly subscription at 12.00 EUR a unit."""
    price = stripe_client.v1.prices.create(
        params={
            "product_data": {"name": "Coffee club"},
            "currency": "eur",
            "unit_amount": 1200,
            "recurring": {"interval": "month"},
        }
    )
    return stripe_client.v1.payment_links.create(
        params={"line_items": [{"price": price.id, "quantity": quantity}]}
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("order_of_processing", ["received", "reversed"])
def test_subscription_link(sandbox, stripe_client, settings, order_of_processing):
    settings.STRIPE_WEBHOOK_SECRETS = []
    endpoint = webhook_endpoint_register(url=f"{sandbox.base_url}/webhooks/stripe/")
    stripe_link = _coffee_club_link(stripe_client, quantity=1)
    link = PaymentLink.objects.create(
        stripe_id=stripe_link.id, name="Club", url=stripe_link.url, currency="eur", is_recurring=True
    )
    WebhookEvent.objects.all().delete()
    _pay(sandbox, stripe_link.url, "member@example.com")
    WebhookEvent.objects.all().delete()
    _deliver_all_events(stripe_client, sandbox, endpoint.secret)

    events = list(WebhookEvent.objects.order_by("created", "id"))
    types = {event.type for event in events}
    assert {"checkout.session.completed", "customer.subscription.created", "invoice.paid"} <= types
    _process(reversed(events) if order_of_processing == "reversed" else events)
    # Everything twice more: duplicates and replays change nothing.
    WebhookEvent.objects.update(status=WebhookEvent.Status.PENDING)
    _process(events)

    order = Order.objects.get()
    assert order.payment_link == link
    assert order.status == Order.Status.PAID
    assert order.subscription_id.startswith("sub_")
    assert order.subscription_status in ("active", "trialing")
    assert order.invoice_id.startswith("in_")
    kinds = sorted(order.emails.values_list("kind", flat=True))
    assert kinds == sorted([OutboundEmail.Kind.ORDER_CONFIRMATION, OutboundEmail.Kind.INVOICE])
    link.refresh_from_db()
    assert (link.orders_count, link.revenue) == (1, 1200)


@pytest.mark.django_db(transaction=True)
def test_invoice_creation_in_payment_mode_sends_the_invoice_email(sandbox, stripe_client, settings):
    settings.STRIPE_WEBHOOK_SECRETS = []
    webhook_endpoint_register(url=f"{sandbox.base_url}/webhooks/stripe/")
    price = stripe_client.v1.prices.create(
        params={"product_data": {"name": "Desk"}, "currency": "eur", "unit_amount": 5000}
    )
    stripe_link = stripe_client.v1.payment_links.create(
        params={"line_items": [{"price": price.id, "quantity": 1}], "invoice_creation": {"enabled": True}}
    )
    _pay(sandbox, stripe_link.url, "desk@example.com")
    completed = WebhookEvent.objects.get(type="checkout.session.completed")
    process_webhook_event(completed.id)
    order = Order.objects.get()
    assert order.invoice_id.startswith("in_")
    email = order.emails.get(kind=OutboundEmail.Kind.INVOICE)

    from links.emails import outbound_email_message

    message = outbound_email_message(email=email)
    assert "/sandbox/invoices/" in message.body


@pytest.mark.django_db(transaction=True)
def test_each_renewal_sends_its_invoice_email_once(sandbox, stripe_client, settings, mailoutbox):
    settings.STRIPE_WEBHOOK_SECRETS = []
    endpoint = webhook_endpoint_register(url=f"{sandbox.base_url}/webhooks/stripe/")
    stripe_link = _coffee_club_link(stripe_client, quantity=2)
    _pay(sandbox, stripe_link.url, "member@example.com")
    WebhookEvent.objects.all().delete()
    _deliver_all_events(stripe_client, sandbox, endpoint.secret)
    _process(WebhookEvent.objects.order_by("created", "id"))
    order = Order.objects.get()
    first_invoice = order.invoice_id

    # A month and a day later the subscription has renewed: its invoice.paid reaches us.
    stripe_client.raw_request("post", "/v1/test_helpers/sandbox_clock/advance", seconds=32 * 24 * 3600)
    _deliver_all_events(stripe_client, sandbox, endpoint.secret)
    _process(WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING).order_by("created", "id"))
    # Every event again: nothing more is sent.
    WebhookEvent.objects.update(status=WebhookEvent.Status.PENDING)
    _process(WebhookEvent.objects.order_by("created", "id"))

    renewal = stripe_client.v1.subscriptions.retrieve(
        order.subscription_id, params={"expand": ["latest_invoice"]}
    )
    renewal_invoice = renewal.latest_invoice
    assert renewal_invoice.billing_reason == "subscription_cycle"
    invoice_emails = order.emails.filter(kind=OutboundEmail.Kind.INVOICE).order_by("id")
    assert list(invoice_emails.values_list("stripe_object_id", flat=True)) == [
        first_invoice,
        renewal_invoice.id,
    ]
    assert order.emails.filter(kind=OutboundEmail.Kind.ORDER_CONFIRMATION).count() == 1
    assert all(email.status == OutboundEmail.Status.SENT for email in invoice_emails)
    sent = [message for message in mailoutbox if renewal_invoice.number in message.body]
    assert len(sent) == 1
    assert sent[0].to == ["member@example.com"]
    assert "24.00" in sent[0].body  # the renewal's own amount: two at 12.00
    assert "It covers your subscription from" in sent[0].body
    assert renewal_invoice.hosted_invoice_url in sent[0].body
    order.refresh_from_db()
    assert order.invoice_id == first_invoice
