"""The overview's daily figures: added to once with each payment and refund, on the day it happened in the
shop's time zone, and equal to a rebuild from the orders and their history."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.db.models import Sum

from links import fulfilment
from links.daily_revenue import (
    SHOP_SHARDS,
    daily_revenue_rebuild,
    link_daily_net,
    shop_daily_net,
    shop_day,
    top_links,
)
from links.disputes import dispute_record
from links.models import DailyRevenue, LinkDailyRevenue, Order, OrderStatusChange
from links.refunds import refund_record
from links.revenue import revenue_count_payment, revenue_count_refund
from tests.links.factories import OrderFactory, PaymentLinkFactory
from tests.webhooks.stripe_objects import checkout_session, line_item

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 10)


def _snapshot() -> tuple[list, list]:
    shop = (
        DailyRevenue.objects.values("day", "currency")
        .annotate(received=Sum("received"), refunded=Sum("refunded"), orders=Sum("orders_count"))
        .order_by("day", "currency")
    )
    links = LinkDailyRevenue.objects.values(
        "payment_link_id", "day", "currency", "received", "refunded", "orders_count"
    ).order_by("payment_link_id", "day", "currency")
    return list(shop), list(links)


def _paid_order(link, *, amount: int, paid_at: datetime, currency: str = "eur") -> Order:
    order = OrderFactory(
        payment_link=link, currency=currency, amount_total=amount, status=Order.Status.PAID, paid_at=paid_at
    )
    revenue_count_payment(order=order, amount=amount)
    return order


def _refund(order: Order, *, amount: int, at: datetime, failed: bool = False) -> None:
    # As the refunds service records one: a line in the order's history, and the count in the same
    # transaction (a failed refund takes its amount back).
    action = OrderStatusChange.Action.REFUND_FAILED if failed else OrderStatusChange.Action.REFUND
    change = OrderStatusChange.objects.create(order=order, action=action, amount=amount, actor="test")
    OrderStatusChange.objects.filter(pk=change.pk).update(at=at)
    revenue_count_refund(order=order, amount=-amount if failed else amount, at=at)


def test_a_payment_through_fulfilment_counts_once_on_its_paid_day(django_capture_on_commit_callbacks):
    link = PaymentLinkFactory(currency="eur")
    with django_capture_on_commit_callbacks():
        for index in range(SHOP_SHARDS + 2):
            session = checkout_session(id=f"cs_test_daily_{index}", payment_link=link.stripe_id)
            fulfilment.order_record_session(session=session, line_items=[line_item()], actor="test")
        # A duplicate delivery of a session already recorded, and a session not paid.
        fulfilment.order_record_session(session=session, line_items=[line_item()], actor="test")
        unpaid = checkout_session(id="cs_test_daily_u", payment_link=link.stripe_id, payment_status="unpaid")
        fulfilment.order_record_session(session=unpaid, line_items=[line_item()], actor="test")

    today = Order.objects.filter(paid_at__isnull=False).first().paid_at.date()
    count = SHOP_SHARDS + 2
    expected = {"received": 2000 * count, "refunded": 0, "net": 2000 * count, "orders": count}
    assert shop_daily_net(start=today, end=today) == {"eur": {today: expected}}
    assert link_daily_net(link_id=link.id, start=today, end=today) == {"eur": {today: expected}}
    # The shop's day is spread over rows (concurrent workers), the link's is one row.
    assert DailyRevenue.objects.count() == SHOP_SHARDS
    assert LinkDailyRevenue.objects.count() == 1
    before = _snapshot()
    daily_revenue_rebuild()
    assert _snapshot() == before


def test_refunds_count_on_their_own_day_and_a_failed_one_is_taken_back():
    link = PaymentLinkFactory(currency="eur")
    order = _paid_order(link, amount=5000, paid_at=datetime(2026, 3, 10, 12, tzinfo=UTC))
    _refund(order, amount=2000, at=datetime(2026, 3, 12, 9, tzinfo=UTC))
    _refund(order, amount=1000, at=datetime(2026, 3, 13, 9, tzinfo=UTC))
    _refund(order, amount=1000, at=datetime(2026, 3, 14, 9, tzinfo=UTC), failed=True)

    figures = shop_daily_net(start=date(2026, 3, 1), end=date(2026, 3, 31))["eur"]
    assert figures[date(2026, 3, 10)] == {"received": 5000, "refunded": 0, "net": 5000, "orders": 1}
    assert figures[date(2026, 3, 12)] == {"received": 0, "refunded": 2000, "net": -2000, "orders": 0}
    assert figures[date(2026, 3, 13)]["refunded"] == 1000
    assert figures[date(2026, 3, 14)]["refunded"] == -1000
    assert sum(day["net"] for day in figures.values()) == 3000
    link_figures = link_daily_net(link_id=link.id, start=date(2026, 3, 1), end=date(2026, 3, 31))["eur"]
    assert link_figures == figures
    link.refresh_from_db()
    assert link.revenue == 3000

    before = _snapshot()
    daily_revenue_rebuild()
    assert _snapshot() == before


def test_days_are_the_shop_time_zone_days(settings):
    settings.TIME_ZONE = "Europe/Paris"
    link = PaymentLinkFactory(currency="eur")
    # 23:30 UTC on the 9th is 00:30 on the 10th in Paris; 22:59 UTC on the 10th is still the 10th there.
    late = _paid_order(link, amount=1000, paid_at=datetime(2026, 3, 9, 23, 30, tzinfo=UTC))
    _paid_order(link, amount=2000, paid_at=datetime(2026, 3, 10, 22, 59, tzinfo=UTC))
    _paid_order(link, amount=4000, paid_at=datetime(2026, 3, 10, 23, 0, tzinfo=UTC))
    _refund(late, amount=500, at=datetime(2026, 3, 10, 23, 15, tzinfo=UTC))

    figures = shop_daily_net(start=date(2026, 3, 1), end=date(2026, 3, 31))["eur"]
    assert sorted(figures) == [date(2026, 3, 10), date(2026, 3, 11)]
    assert figures[date(2026, 3, 10)] == {"received": 3000, "refunded": 0, "net": 3000, "orders": 2}
    assert figures[date(2026, 3, 11)] == {"received": 4000, "refunded": 500, "net": 3500, "orders": 1}
    before = _snapshot()
    daily_revenue_rebuild()
    assert _snapshot() == before


def test_zero_decimal_currency_counts_whole_units():
    link = PaymentLinkFactory(currency="jpy")
    order = _paid_order(link, amount=1500, paid_at=datetime(2026, 3, 10, 3, tzinfo=UTC), currency="jpy")
    _refund(order, amount=500, at=datetime(2026, 3, 10, 4, tzinfo=UTC))
    assert shop_daily_net(start=DAY, end=DAY) == {
        "jpy": {DAY: {"received": 1500, "refunded": 500, "net": 1000, "orders": 1}}
    }


def test_top_links_rank_by_net_revenue_in_the_period_and_currency():
    big, refunded, other_currency, old = (PaymentLinkFactory(currency="eur") for _ in range(4))
    at = datetime(2026, 3, 10, 12, tzinfo=UTC)
    _paid_order(big, amount=3000, paid_at=at)
    _paid_order(big, amount=3000, paid_at=datetime(2026, 3, 11, 12, tzinfo=UTC))
    order = _paid_order(refunded, amount=9000, paid_at=at)
    _refund(order, amount=8000, at=at)
    _paid_order(other_currency, amount=99_000, paid_at=at, currency="usd")
    _paid_order(old, amount=50_000, paid_at=datetime(2026, 1, 1, 12, tzinfo=UTC))

    rows = top_links(currency="eur", start=date(2026, 3, 1), end=date(2026, 3, 31))
    assert [(row["link"], row["net"], row["orders"]) for row in rows] == [(big, 6000, 2), (refunded, 1000, 1)]


def test_a_lost_dispute_counts_as_a_refund_on_the_day_it_closed(django_capture_on_commit_callbacks):
    link = PaymentLinkFactory(currency="eur")
    order = _paid_order(link, amount=5000, paid_at=datetime(2026, 3, 10, 12, tzinfo=UTC))
    Order.objects.filter(pk=order.pk).update(payment_intent_id="pi_daily_dispute")
    dispute = {"id": "dp_daily", "payment_intent": "pi_daily_dispute", "amount": 5000, "currency": "eur"}
    with django_capture_on_commit_callbacks():
        dispute_record(dispute={**dispute, "status": "needs_response"}, actor="test")
        dispute_record(dispute={**dispute, "status": "lost"}, actor="test")
        dispute_record(dispute={**dispute, "status": "lost"}, actor="test")  # a redelivery
    closed = shop_day()
    figures = shop_daily_net(start=closed, end=closed)["eur"][closed]
    assert figures == {"received": 0, "refunded": 5000, "net": -5000, "orders": 0}
    before = _snapshot()
    daily_revenue_rebuild()
    assert _snapshot() == before


def test_a_manual_capture_counts_what_was_captured():
    link = PaymentLinkFactory(currency="eur")
    order = OrderFactory(
        payment_link=link,
        currency="eur",
        amount_total=10_000,
        amount_received=6000,
        capture_method="manual",
        payment_intent_status="succeeded",
        paid_at=datetime(2026, 3, 10, 12, tzinfo=UTC),
    )
    revenue_count_payment(order=order, amount=fulfilment.order_amount_received(order))
    assert shop_daily_net(start=DAY, end=DAY)["eur"][DAY]["received"] == 6000
    before = _snapshot()
    daily_revenue_rebuild()
    assert _snapshot() == before


def test_refunds_recorded_by_the_refunds_service_count_once_and_match_the_rebuild(
    django_capture_on_commit_callbacks,
):
    link = PaymentLinkFactory(currency="eur")
    order = _paid_order(link, amount=8000, paid_at=datetime(2026, 3, 10, 12, tzinfo=UTC))
    Order.objects.filter(pk=order.pk).update(payment_intent_id="pi_daily_refunds")
    refund = {"payment_intent": "pi_daily_refunds", "currency": "eur", "created": 1773144000}
    with django_capture_on_commit_callbacks():
        # A half refund that succeeds (its event delivered twice), a pending one that fails later.
        refund_record(refund={**refund, "id": "re_half", "amount": 4000, "status": "succeeded"}, actor="t")
        refund_record(refund={**refund, "id": "re_half", "amount": 4000, "status": "succeeded"}, actor="t")
        refund_record(refund={**refund, "id": "re_rest", "amount": 4000, "status": "pending"}, actor="t")
        refund_record(refund={**refund, "id": "re_rest", "amount": 4000, "status": "failed"}, actor="t")
        # A refund that succeeded and then failed is taken back.
        refund_record(refund={**refund, "id": "re_back", "amount": 1000, "status": "succeeded"}, actor="t")
        refund_record(refund={**refund, "id": "re_back", "amount": 1000, "status": "failed"}, actor="t")
    today = shop_day()
    assert shop_daily_net(start=today, end=today)["eur"][today]["refunded"] == 4000
    assert link_daily_net(link_id=link.id, start=today, end=today)["eur"][today]["refunded"] == 4000
    before = _snapshot()
    daily_revenue_rebuild()
    assert _snapshot() == before
