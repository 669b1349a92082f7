"""Disputes on the order: a dispute as Stripe's API returns it (``dispute_record``, what the
``charge.dispute.*`` handlers apply after re-fetching it) marks the order's payment, paid through the
sandbox, with the amount, the reason in words and the evidence due date, tells staff once, and a lost one
counts against revenue, once, whatever the number or order of the updates."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.urls import reverse

from links import disputes, fulfilment
from links.emails import outbound_email_send
from links.models import Dispute, Order, OrderStatusChange, OutboundEmail, PaymentLink
from tests.links.test_link_parameters_end_to_end import CARD, paid, visit

pytestmark = pytest.mark.django_db(transaction=True)
Action = OrderStatusChange.Action
DUE_BY = 1_900_000_000  # 2030-03-17 17:46:40 UTC


def text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


@pytest.fixture
def order(sandbox, stripe_client, settings) -> Order:
    """A paid order of 40.00 EUR on a dashboard link (its revenue counted)."""
    settings.PAYLINKS_STAFF_EMAIL = "staff@example.com"
    price = stripe_client.v1.prices.create(
        params={"product_data": {"name": "Lamp"}, "currency": "eur", "unit_amount": 4000}
    )
    stripe_link = stripe_client.v1.payment_links.create(
        params={"line_items": [{"price": price.id, "quantity": 1}]}
    )
    PaymentLink.objects.create(stripe_id=stripe_link.id, name="Lamps", url=stripe_link.url, currency="eur")
    customer = visit(sandbox, stripe_link)
    paid(customer.submit(CARD))
    order = fulfilment.checkout_session_fulfil(session_id=customer.session_id, actor="test")
    assert order.status == Order.Status.PAID and PaymentLink.objects.get().revenue == 4000
    return order


def stripe_dispute(order: Order, stripe_client, **fields) -> dict:
    """A dispute of the order's charge, with Stripe's keys."""
    intent = stripe_client.v1.payment_intents.retrieve(order.payment_intent_id)
    return {
        "id": "dp_test_lamp",
        "object": "dispute",
        "amount": 4000,
        "currency": "eur",
        "charge": intent.latest_charge,
        "payment_intent": order.payment_intent_id,
        "reason": "fraudulent",
        "status": "needs_response",
        "evidence_details": {
            "due_by": DUE_BY,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "created": 1_890_000_000,
        "livemode": False,
        "metadata": {},
        **fields,
    }


def test_an_opened_dispute_marks_the_order_and_tells_staff_once(order, stripe_client, staff_client):
    dispute = stripe_dispute(order, stripe_client)
    for _ in range(3):  # retried deliveries, and created then updated with the same state
        row = disputes.dispute_record(dispute=dispute, actor="charge.dispute.created evt_1")
    assert Dispute.objects.count() == 1
    assert (row.amount, row.reason, row.status) == (4000, "fraudulent", "needs_response")
    assert row.evidence_due_by == datetime.fromtimestamp(DUE_BY, tz=UTC)
    assert order.status_changes.filter(action=Action.DISPUTE_OPENED).count() == 1

    [email] = OutboundEmail.objects.filter(kind=OutboundEmail.Kind.DISPUTE_OPENED)
    assert (email.to, email.stripe_object_id) == ("staff@example.com", "dp_test_lamp")
    outbound_email_send(email_id=email.id)
    outbound_email_send(email_id=email.id)
    [message] = mail.outbox
    assert "Payment disputed" in message.subject
    assert "Fraudulent: the cardholder did not make the payment" in message.body
    assert "40.00 EUR" in message.body

    page = text(staff_client.get(reverse("orders:detail", args=[order.public_id])))
    assert "Dispute Disputed" in page
    assert "Disputed amount 40.00 EUR" in page
    assert "Reason Fraudulent: the cardholder did not make the payment" in page
    assert "Evidence due by" in page
    assert "Dispute opened 40.00 EUR · Fraudulent: the cardholder did not make the payment" in page
    # Open: revenue is unchanged.
    assert PaymentLink.objects.get().revenue == 4000
    assert "Disputed" in text(staff_client.get(reverse("orders:list")))


def test_a_lost_dispute_counts_against_revenue_once(order, stripe_client, staff_client):
    disputes.dispute_record(dispute=stripe_dispute(order, stripe_client), actor="created")
    disputes.dispute_record(
        dispute=stripe_dispute(order, stripe_client, status="under_review"), actor="updated"
    )
    assert Dispute.objects.get().status == "under_review"
    lost = stripe_dispute(order, stripe_client, status="lost")
    disputes.dispute_record(dispute=lost, actor="closed")
    disputes.dispute_record(dispute=lost, actor="closed again")
    # An older fetch arriving late does not reopen it.
    disputes.dispute_record(dispute=stripe_dispute(order, stripe_client, status="under_review"), actor="late")
    row = Dispute.objects.get()
    assert (row.status, row.is_closed) == ("lost", True) and row.closed_at is not None
    [closed] = order.status_changes.filter(action=Action.DISPUTE_CLOSED)
    assert (closed.amount, closed.note, closed.actor) == (4000, "lost", "closed")
    assert PaymentLink.objects.get().revenue == 0
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.DISPUTE_OPENED).count() == 1
    page = text(staff_client.get(reverse("orders:detail", args=[order.public_id])))
    assert "Dispute lost" in page and "it no longer counts in revenue" in page
    assert "Dispute closed 40.00 EUR · Lost" in page


def test_a_won_dispute_leaves_revenue_as_it_was(order, stripe_client, staff_client):
    disputes.dispute_record(dispute=stripe_dispute(order, stripe_client, status="won"), actor="closed")
    assert PaymentLink.objects.get().revenue == 4000
    assert Dispute.objects.get().closed_at is not None
    assert order.status_changes.filter(action=Action.DISPUTE_OPENED).count() == 1
    assert order.status_changes.filter(action=Action.DISPUTE_CLOSED).count() == 1
    assert "Dispute won" in text(staff_client.get(reverse("orders:detail", args=[order.public_id])))
    assert "Disputed" not in text(staff_client.get(reverse("orders:list")))  # closed: no badge in the list


def test_a_dispute_of_a_payment_without_an_order_is_left_alone(order, stripe_client):
    assert (
        disputes.dispute_record(
            dispute=stripe_dispute(order, stripe_client, payment_intent="pi_other"), actor="x"
        )
        is None
    )
    assert not Dispute.objects.exists()


def test_an_open_dispute_takes_the_refund_button_away_and_says_why(order, stripe_client, staff_client):
    detail = reverse("orders:detail", args=[order.public_id])
    assert "Refund…" in text(staff_client.get(detail))

    disputes.dispute_record(
        dispute=stripe_dispute(order, stripe_client), actor="charge.dispute.created evt_1"
    )
    page = text(staff_client.get(detail))
    assert "Refund…" not in page
    assert "This payment is disputed: Stripe refuses a refund while the dispute is open." in page
    # A POST of its own is refused with the same words, before any call to Stripe.
    response = staff_client.post(
        reverse("orders:refund", args=[order.public_id]), {"amount": "10", "confirm": "on"}, follow=True
    )
    assert "This payment is disputed" in text(response)
    assert not order.refunds.exists()

    # Once it is closed (won), the refund is offered again.
    disputes.dispute_record(
        dispute=stripe_dispute(order, stripe_client, status="won"), actor="charge.dispute.closed evt_2"
    )
    assert "Refund…" in text(staff_client.get(detail))


def test_the_order_page_heading_says_disputed_while_the_dispute_is_open(order, stripe_client, staff_client):
    detail = reverse("orders:detail", args=[order.public_id])

    def heading_states() -> str:
        html = staff_client.get(detail).content.decode()
        start = html.index('id="payment-state"')
        return " ".join(html[start : html.index("</span>", html.index("</span>", start) + 1)].split())

    assert "Disputed" not in heading_states()
    disputes.dispute_record(
        dispute=stripe_dispute(order, stripe_client), actor="charge.dispute.created evt_1"
    )
    assert "Disputed" in heading_states()
    disputes.dispute_record(
        dispute=stripe_dispute(order, stripe_client, status="won"), actor="charge.dispute.closed evt_2"
    )
    assert "Disputed" not in heading_states()
