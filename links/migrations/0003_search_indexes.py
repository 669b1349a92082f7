"""Indexes for the orders list's and the links list's searches (docs/performance.md, items 3 and 7).

The trigram indexes exist on PostgreSQL only (see ``config.migration_operations.AddIndexOnPostgreSQL``);
the B-tree indexes are declared in ``Order.Meta`` and exist everywhere.
"""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import migrations, models
from django.db.models.functions import Upper

from config.migration_operations import AddIndexOnPostgreSQL


class Migration(migrations.Migration):
    dependencies = [
        ("links", "0002_order_created_index"),
        # pg_trgm is created there.
        ("catalog", "0005_product_name_trigram"),
    ]

    operations = [
        # The orders list's search by e-mail substring: ``customer_email__icontains`` compiles to
        # ``UPPER("customer_email"::text) LIKE UPPER('%…%')``, and this is a GIN index of the trigrams of
        # that very expression, so the planner can use it (a B-tree cannot serve a leading ``%``).
        AddIndexOnPostgreSQL(
            model_name="order",
            index=GinIndex(OpClass(Upper("customer_email"), name="gin_trgm_ops"), name="order_email_trgm"),
        ),
        # The links list's search by name substring (``name__icontains``), for the same reason.
        AddIndexOnPostgreSQL(
            model_name="paymentlink",
            index=GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="link_name_trgm"),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(("client_reference_id", ""), _negated=True),
                fields=["client_reference_id"],
                name="order_client_reference",
            ),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(("payment_intent_id", ""), _negated=True),
                fields=["payment_intent_id"],
                name="order_payment_intent",
            ),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(("invoice_id", ""), _negated=True),
                fields=["invoice_id"],
                name="order_invoice",
            ),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(("subscription_id", ""), _negated=True),
                fields=["subscription_id"],
                name="order_subscription",
            ),
        ),
    ]
