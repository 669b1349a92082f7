"""Refunds asked for by staff (links.refunds.order_refund) against the sandbox over HTTP, and their
recording: counted once in the revenue, the order's amounts and history, the customer's e-mail."""

from __future__ import annotations

import time

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from links import refunds
from links.daily_revenue import daily_revenue_rebuild, shop_daily_net, shop_day
from links.models import Order, OrderStatusChange, OutboundEmail, PaymentLink, Refund
from links.tasks import send_outbound_email
from links.totals import link_totals, link_totals_rebuild
from tests.links.payments import paid_order

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN, OTHER_TOKEN = "a" * 32, "b" * 32


@pytest.fixture
def order(sandbox, stripe_client) -> Order:
    return paid_order(sandbox, stripe_client)  # 2 × 9.00 EUR


def _paid_total(currency="eur") -> int:
    return next(row["total"] for row in link_totals()["orders_paid"] if row["currency"] == currency)


def _refund(order, staff_user, amount, *, token=TOKEN, reason="requested_by_customer", note=""):
    return refunds.order_refund(
        order=order, amount=amount, reason=reason, note=note, user=staff_user, request_token=token
    )


def test_partial_then_full_refund_is_counted_once_each(order, staff_user, stripe_client):
    first = _refund(order, staff_user, 500, note="Scratched cover")
    assert (first.status, first.amount, first.currency, first.reason) == (
        "succeeded",
        500,
        "eur",
        "requested_by_customer",
    )
    assert (first.requested_by, first.note, first.counted_amount) == (staff_user, "Scratched cover", 500)
    assert first.stripe_created is not None
    order.refresh_from_db()
    assert (order.amount_refunded, order.amount_net, order.is_fully_refunded) == (500, 1300, False)
    link = PaymentLink.objects.get()
    assert link.revenue == 1300
    assert _paid_total() == 1300
    # Stripe agrees: the charge has 500 refunded.
    charge = stripe_client.v1.charges.retrieve(stripe_client.v1.refunds.retrieve(first.stripe_id).charge)
    assert charge.amount_refunded == 500

    assert refunds.order_amount_refundable(order) == 1300
    second = _refund(order, staff_user, 1300, token=OTHER_TOKEN, reason="")
    order.refresh_from_db()
    assert (second.reason, order.amount_refunded, order.is_fully_refunded) == ("", 1800, True)
    assert PaymentLink.objects.get().revenue == 0
    assert _paid_total() == 0
    history = order.status_changes.filter(action=OrderStatusChange.Action.REFUND).order_by("id")
    assert [(h.amount, h.actor) for h in history] == [(500, "alice"), (1300, "alice")]
    assert history[0].note == "Requested by the customer · Scratched cover"
    # Nothing left: the service refuses before calling Stripe.
    with pytest.raises(ValidationError) as refused:
        _refund(order, staff_user, 1, token="c" * 32)
    assert refused.value.messages == [str(refunds.REFUND_NOTHING_LEFT)]
    # A recount from the tables agrees with the running totals.
    link_totals_rebuild()
    assert _paid_total() == 0


def test_the_same_request_sent_twice_makes_one_refund(order, staff_user, stripe_client):
    first = _refund(order, staff_user, 700)
    again = _refund(order, staff_user, 700)  # a double click, a retry after a timeout: the same key
    assert again.pk == first.pk
    assert len(stripe_client.v1.refunds.list(params={"payment_intent": order.payment_intent_id}).data) == 1
    order.refresh_from_db()
    assert order.amount_refunded == 700
    assert PaymentLink.objects.get().revenue == 1100
    assert order.status_changes.filter(action=OrderStatusChange.Action.REFUND).count() == 1


@pytest.mark.parametrize("amount", [0, -5, 1801])
def test_bad_amounts_are_refused_at_the_amount_before_stripe(order, staff_user, stripe_client, amount):
    with pytest.raises(ValidationError) as refused:
        _refund(order, staff_user, amount)
    assert "amount" in refused.value.error_dict
    assert not stripe_client.v1.refunds.list(params={"payment_intent": order.payment_intent_id}).data
    assert not Refund.objects.exists()


