"""Data migrations: what they do to rows recorded before them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("links", "0007_link_totals")]
AFTER = [("links", "0008_email_per_invoice")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_invoice_emails_recorded_before_name_their_order_invoice():
    apps = _migrate(BEFORE)
    try:
        Order = apps.get_model("links", "Order")
        OutboundEmail = apps.get_model("links", "OutboundEmail")
        with_invoice = Order.objects.create(checkout_session_id="cs_old_1", invoice_id="in_old")
        without = Order.objects.create(checkout_session_id="cs_old_2")
        for order in (with_invoice, without):
            for kind in ("order_confirmation", "invoice"):
                OutboundEmail.objects.create(order=order, kind=kind, to="a@example.com", subject="s")

        apps = _migrate(AFTER)
        OutboundEmail = apps.get_model("links", "OutboundEmail")
        named = dict(
            OutboundEmail.objects.filter(kind="invoice").values_list(
                "order__checkout_session_id", "invoice_id"
            )
        )
        assert named == {"cs_old_1": "in_old", "cs_old_2": ""}
        assert set(
            OutboundEmail.objects.filter(kind="order_confirmation").values_list("invoice_id", flat=True)
        ) == {""}
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_migration_backfills_the_customers_of_orders_paid_before_it():
    """Each address's paid orders, whatever its capitals, make one customer: the latest name, the total net
    of the refunds the history records, the links bought through."""
    apps = _migrate([("links", "0019_checkout_session_conversion")])
    try:
        OldOrder = apps.get_model("links", "Order")
        OldLink = apps.get_model("links", "PaymentLink")
        OldHistory = apps.get_model("links", "OrderStatusChange")
        link = OldLink.objects.create(
            stripe_id="plink_old", name="Old", url="https://x.example", currency="eur"
        )
        paid = dict(
            status="paid", paid_at=datetime(2026, 3, 1, tzinfo=UTC), currency="eur", payment_link=link
        )
        first = OldOrder.objects.create(
            checkout_session_id="cs_a",
            customer_email="Old@Example.com",
            customer_name="Ola",
            amount_total=900,
            **paid,
        )
        OldOrder.objects.create(
            checkout_session_id="cs_b", customer_email="old@example.com", amount_total=100, **paid
        )
        OldOrder.objects.create(
            checkout_session_id="cs_c", customer_email="old@example.com", status="expired"
        )
        OldHistory.objects.create(order=first, action="refund", amount=300, actor="alice")
        OldHistory.objects.create(order=first, action="refund_failed", amount=100, actor="event")

        apps = _migrate([("links", "0020_customers")])
        customer = apps.get_model("links", "Customer").objects.get()
        assert (customer.email_key, customer.name, customer.orders_count) == ("OLD@EXAMPLE.COM", "Ola", 2)
        assert list(customer.spends.values_list("currency", "orders_count", "total")) == [("eur", 2, 800)]
        assert list(customer.links.values_list("payment_link_id", "orders_count")) == [(link.id, 2)]
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
