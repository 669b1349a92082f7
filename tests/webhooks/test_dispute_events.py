"""Disputes end to end against the sandbox: Stripe's test card 4000 0000 0000 0259 is disputed after the
payment; its ``charge.dispute.*`` events reach the app's endpoint, are re-fetched and applied once, whatever
their order or repetition; staff are told once; the evidence (or closing it) decides won or lost."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from links import fulfilment
from links.models import Dispute, Order, OrderStatusChange, OutboundEmail, PaymentLink
from sandbox import delivery
from tests.links.test_link_parameters_end_to_end import CARD, paid, visit
from webhooks.endpoints import webhook_endpoint_register
from webhooks.handlers import HANDLERS
from webhooks.models import WebhookEvent
from webhooks.tasks import process_webhook_event

pytestmark = pytest.mark.django_db(transaction=True)
DISPUTED_CARD = {**CARD, "card_number": "4000000000000259"}
Action = OrderStatusChange.Action


def text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def deliver(stripe_client, event_type: str) -> list[WebhookEvent]:
    for event in stripe_client.v1.events.list(params={"type": event_type}).data:
        delivery.deliver_now(event_id=event.id)
    return list(WebhookEvent.objects.filter(type=event_type))


def tick(stripe_client) -> None:
    """The sandbox's next tick, which opens the test card's dispute."""
    stripe_client.raw_request("post", "/v1/test_helpers/sandbox_clock/advance", seconds=1)


@pytest.fixture
def disputed(sandbox, stripe_client, settings):
    """A paid order of 40.00 EUR on a dashboard link, its payment disputed by the card's bank."""
    settings.STRIPE_WEBHOOK_SECRETS = []
    settings.PAYLINKS_STAFF_EMAIL = "staff@example.com"
    webhook_endpoint_register(url=f"{sandbox.base_url}/webhooks/stripe/")
    price = stripe_client.v1.prices.create(
        params={"product_data": {"name": "Lamp"}, "currency": "eur", "unit_amount": 4000}
    )
    stripe_link = stripe_client.v1.payment_links.create(
        params={"line_items": [{"price": price.id, "quantity": 1}]}
    )
    PaymentLink.objects.create(stripe_id=stripe_link.id, name="Lamps", url=stripe_link.url, currency="eur")
    customer = visit(sandbox, stripe_link)
    paid(customer.submit(DISPUTED_CARD))
    order = fulfilment.checkout_session_fulfil(session_id=customer.session_id, actor="test")
    assert order.status == Order.Status.PAID and PaymentLink.objects.get().revenue == 4000
    tick(stripe_client)
    [dispute] = stripe_client.v1.disputes.list(params={"payment_intent": order.payment_intent_id}).data
    return order, dispute


def test_a_disputed_payment_marks_its_order_and_tells_staff_once(disputed, stripe_client, staff_client):
    order, dispute = disputed
    [created] = deliver(stripe_client, "charge.dispute.created")
    process_webhook_event(created.id)
    HANDLERS[created.type](created)  # a retried delivery
    row = Dispute.objects.get()
    assert (row.stripe_id, row.order_id, row.amount, row.reason, row.status) == (
        dispute.id,
        order.id,
        4000,
        "fraudulent",
        "needs_response",
    )
    assert int(row.evidence_due_by.timestamp()) == dispute.evidence_details.due_by
    assert order.status_changes.filter(action=Action.DISPUTE_OPENED).count() == 1
    [email] = OutboundEmail.objects.filter(kind=OutboundEmail.Kind.DISPUTE_OPENED)
    assert (email.to, email.stripe_object_id) == ("staff@example.com", dispute.id)
    page = text(staff_client.get(reverse("orders:detail", args=[order.public_id])))
    assert "Dispute Disputed Disputed amount 40.00 EUR" in page
    assert "Reason Fraudulent: the cardholder did not make the payment" in page
    assert "Evidence due by" in page
    assert PaymentLink.objects.get().revenue == 4000


def test_a_lost_dispute_counts_against_revenue_once_whatever_the_order_of_its_events(disputed, stripe_client):
    order, dispute = disputed
    stripe_client.v1.disputes.update(
        dispute.id, params={"evidence": {"uncategorized_text": "losing_evidence"}}
    )
    created = deliver(stripe_client, "charge.dispute.created")
    updated = deliver(stripe_client, "charge.dispute.updated")
    closed = deliver(stripe_client, "charge.dispute.closed")
    assert created and closed
    # Closed first, then the older ones, then all again.
    for event in [*closed, *updated, *created]:
        process_webhook_event(event.id)
    for event in [*created, *updated, *closed]:
        HANDLERS[event.type](event)
    row = Dispute.objects.get()
    assert row.status == "lost" and row.closed_at is not None
    assert order.status_changes.filter(action=Action.DISPUTE_OPENED).count() == 1
    [entry] = order.status_changes.filter(action=Action.DISPUTE_CLOSED)
    assert (entry.amount, entry.note) == (4000, "lost")
    assert PaymentLink.objects.get().revenue == 0
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.DISPUTE_OPENED).count() == 1


def test_a_won_dispute_leaves_revenue_as_it_was(disputed, stripe_client, staff_client):
    order, dispute = disputed
    stripe_client.v1.disputes.update(
        dispute.id, params={"evidence": {"uncategorized_text": "winning_evidence"}}
    )
    for event in deliver(stripe_client, "charge.dispute.closed"):
        process_webhook_event(event.id)
    row = Dispute.objects.get()
    assert (row.status, row.amount) == ("won", 4000)
    assert PaymentLink.objects.get().revenue == 4000
    assert "Dispute won" in text(staff_client.get(reverse("orders:detail", args=[order.public_id])))


def test_closing_a_dispute_in_stripe_loses_it(disputed, stripe_client):
    order, dispute = disputed
    stripe_client.v1.disputes.close(dispute.id)
    for event in deliver(stripe_client, "charge.dispute.closed"):
        process_webhook_event(event.id)
    assert Dispute.objects.get().status == "lost"
    assert PaymentLink.objects.get().revenue == 0


def test_a_dispute_event_before_the_order_is_recorded_records_it_first(disputed, stripe_client):
    order, _dispute = disputed
    Order.objects.all().delete()  # as if the session's completion were still queued
    PaymentLink.objects.update(revenue=0, orders_count=0)
    for event in deliver(stripe_client, "charge.dispute.created"):
        process_webhook_event(event.id)
    order = Order.objects.get()
    assert order.status == Order.Status.PAID
    assert order.disputes.get().status == "needs_response"
