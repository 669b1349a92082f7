"""Revenue net of refunds: every movement of an order's money is counted here, once, in the transaction
that records it (under the order's row lock), so that each figure built on it stays right without reading
the orders again: the link's revenue and order count, and the home page's totals (``links/totals.py``).
"""

from __future__ import annotations

from django.db.models import F

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


def revenue_count_refund(*, order: Order, amount: int) -> None:
    """``amount`` of a paid order went back to the customer (negative: a refund counted here that failed)."""
    if order.payment_link_id:
        PaymentLink.objects.filter(id=order.payment_link_id).update(revenue=F("revenue") - amount)
    link_totals_count_refund(order=order, amount=amount)
