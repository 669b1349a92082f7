"""Revenue net of refunds: every movement of an order's money is counted here, once, in the transaction
that records it (under the order's row lock), so that each figure built on it stays right without reading
the orders again: the link's revenue and order count, the home page's totals (``links/totals.py``), and
the daily figures of the overview's charts (``links/daily_revenue.py``).
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import F

from links.customers import customer_count_payment, customer_count_refund
from links.daily_revenue import daily_revenue_count_payment, daily_revenue_count_refund
from links.models import Order, PaymentLink
from links.totals import link_totals_count_paid, link_totals_count_refund


def revenue_count_payment(*, order: Order, amount: int) -> None:
    """The order was paid for the first time: ``amount`` received (its total, or what a manual capture
    took)."""
    if order.payment_link_id:
        PaymentLink.objects.filter(id=order.payment_link_id).update(
            revenue=F("revenue") + amount, orders_count=F("orders_count") + 1
        )
    link_totals_count_paid(order=order, amount=amount)
    # The overview's charts: on the order's paid day.
    daily_revenue_count_payment(order=order, amount=amount)
    # The customers pages' totals.
    customer_count_payment(order=order, amount=amount)


def revenue_count_refund(*, order: Order, amount: int, at: datetime | None = None) -> None:
    """``amount`` of a paid order went back to the customer (negative: a refund counted here that failed),
    at ``at`` (now by default: the day the overview's charts count it on)."""
    if order.payment_link_id:
        PaymentLink.objects.filter(id=order.payment_link_id).update(revenue=F("revenue") - amount)
    link_totals_count_refund(order=order, amount=amount)
    # The overview's charts: on the refund's day.
    daily_revenue_count_refund(order=order, amount=amount, at=at)
    # The customers pages' totals.
    customer_count_refund(order=order, amount=amount)
