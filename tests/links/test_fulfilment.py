"""The order ledger: one order per checkout session, forward-only status, counters and e-mails once."""

from __future__ import annotations

from unittest import mock

import pytest

from links import fulfilment
from links.models import Order, OrderStatusChange, OutboundEmail, PaymentLink
from tests.webhooks.stripe_objects import checkout_session, line_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def link(db):
    return PaymentLink.objects.create(
        stripe_id="plink_test_fulfil", name="T-shirts", url="http://example.com/pay/test_x", currency="eur"
    )


def record(session, items=None, actor="test"):
    return fulfilment.order_record_session(session=session, line_items=items or [line_item()], actor=actor)


def test_paid_session_creates_a_paid_order(link, django_capture_on_commit_callbacks):
    session = checkout_session(payment_link=link.stripe_id)
    with django_capture_on_commit_callbacks():
        order = record(session)
    assert order.status == Order.Status.PAID
    assert order.payment_link == link
    assert order.customer_email == "bob@example.com"
    assert order.customer_name == "Bob Buyer"
    assert order.billing_address["city"] == "Paris"
    assert order.amount_total == 2000
    assert order.paid_at is not None
    assert order.line_items.get().quantity == 2
    history = list(order.status_changes.values_list("from_status", "to_status"))
    assert history == [("", Order.Status.PAID)]


@pytest.mark.parametrize("payment_status", ["paid", "unpaid"])
def test_a_new_order_is_written_once_with_its_status(
    link, payment_status, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    session = checkout_session(payment_link=link.stripe_id, payment_status=payment_status)
    with django_capture_on_commit_callbacks(), CaptureQueriesContext(connection) as queries:
        order = record(session)
    # Inserted with its final status: no second write of the row (and of its indexes) in the same transaction.
    assert not [q for q in queries.captured_queries if q["sql"].startswith('UPDATE "links_order"')]
    expected = Order.Status.PAID if payment_status == "paid" else Order.Status.AWAITING_PAYMENT
    order.refresh_from_db()
    assert order.status == expected
    assert (order.paid_at is not None) is (payment_status == "paid")
    assert list(order.status_changes.values_list("from_status", "to_status")) == [("", expected)]
    link.refresh_from_db()
    assert link.orders_count == (1 if payment_status == "paid" else 0)


def test_same_session_twice_gives_one_order_and_counts_once(link, django_capture_on_commit_callbacks):
    session = checkout_session(payment_link=link.stripe_id)
    with django_capture_on_commit_callbacks() as callbacks:
        record(session)
        record(session)
    assert Order.objects.count() == 1
    assert Order.objects.get().line_items.count() == 1
    link.refresh_from_db()
    assert (link.orders_count, link.revenue) == (1, 2000)
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.ORDER_CONFIRMATION).count() == 1
    # One e-mail task enqueued and one "payment received" notice, not two of each.
    assert len(callbacks) == 2


def test_an_order_inserted_by_someone_else_meanwhile_is_updated_not_doubled(
    link, django_capture_on_commit_callbacks
):
    # The race on PostgreSQL: another worker inserts the session's order between our look and our
    # insert. Our insert then fails on the unique session id, and the second attempt updates theirs.
    session = checkout_session(payment_link=link.stripe_id, payment_status="unpaid")
    with django_capture_on_commit_callbacks(execute=True):
        theirs = record(session)
    looks = []
    real_locked_orders = fulfilment._locked_orders

    def locked_orders_missing_it_once():
        looks.append(1)
        return Order.objects.none() if len(looks) == 1 else real_locked_orders()

    paid = {**session, "payment_status": "paid"}
    with (
        mock.patch.object(fulfilment, "_locked_orders", locked_orders_missing_it_once),
        django_capture_on_commit_callbacks(execute=True),
    ):
        ours = record(paid)
    assert len(looks) == 2
    assert ours.id == theirs.id and Order.objects.count() == 1
    assert ours.status == Order.Status.PAID
    assert ours.line_items.count() == 1
    history = list(ours.status_changes.values_list("from_status", "to_status"))
    assert history == [
        ("", Order.Status.AWAITING_PAYMENT),
        (Order.Status.AWAITING_PAYMENT, Order.Status.PAID),
    ]
    link.refresh_from_db()
    assert (link.orders_count, link.revenue) == (1, 2000)