def test_more_than_remains_after_a_refund_is_refused(order, staff_user):
    _refund(order, staff_user, 1000)
    with pytest.raises(ValidationError) as refused:
        _refund(order, staff_user, 801, token=OTHER_TOKEN)
    assert refused.value.error_dict["amount"][0].message == refunds.REFUND_TOO_LARGE % {"max": "8.00 EUR"}


def test_an_unpaid_order_cannot_be_refunded(order, staff_user):
    Order.objects.filter(id=order.id).update(status=Order.Status.PAYMENT_FAILED)
    order.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        _refund(order, staff_user, 100)
    assert refused.value.messages == [str(refunds.REFUND_NOT_PAID)]


def test_the_customer_gets_one_refund_email_per_refund(order, staff_user, settings):
    settings.PAYLINKS_MERCHANT_NAME = "Bookshop"
    mail.outbox.clear()
    refund = _refund(order, staff_user, 500)
    # Recorded again (its events): still one e-mail.
    stripe_refund = refunds.get_stripe_client().v1.refunds.retrieve(refund.stripe_id).to_dict()
    refunds.refund_record(refund=stripe_refund, actor="refund.created evt_1")
    emails = OutboundEmail.objects.filter(order=order, kind=OutboundEmail.Kind.REFUND)
    assert list(emails.values_list("stripe_object_id", "to")) == [(refund.stripe_id, "jane@example.com")]
    assert send_outbound_email(emails.get().id) == OutboundEmail.Status.SENT
    sent = [message for message in mail.outbox if "refund" in message.subject.lower()]
    assert len(sent) == 1
    assert sent[0].subject == "Your refund from Bookshop"
    assert "Bookshop has refunded 5.00 EUR of your payment of 18.00 EUR." in sent[0].body
    assert "Refunded so far: 5.00 EUR." in sent[0].body


def test_the_refund_email_is_in_the_shops_language(order, staff_user, settings):
    settings.LANGUAGE_CODE = "fr"
    _refund(order, staff_user, 1800)
    email = OutboundEmail.objects.get(order=order, kind=OutboundEmail.Kind.REFUND)
    mail.outbox.clear()
    send_outbound_email(email.id)
    assert f"Référence de votre commande : {order.public_id}" in mail.outbox[0].body


@pytest.mark.parametrize(("currency", "unit_amount", "refund"), [("jpy", 1500, 500), ("kwd", 1500, 1250)])
def test_zero_and_three_decimal_currencies(sandbox, stripe_client, staff_user, currency, unit_amount, refund):
    order = paid_order(sandbox, stripe_client, currency=currency, unit_amount=unit_amount, quantity=1)
    recorded = _refund(order, staff_user, refund)
    order.refresh_from_db()
    assert (recorded.currency, order.amount_refunded) == (currency, refund)
    assert PaymentLink.objects.get().revenue == unit_amount - refund


# RECORDING: what Stripe says of a refund, however often and in whatever order ---------------------


def _stripe_refund(order, *, status, amount=400, refund_id="re_test_record", **fields) -> dict:
    return {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "currency": order.currency,
        "payment_intent": order.payment_intent_id,
        "status": status,
        "reason": None,
        "metadata": {},
        "created": int(time.time()),
        "failure_reason": None,
        **fields,
    }


def test_a_pending_refund_counts_when_it_succeeds_and_a_stale_fetch_changes_nothing(order):
    refunds.refund_record(refund=_stripe_refund(order, status="pending"), actor="refund.created evt_1")
    order.refresh_from_db()
    assert order.amount_refunded == 0 and PaymentLink.objects.get().revenue == 1800
    # Pending holds part of the payment: it cannot be refunded twice.
    assert refunds.order_amount_refundable(order) == 1400
    refunds.refund_record(refund=_stripe_refund(order, status="succeeded"), actor="refund.updated evt_2")
    # The older fetch of the same refund, applied late: nothing goes back.
    refunds.refund_record(refund=_stripe_refund(order, status="pending"), actor="refund.created evt_1")
    refunds.refund_record(refund=_stripe_refund(order, status="succeeded"), actor="refund.updated evt_2")
    order.refresh_from_db()
    assert Refund.objects.get().status == "succeeded"
    assert (order.amount_refunded, PaymentLink.objects.get().revenue, _paid_total()) == (400, 1400, 1400)
    entry = order.status_changes.get(action=OrderStatusChange.Action.REFUND)
    assert (entry.amount, entry.actor) == (400, "refund.updated evt_2")
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.REFUND).count() == 1


