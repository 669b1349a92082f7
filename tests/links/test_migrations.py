"""Data migrations: what they do to rows recorded before them."""

from __future__ import annotations

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
