"""The daily figures behind the overview's charts (``DailyRevenue`` for the shop, ``LinkDailyRevenue`` per
link): added to by ``links.revenue`` in the transaction that records a payment or a refund, read as a few
rows per day, and rebuilt from the orders and their history after a bulk load.

A payment counts on the day it was paid, a refund on the day it was recorded, both in the shop's time zone
(``TIME_ZONE``, whatever the page's language or a user's zone).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.apps import apps as global_apps
from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from links.models import DailyRevenue, LinkDailyRevenue, Order, OrderStatusChange, PaymentLink
from links.totals import order_amount_paid_expression

# Rows per day and currency for the shop: fulfilment workers add to different rows, not all to one.
SHOP_SHARDS = 8


def shop_day(moment: datetime | None = None) -> date:
    """The day ``moment`` (now by default) falls on in the shop's time zone."""
    return timezone.localdate(moment or timezone.now(), timezone.get_default_timezone())


def _add(model, *, keys: dict, received: int = 0, refunded: int = 0, orders_count: int = 0) -> None:
    # One upsert on PostgreSQL and SQLite (as links.totals): the first addition to a day creates its row.
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    key_columns = [quote(model._meta.get_field(name).column) for name in keys]
    sums = [quote(name) for name in ("received", "refunded", "orders_count")]
    columns = ", ".join(key_columns + sums)
    placeholders = ", ".join(["%s"] * (len(key_columns) + len(sums)))
    updates = ", ".join(f"{column} = {table}.{column} + excluded.{column}" for column in sums)
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "
        f"ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*keys.values(), received, refunded, orders_count])


def _add_both(*, order: Order, day: date, received: int = 0, refunded: int = 0, orders_count: int = 0):
    figures = {"received": received, "refunded": refunded, "orders_count": orders_count}
    shard = (order.pk or 0) % SHOP_SHARDS
    _add(DailyRevenue, keys={"day": day, "currency": order.currency, "shard": shard}, **figures)
    if order.payment_link_id:
        keys = {"payment_link": order.payment_link_id, "day": day, "currency": order.currency}
        _add(LinkDailyRevenue, keys=keys, **figures)


def daily_revenue_count_payment(*, order: Order, amount: int) -> None:
    """The order was paid for the first time (``links.revenue`` calls this once per order): on its paid
    day."""
    _add_both(order=order, day=shop_day(order.paid_at), received=amount, orders_count=1)


def daily_revenue_count_refund(*, order: Order, amount: int, at: datetime | None = None) -> None:
    """``amount`` went back on the day of ``at`` (now by default); negative takes a failed refund back."""
    _add_both(order=order, day=shop_day(at), refunded=amount)


def daily_revenue_rebuild(*, apps=None) -> None:
    """Recount every day from the paid orders and the refunds in their history (after a bulk load such as
    ``bench_seed``, and in migration 0016 with its ``apps``): reads every paid order, so not for a request.

    A payment counts what it received (its total, or what a manual capture took); a refund counts the
    amount its history line records, a failed refund takes its amount back, and a lost dispute counts as a
    refund. Refunds are read from the history (``links.refunds.refund_record`` writes a line with each
    amount it counts) rather than from ``Refund``: its line's moment is the day the refund counted, which
    for a pending refund (SEPA) is when it settled, not when Stripe created it.
    """
    apps = apps or global_apps
    orders, changes = apps.get_model("links", "Order"), apps.get_model("links", "OrderStatusChange")
    shop_days, link_days = (
        apps.get_model("links", "DailyRevenue"),
        apps.get_model("links", "LinkDailyRevenue"),
    )
    refund, refund_failed = OrderStatusChange.Action.REFUND, OrderStatusChange.Action.REFUND_FAILED
    zone = timezone.get_default_timezone()
    with transaction.atomic():
        shop_days.objects.all().delete()
        link_days.objects.all().delete()
        paid = orders.objects.filter(paid_at__isnull=False).annotate(
            day=TruncDate("paid_at", tzinfo=zone), amount=_amount_received(orders)
        )
        _insert_grouped(
            shop_days,
            paid.values("day", "currency").annotate(received=Sum("amount"), orders_count=Count("id")),
            keys=["day", "currency"],
            constants={"shard": 0},
        )
        _insert_grouped(
            link_days,
            paid.filter(payment_link__isnull=False)
            .values("payment_link_id", "day", "currency")
            .annotate(received=Sum("amount"), orders_count=Count("id")),
            keys=["payment_link_id", "day", "currency"],
        )
        refunds = (
            changes.objects.filter(action__in=[refund, refund_failed], amount__isnull=False)
            .annotate(day=TruncDate("at", tzinfo=zone))
            .values("order_id", "order__payment_link_id", "order__currency", "day")
            .annotate(
                refunded=Sum("amount", filter=Q(action=refund), default=0)
                - Sum("amount", filter=Q(action=refund_failed), default=0)
            )
            .order_by()
        )
        for row in refunds.iterator():
            _add_refund_row(row)
        # A lost dispute counts as a refund on the day it closed (links/disputes.py), for a paid order.
        try:
            disputes = apps.get_model("links", "Dispute")
        except LookupError:  # migration 0016 runs before disputes exist
            return
        lost = (
            disputes.objects.filter(status="lost", closed_at__isnull=False, order__paid_at__isnull=False)
            .annotate(day=TruncDate("closed_at", tzinfo=zone))
            .values("order_id", "order__payment_link_id", "order__currency", "day")
            .annotate(refunded=Sum("amount"))
            .order_by()
        )
        for row in lost.iterator():
            _add_refund_row(row)