def test_no_payment_required_counts_as_paid(link):
    order = record(checkout_session(payment_link=link.stripe_id, payment_status="no_payment_required"))
    assert order.status == Order.Status.PAID


def test_unpaid_session_awaits_payment_then_becomes_paid(link):
    session = checkout_session(payment_link=link.stripe_id, payment_status="unpaid")
    order = record(session)
    assert order.status == Order.Status.AWAITING_PAYMENT
    assert order.paid_at is None
    link.refresh_from_db()
    assert link.orders_count == 0
    assert not OutboundEmail.objects.exists()

    order = record(
        {**session, "payment_status": "paid"}, actor="checkout.session.async_payment_succeeded evt_2"
    )
    assert order.status == Order.Status.PAID
    link.refresh_from_db()
    assert (link.orders_count, link.revenue) == (1, 2000)
    history = list(order.status_changes.values_list("to_status", "actor"))
    assert history == [
        (Order.Status.AWAITING_PAYMENT, "test"),
        (Order.Status.PAID, "checkout.session.async_payment_succeeded evt_2"),
    ]


def test_state_never_moves_backwards(link):
    session = checkout_session(payment_link=link.stripe_id)
    order = record(session)
    assert fulfilment.order_mark_fulfilled(order=order, actor="alice")
    # An old fetch, from before the payment cleared, arrives late.
    order = record({**session, "payment_status": "unpaid"})
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert order.payment_status == "paid"
    assert OrderStatusChange.objects.filter(order=order).count() == 2


def test_a_new_paid_order_is_recorded_in_twelve_statements(link, django_assert_num_queries):
    # Look for the session's order (locked), insert it with its link's id looked up by the INSERT itself,
    # its line items, the link's counters, the home page's totals, the day's figures of the shop and of the
    # link (links/daily_revenue.py), its customer's three rows (the customer, their total in the currency,
    # the link they bought through: links/customers.py), the confirmation e-mail's row and the first
    # history row: one statement each, inside the test transaction's savepoint (two more).
    with django_assert_num_queries(12 + 2):
        order = record(checkout_session(payment_link=link.stripe_id))
    assert order.payment_link_id == link.id
    link.refresh_from_db()
    assert (link.orders_count, link.revenue) == (1, order.amount_total)


def test_an_order_recorded_before_its_link_existed_is_linked_later():
    session = checkout_session(payment_link="plink_later")
    assert record(session).payment_link is None
    link = PaymentLink.objects.create(
        stripe_id="plink_later", name="Later", url="http://example.com/pay/later", currency="eur"
    )
    assert record(session).payment_link == link


def test_unknown_payment_link_leaves_the_link_empty():
    order = record(checkout_session(payment_link="plink_unknown"))
    assert order.payment_link is None
    assert order.status == Order.Status.PAID


def test_fields_from_the_session():
    session = checkout_session(
        collected_information={
            "shipping_details": {"name": "Bob", "address": {"city": "Lyon", "country": "FR"}}
        },
        shipping_cost={"amount_total": 500, "shipping_rate": "shr_123"},
        total_details={"amount_discount": 300, "amount_shipping": 500, "amount_tax": 100},
        discounts=[{"coupon": None, "promotion_code": "promo_123"}],
        custom_fields=[
            {
                "key": "engraving",
                "label": {"type": "custom", "custom": "Engraving"},
                "type": "text",
                "text": {"value": "For Alice"},
                "numeric": None,
                "dropdown": None,
            }
        ],
        consent={"promotions": "opt_in", "terms_of_service": "accepted"},
        client_reference_id="ref-42",
        customer="cus_123",
    )
    order = record(session)
    assert order.shipping_details["address"]["city"] == "Lyon"
    assert order.shipping_rate_id == "shr_123"
    assert (order.amount_discount, order.amount_shipping, order.amount_tax) == (300, 500, 100)
    assert order.promotion_code == "promo_123"
    assert (order.promotion_code_text, order.shipping_rate_name) == ("", "")  # ids alone: no names
    assert order.custom_fields == [
        {"key": "engraving", "label": "Engraving", "type": "text", "value": "For Alice"}
    ]
    assert order.consent["promotions"] == "opt_in"
    assert order.client_reference_id == "ref-42"
    assert order.customer_id == "cus_123"