def test_a_refund_that_fails_after_succeeding_is_given_back_once(order):
    refunds.refund_record(refund=_stripe_refund(order, status="succeeded"), actor="refund.created evt_1")
    failed = _stripe_refund(order, status="failed", failure_reason="expired_or_canceled_card")
    for _delivery in range(2):
        refunds.refund_record(refund=failed, actor="refund.failed evt_2")
    # A late "succeeded" fetch cannot bring a failed refund back.
    refunds.refund_record(refund=_stripe_refund(order, status="succeeded"), actor="refund.updated evt_3")
    order.refresh_from_db()
    refund = Refund.objects.get()
    assert (refund.status, refund.failure_reason, refund.counted_amount) == (
        "failed",
        "expired_or_canceled_card",
        0,
    )
    assert (order.amount_refunded, PaymentLink.objects.get().revenue, _paid_total()) == (0, 1800, 1800)
    failures = order.status_changes.filter(action=OrderStatusChange.Action.REFUND_FAILED)
    assert [(f.amount, f.note, f.actor) for f in failures] == [
        (400, "expired_or_canceled_card", "refund.failed evt_2")
    ]
    assert refunds.order_amount_refundable(order) == 1800


def test_a_refund_of_a_payment_that_is_not_an_order_is_left_alone(order):
    stray = _stripe_refund(order, status="succeeded", payment_intent="pi_not_ours")
    assert refunds.refund_record(refund=stray, actor="refund.created evt_1") is None
    assert not Refund.objects.exists()


def test_a_refund_that_fails_while_pending_never_counts(order):
    refunds.refund_record(refund=_stripe_refund(order, status="pending"), actor="refund.created evt_1")
    refunds.refund_record(refund=_stripe_refund(order, status="failed"), actor="refund.failed evt_2")
    order.refresh_from_db()
    assert (order.amount_refunded, PaymentLink.objects.get().revenue) == (0, 1800)
    failure = order.status_changes.get(action=OrderStatusChange.Action.REFUND_FAILED)
    assert failure.amount is None  # nothing went back to the revenue
    assert not OutboundEmail.objects.filter(kind=OutboundEmail.Kind.REFUND).exists()


def test_the_daily_figures_are_net_of_refunds_and_agree_with_their_rebuild(order, staff_user):
    _refund(order, staff_user, 500)
    refunds.refund_record(refund=_stripe_refund(order, status="succeeded"), actor="refund.created evt_1")
    refunds.refund_record(refund=_stripe_refund(order, status="failed"), actor="refund.failed evt_2")
    refunds.refund_record(refund=_stripe_refund(order, status="pending", refund_id="re_x"), actor="e3")
    refunds.refund_record(refund=_stripe_refund(order, status="failed", refund_id="re_x"), actor="e4")
    today = shop_day()
    running = shop_daily_net(start=today, end=today)["eur"][today]
    assert (running["received"], running["refunded"], running["net"]) == (1800, 500, 1300)
    daily_revenue_rebuild()
    assert shop_daily_net(start=today, end=today)["eur"][today] == running


def test_refetch_from_stripe_catches_up_on_a_refund_whose_events_were_lost(
    order, staff_client, stripe_client
):
    stripe_client.v1.refunds.create(params={"payment_intent": order.payment_intent_id, "amount": 300})
    assert staff_client.post(f"/orders/{order.public_id}/refetch/").status_code == 302
    order.refresh_from_db()
    assert order.amount_refunded == 300
    assert Refund.objects.get().requested_by is None
    page = staff_client.get("/orders/", {"refunded": "partial"}).content.decode()
    assert "jane@example.com" in page and "badge-partially_refunded" in page


def test_the_home_page_totals_are_net_of_refunds(order, staff_user, staff_client):
    _refund(order, staff_user, 500)
    assert "13.00 EUR" in staff_client.get("/").content.decode()


def test_a_retried_delivery_writes_nothing(order):
    succeeded = _stripe_refund(order, status="succeeded")
    refunds.refund_record(refund=succeeded, actor="refund.created evt_1")
    written = Refund.objects.get().updated_at
    refunds.refund_record(refund=succeeded, actor="refund.created evt_1")
    assert Refund.objects.get().updated_at == written
    order.refresh_from_db()
    assert order.amount_refunded == 400