def _amount_received(orders):
    # What the payment received (links.totals.order_amount_paid_expression: a manual capture's capture).
    if "amount_received" not in {field.name for field in orders._meta.get_fields()}:
        return F("amount_total")  # migration 0016 runs before manual capture's columns exist
    return order_amount_paid_expression()


def _add_refund_row(row: dict) -> None:
    order = Order(
        pk=row["order_id"], payment_link_id=row["order__payment_link_id"], currency=row["order__currency"]
    )
    _add_both(order=order, day=row["day"], refunded=row["refunded"])


def _insert_grouped(model, rows, *, keys: list[str], constants: dict | None = None) -> None:
    # INSERT … SELECT: the database groups a million orders without sending them to Python.
    quote = connection.ops.quote_name
    sql, params = rows.order_by().query.sql_with_params()
    names = [*keys, "received", "orders_count"]
    constants = {"refunded": 0, **(constants or {})}
    columns = ", ".join(
        quote(model._meta.get_field(name.removesuffix("_id")).column) for name in [*names, *constants]
    )
    selected = ", ".join([*(f"grouped.{quote(name)}" for name in names), *(["%s"] * len(constants))])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} ({columns}) SELECT {selected} FROM ({sql}) grouped",
            [*constants.values(), *params],
        )


def period_days(*, days: int, end: date | None = None) -> list[date]:
    """The ``days`` days up to ``end`` (today in the shop's time zone), oldest first."""
    end = end or shop_day()
    return [end - timedelta(days=days - 1 - n) for n in range(days)]


def shop_daily_net(*, start: date, end: date) -> dict[str, dict[date, dict]]:
    """``{currency: {day: {"received", "refunded", "net", "orders"}}}`` for the days from ``start`` to
    ``end``: one query, a few rows per day and currency."""
    rows = (
        DailyRevenue.objects.filter(day__gte=start, day__lte=end)
        .values("currency", "day")
        .annotate(received=Sum("received"), refunded=Sum("refunded"), orders=Sum("orders_count"))
        .order_by()
    )
    figures: dict[str, dict[date, dict]] = {}
    for row in rows:
        figures.setdefault(row["currency"], {})[row["day"]] = _figures(row)
    return figures


def link_daily_net(*, link_id: int, start: date, end: date) -> dict[str, dict[date, dict]]:
    """As ``shop_daily_net`` for one link (one row per day and currency)."""
    rows = LinkDailyRevenue.objects.filter(payment_link_id=link_id, day__gte=start, day__lte=end).values(
        "currency", "day", "received", "refunded", orders=F("orders_count")
    )
    figures: dict[str, dict[date, dict]] = {}
    for row in rows:
        figures.setdefault(row["currency"], {})[row["day"]] = _figures(row)
    return figures


def top_links(*, currency: str, start: date, end: date, limit: int = 10) -> list[dict]:
    """The links that took the most in ``currency`` from ``start`` to ``end``, net of refunds:
    ``[{"link", "net", "received", "refunded", "orders"}]``, one query over the
    period's rows (at most one per link and day), never the orders."""
    rows = (
        LinkDailyRevenue.objects.filter(currency=currency, day__gte=start, day__lte=end)
        .values("payment_link_id")
        .annotate(
            net=Sum(F("received") - F("refunded")),
            period_received=Sum("received"),
            period_refunded=Sum("refunded"),
            orders=Sum("orders_count"),
        )
        .order_by("-net", "payment_link_id")[:limit]
    )
    rows = list(rows)
    links = PaymentLink.objects.only("name", "public_id", "stripe_id").in_bulk(
        [row["payment_link_id"] for row in rows]
    )
    return [
        {
            "link": links[row["payment_link_id"]],
            "net": row["net"],
            "received": row["period_received"],
            "refunded": row["period_refunded"],
            "orders": row["orders"],
        }
        for row in rows
        if row["payment_link_id"] in links
    ]


def _figures(row: dict) -> dict:
    return {
        "received": row["received"] or 0,
        "refunded": row["refunded"] or 0,
        "net": (row["received"] or 0) - (row["refunded"] or 0),
        "orders": row["orders"] or 0,
    }