def test_the_names_of_the_expanded_promotion_code_and_shipping_rate_are_kept(
    django_capture_on_commit_callbacks,
):
    # Fulfilment asks for both expanded in its one request: the order page then shows names, not ids.
    assert {"discounts.promotion_code", "shipping_cost.shipping_rate"} <= set(fulfilment.SESSION_EXPAND)
    session = checkout_session(
        shipping_cost={"amount_total": 500, "shipping_rate": {"id": "shr_9", "display_name": "Courier"}},
        discounts=[{"coupon": "c_1", "promotion_code": {"id": "promo_9", "code": "SPRING"}}],
    )
    with django_capture_on_commit_callbacks():
        order = record(session)
    assert (order.promotion_code, order.promotion_code_text) == ("promo_9", "SPRING")
    assert (order.shipping_rate_id, order.shipping_rate_name) == ("shr_9", "Courier")

    # A later record of the session with the ids alone (an older payload) keeps the names it had.
    again = record(
        {
            **session,
            "shipping_cost": {"shipping_rate": "shr_9"},
            "discounts": [{"coupon": "c_1", "promotion_code": "promo_9"}],
        }
    )
    assert (again.promotion_code_text, again.shipping_rate_name) == ("SPRING", "Courier")


def test_expire_marks_only_an_awaiting_order(link):
    assert fulfilment.checkout_session_expire(session_id="cs_test_never_seen", actor="t") is None
    assert not Order.objects.exists()
    waiting = record(checkout_session(payment_status="unpaid"))
    paid = record(checkout_session())
    fulfilment.checkout_session_expire(session_id=waiting.checkout_session_id, actor="t")
    fulfilment.checkout_session_expire(session_id=paid.checkout_session_id, actor="t")
    waiting.refresh_from_db()
    paid.refresh_from_db()
    assert waiting.status == Order.Status.EXPIRED
    assert paid.status == Order.Status.PAID


def test_mark_fulfilled_needs_a_paid_order():
    order = record(checkout_session(payment_status="unpaid"))
    assert not fulfilment.order_mark_fulfilled(order=order, actor="alice")
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT


def test_staff_notification_when_configured(settings):
    settings.PAYLINKS_STAFF_EMAIL = "staff@example.com"
    order = record(checkout_session())
    kinds = set(order.emails.values_list("kind", flat=True))
    assert kinds == {OutboundEmail.Kind.ORDER_CONFIRMATION, OutboundEmail.Kind.STAFF_NOTIFICATION}


def test_no_customer_email_no_confirmation():
    order = record(checkout_session(customer_details={"email": None, "name": None, "address": None}))
    assert not order.emails.exists()


def test_payment_failed_after_unpaid(monkeypatch, settings):
    settings.PAYLINKS_STAFF_EMAIL = "staff@example.com"
    session = checkout_session(payment_status="unpaid")
    monkeypatch.setattr(fulfilment, "checkout_session_fetch", lambda *, session_id: (session, [line_item()]))
    order = fulfilment.checkout_session_payment_failed(session_id=session["id"], actor="evt")
    assert order.status == Order.Status.PAYMENT_FAILED
    kinds = set(order.emails.values_list("kind", flat=True))
    assert kinds == {OutboundEmail.Kind.PAYMENT_FAILED, OutboundEmail.Kind.STAFF_NOTIFICATION}


def test_reconciler_rereads_old_orders_still_awaiting_payment(monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    session = checkout_session(payment_status="unpaid")
    order = record(session)
    Order.objects.filter(id=order.id).update(created_at=timezone.now() - timedelta(days=10))
    monkeypatch.setattr(
        fulfilment,
        "checkout_session_fetch",
        lambda *, session_id: ({**session, "payment_status": "paid"}, []),
    )
    client = mock.Mock()
    monkeypatch.setattr(fulfilment, "get_stripe_client", lambda: client)
    assert fulfilment.checkout_sessions_reconcile() == 1
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
