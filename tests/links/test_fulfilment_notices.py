"""The one-line notices for a person watching (``manage.py demo`` prints them): a payment received or failed,
an order fulfilled; each once, after its commit, with the amount, the link's name and the order's page."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction

from links import fulfilment
from links.models import Order, PaymentLink
from tests.links.factories import OrderFactory
from tests.webhooks.stripe_objects import checkout_session, line_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def link(db):
    return PaymentLink.objects.create(
        stripe_id="plink_test_notices", name="T-shirts", url="http://example.com/pay/test_n", currency="eur"
    )


@pytest.fixture
def notices(caplog):
    caplog.set_level(logging.INFO, logger="paylinks.notices")
    return lambda: [r.getMessage() for r in caplog.records if r.name == "paylinks.notices"]


@pytest.fixture(autouse=True)
def base_url(settings):
    settings.PAYLINKS_BASE_URL = "http://127.0.0.1:8000"


def record(session):
    return fulfilment.order_record_session(session=session, line_items=[line_item()], actor="test")


def _order_url(order: Order) -> str:
    return f"http://127.0.0.1:8000/orders/{order.public_id}/"


def test_a_paid_order_says_payment_received_once_committed(link, notices, django_capture_on_commit_callbacks):
    session = checkout_session(payment_link=link.stripe_id)
    with django_capture_on_commit_callbacks() as callbacks:
        order = record(session)
    assert notices() == []  # not before the commit: a rolled-back order never happened
    for callback in callbacks:
        callback()

    assert notices() == [f"Payment received: 20.00 EUR on the link “T-shirts” (order {_order_url(order)})"]


def test_a_second_delivery_of_the_payment_says_nothing_more(
    link, notices, django_capture_on_commit_callbacks
):
    session = checkout_session(payment_link=link.stripe_id)
    with django_capture_on_commit_callbacks(execute=True):
        record(session)
        record(session)

    assert len(notices()) == 1


def test_an_order_awaiting_payment_says_nothing_until_it_is_paid(
    link, notices, django_capture_on_commit_callbacks
):
    session = checkout_session(payment_link=link.stripe_id, payment_status="unpaid", amount_total=123456)
    with django_capture_on_commit_callbacks(execute=True):
        order = record(session)
    assert notices() == []

    with django_capture_on_commit_callbacks(execute=True):
        record({**session, "payment_status": "paid"})
    assert notices() == [f"Payment received: 1234.56 EUR on the link “T-shirts” (order {_order_url(order)})"]


def test_marking_an_order_fulfilled_says_who_did(link, notices, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order = record(checkout_session(payment_link=link.stripe_id))
        fulfilment.order_mark_fulfilled(order=order, actor="alice")

    assert notices()[1:] == [
        f"Order fulfilled: 20.00 EUR on the link “T-shirts”, marked by alice (order {_order_url(order)})"
    ]


def test_a_failed_payment_says_so(monkeypatch, link, notices, django_capture_on_commit_callbacks):
    session = checkout_session(payment_link=link.stripe_id, payment_status="unpaid", currency="jpy")
    monkeypatch.setattr(fulfilment, "checkout_session_fetch", lambda *, session_id: (session, [line_item()]))
    with django_capture_on_commit_callbacks(execute=True):
        order = fulfilment.checkout_session_payment_failed(session_id=session["id"], actor="evt")

    assert notices() == [f"Payment failed: 2000 JPY on the link “T-shirts” (order {_order_url(order)})"]


def test_a_payment_without_a_known_link_says_so(notices, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order = record(checkout_session(payment_link="plink_unknown"))

    assert notices() == [f"Payment received: 20.00 EUR without a payment link (order {_order_url(order)})"]


def test_a_manual_capture_taken_for_less_says_what_was_received(
    link, notices, django_capture_on_commit_callbacks
):
    order = OrderFactory(
        payment_link=link,
        currency="eur",
        status=Order.Status.AWAITING_PAYMENT,
        capture_method="manual",
        payment_intent_status="succeeded",
        amount_total=4000,
        amount_received=2500,
    )
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        assert fulfilment.order_status_change(order=order, to_status=Order.Status.PAID, actor="test")
    assert [notice for notice in notices() if notice.startswith("Payment received")] == [
        f"Payment received: 25.00 EUR on the link “T-shirts” (order {_order_url(order)})"
    ]
