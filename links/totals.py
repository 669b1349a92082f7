"""The home page's running totals (``LinkTotal``): added to by the services that create links, change
their active flag or see an order paid for the first time, in the same transaction; read as a few rows.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models import Case, Count, F, Q, Sum, When

from links.models import Dispute, LinkTotal, Order, PaymentLink

# Rows per currency for paid orders: fulfilment workers add to different rows, not all to one.
PAID_SHARDS = 8

LINKS, LINKS_ACTIVE, PAID_PREFIX = "links", "links_active", "paid:"


def _add_statement() -> str:
    # The same upsert on PostgreSQL and SQLite: the first addition to a key creates its row.
    table = connection.ops.quote_name(LinkTotal._meta.db_table)
    count, amount = connection.ops.quote_name("count"), connection.ops.quote_name("amount")
    return (
        f'INSERT INTO {table} ("key", "shard", {count}, {amount}) VALUES (%s, %s, %s, %s) '
        f'ON CONFLICT ("key", "shard") DO UPDATE SET {count} = {table}.{count} + excluded.{count}, '
        f"{amount} = {table}.{amount} + excluded.{amount}"
    )


def link_total_add(*, key: str, count: int = 0, amount: int = 0, shard: int = 0) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_add_statement(), [key, shard, count, amount])


def link_totals_count_link(*, was_active: bool | None, active: bool) -> None:
    """A link was created (``was_active`` None) or its active flag was written."""
    if was_active is None:
        link_total_add(key=LINKS, count=1)
    if active != bool(was_active):
        link_total_add(key=LINKS_ACTIVE, count=1 if active else -1)


def link_totals_count_paid(*, order: Order, amount: int) -> None:
    """An order reached paid for the first time, receiving ``amount`` (``links.revenue`` calls this once
    per order)."""
    link_total_add(
        key=PAID_PREFIX + order.currency, count=1, amount=amount, shard=(order.pk or 0) % PAID_SHARDS
    )


def link_totals_count_refund(*, order: Order, amount: int) -> None:
    """``amount`` of a paid order was refunded: the paid orders' total is net of refunds."""
    link_total_add(key=PAID_PREFIX + order.currency, amount=-amount, shard=(order.pk or 0) % PAID_SHARDS)


def link_totals() -> dict:
    """``links``, ``links_active`` and ``orders_paid`` ([{currency, count, total}] by currency), one query."""
    sums = {
        row["key"]: row
        for row in LinkTotal.objects.values("key").annotate(count=Sum("count"), total=Sum("amount"))
    }
    paid = [
        {"currency": key.removeprefix(PAID_PREFIX), "count": row["count"], "total": row["total"]}
        for key, row in sorted(sums.items())
        if key.startswith(PAID_PREFIX) and row["count"]
    ]
    return {
        "links_total": (sums.get(LINKS) or {}).get("count") or 0,
        "links_active": (sums.get(LINKS_ACTIVE) or {}).get("count") or 0,
        "orders_paid": paid,
    }


def order_amount_paid_expression() -> Case:
    """``Order.amount_paid`` in SQL: the total, or what a manual capture received."""
    captured = Q(capture_method="manual", payment_intent_status="succeeded", amount_received__gt=0)
    return Case(When(captured, then=F("amount_received")), default=F("amount_total"))


def link_totals_rebuild() -> None:
    """Recount everything from the tables (after a bulk load such as ``bench_seed``): reads every link
    and every paid order, so not for a request. Revenue is net of refunds and lost disputes, as the running
    totals are."""
    links = PaymentLink.objects.aggregate(total=Count("id"), active=Count("id", filter=Q(active=True)))
    paid = (
        Order.objects.filter(paid_at__isnull=False)
        .values("currency")
        .annotate(count=Count("id"), total=Sum(order_amount_paid_expression() - F("amount_refunded")))
        .order_by()
    )
    # A lost dispute of a paid order counted against revenue when it closed (links.disputes), as a refund.
    lost = (
        Dispute.objects.filter(
            status=Dispute.Status.LOST, closed_at__isnull=False, order__paid_at__isnull=False
        )
        .values("order__currency")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    lost_by_currency = {row["order__currency"]: row["total"] or 0 for row in lost}
    with transaction.atomic():
        LinkTotal.objects.all().delete()
        LinkTotal.objects.bulk_create(
            [
                LinkTotal(key=LINKS, count=links["total"]),
                LinkTotal(key=LINKS_ACTIVE, count=links["active"]),
                *(
                    LinkTotal(
                        key=PAID_PREFIX + row["currency"],
                        count=row["count"],
                        amount=(row["total"] or 0) - lost_by_currency.get(row["currency"], 0),
                    )
                    for row in paid
                ),
            ]
        )
