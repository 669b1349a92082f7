"""Customers (links/customers.py): their tables and indexes, and their backfill from the orders paid so far.

The backfill is the rebuild's SQL as it stood when this migration was written (a migration is a snapshot:
it must not change with links/customers.py), each step one GROUP BY over the paid orders. At 1,000,000
orders it reads the orders table a few times; the orders' index on (UPPER(customer_email), created_at)
added first serves each customer's latest name.

The trigram indexes of the customers search exist on PostgreSQL only
(``config.migration_operations.AddIndexOnPostgreSQL``).
"""

import django.db.models.deletion
import django.db.models.functions.text
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import migrations, models
from django.db.models.functions import Upper

from config.migration_operations import AddIndexOnPostgreSQL


def _backfill_statements(connection) -> list[str]:
    q = connection.ops.quote_name
    customer, spend, link = q("links_customer"), q("links_customerspend"), q("links_customerlink")
    order, history, dispute = q("links_order"), q("links_orderstatuschange"), q("links_dispute")
    paid = "o.paid_at IS NOT NULL AND o.customer_email <> ''"
    # What the payment brought in, as links.fulfilment.order_amount_received: a manual capture's capture.
    received = (
        "CASE WHEN o.capture_method = 'manual' AND o.payment_intent_status = 'succeeded' "
        "AND o.amount_received > 0 THEN o.amount_received ELSE o.amount_total END"
    )
    named = (
        f"FROM {order} o WHERE UPPER(o.customer_email) = {customer}.email_key AND o.paid_at IS NOT NULL "
        "AND o.customer_name <> '' ORDER BY o.created_at DESC, o.id DESC LIMIT 1"
    )
    return [
        f"INSERT INTO {customer} (email_key, email, name, orders_count, first_order_at, "
        f"last_order_at) SELECT UPPER(o.customer_email), MAX(o.customer_email), '', COUNT(*), "
        f"MIN(o.created_at), MAX(o.created_at) FROM {order} o WHERE {paid} GROUP BY UPPER(o.customer_email)",
        f"UPDATE {customer} SET email = (SELECT o.customer_email FROM {order} o WHERE "
        f"UPPER(o.customer_email) = {customer}.email_key AND o.paid_at IS NOT NULL "
        "ORDER BY o.created_at DESC, o.id DESC LIMIT 1), "
        f"name = COALESCE((SELECT o.customer_name {named}), ''), named_at = (SELECT o.created_at {named})",
        f"INSERT INTO {spend} (customer_id, currency, orders_count, total) "
        f"SELECT c.id, o.currency, COUNT(*), SUM({received} - COALESCE(r.refunded, 0)) "
        f"FROM {order} o JOIN {customer} c ON c.email_key = UPPER(o.customer_email) "
        "LEFT JOIN (SELECT order_id, SUM(amount) AS refunded FROM ("
        "SELECT order_id, CASE WHEN action = 'refund' THEN amount ELSE -amount END AS amount "
        f"FROM {history} WHERE action IN ('refund', 'refund_failed') AND amount IS NOT NULL "
        f"UNION ALL SELECT order_id, amount FROM {dispute} WHERE status = 'lost' AND closed_at IS NOT NULL"
        f") taken_back GROUP BY order_id) r ON r.order_id = o.id WHERE {paid} GROUP BY c.id, o.currency",
        f"INSERT INTO {link} (customer_id, payment_link_id, orders_count, last_order_at) "
        "SELECT c.id, o.payment_link_id, COUNT(*), MAX(o.created_at) "
        f"FROM {order} o JOIN {customer} c ON c.email_key = UPPER(o.customer_email) "
        f"WHERE {paid} AND o.payment_link_id IS NOT NULL GROUP BY c.id, o.payment_link_id",
    ]


def backfill_customers(apps, schema_editor) -> None:
    with schema_editor.connection.cursor() as cursor:
        for statement in _backfill_statements(schema_editor.connection):
            cursor.execute(statement)


def forget_customers(apps, schema_editor) -> None:
    pass  # the tables go with the models


class Migration(migrations.Migration):
    dependencies = [
        ("links", "0019_checkout_session_conversion"),
    ]

    operations = [
        migrations.CreateModel(
            name="Customer",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("email_key", models.CharField(editable=False, max_length=254, unique=True)),
                ("email", models.EmailField(max_length=254, verbose_name="e-mail")),
                ("name", models.CharField(blank=True, max_length=300, verbose_name="name")),
                ("named_at", models.DateTimeField(blank=True, editable=False, null=True)),
                ("orders_count", models.PositiveIntegerField(default=0, verbose_name="orders")),
                ("first_order_at", models.DateTimeField(verbose_name="first order")),
                ("last_order_at", models.DateTimeField(verbose_name="last order")),
            ],
            options={
                "ordering": ["-last_order_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="CustomerLink",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("orders_count", models.PositiveIntegerField(default=0)),
                ("last_order_at", models.DateTimeField()),
            ],
        ),
        migrations.CreateModel(
            name="CustomerSpend",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("currency", models.CharField(max_length=3, verbose_name="currency")),
                ("orders_count", models.PositiveIntegerField(default=0, verbose_name="orders")),
                ("total", models.BigIntegerField(default=0, verbose_name="total spent")),
            ],
            options={
                "ordering": ["currency"],
            },
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                django.db.models.functions.text.Upper("customer_email"),
                models.OrderBy(models.F("created_at"), descending=True),
                models.OrderBy(models.F("id"), descending=True),
                name="order_email_created",
            ),
        ),
        migrations.RemoveIndex(
            model_name="order",
            name="order_email_upper",
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["-last_order_at", "-id"], name="customer_last_order"),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["-orders_count", "-id"], name="customer_orders"),
        ),
        migrations.AddField(
            model_name="customerlink",
            name="customer",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="links", to="links.customer"
            ),
        ),
        migrations.AddField(
            model_name="customerlink",
            name="payment_link",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="links.paymentlink"
            ),
        ),
        migrations.AddField(
            model_name="customerspend",
            name="customer",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="spends", to="links.customer"
            ),
        ),
        migrations.AddConstraint(
            model_name="customerlink",
            constraint=models.UniqueConstraint(
                fields=("customer", "payment_link"), name="customer_link_unique"
            ),
        ),
        migrations.AddIndex(
            model_name="customerspend",
            index=models.Index(fields=["currency", "-total", "-customer"], name="customer_spend_total"),
        ),
        migrations.AddConstraint(
            model_name="customerspend",
            constraint=models.UniqueConstraint(
                fields=("customer", "currency"), name="customer_spend_currency"
            ),
        ),
        # The customers search by part of an address or a name: ``icontains`` compiles to
        # ``UPPER(column::text) LIKE UPPER('%…%')``, and these are GIN indexes of the trigrams of that very
        # expression (as the orders' "order_email_trgm"); the OR of the two is a BitmapOr of both.
        AddIndexOnPostgreSQL(
            model_name="customer",
            index=GinIndex(OpClass(Upper("email"), name="gin_trgm_ops"), name="customer_email_trgm"),
        ),
        AddIndexOnPostgreSQL(
            model_name="customer",
            index=GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="customer_name_trgm"),
        ),
        migrations.RunPython(backfill_customers, forget_customers, elidable=True),
    ]
