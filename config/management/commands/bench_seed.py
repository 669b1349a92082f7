"""Seed payment links and orders in bulk, for the benchmarks (bench/, docs/performance.md).

    manage.py bench_seed --links 100000 --orders 1000000

Adds rows (run it again to grow the data): a few catalog products and prices, links spread over them,
and orders spread over the links (a few links take most orders, as in real shops) with one line item,
one status change and, when paid, one confirmation e-mail each. Rows are written with COPY on PostgreSQL
and ``bulk_create`` in batches elsewhere; they never go through the services, which call Stripe: these
rows mirror no Stripe object and exist only to measure the dashboard at size.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand
from django.core.management.color import no_style
from django.db import connection, models, transaction

from catalog.models import Price, Product
from links.customers import customers_rebuild
from links.daily_revenue import daily_revenue_rebuild
from links.models import (
    Order,
    OrderLineItem,
    OrderStatusChange,
    OutboundEmail,
    PaymentLink,
    PaymentLinkLineItem,
)
from links.services import SEARCH_TEXT_SEPARATOR
from links.totals import link_totals_rebuild

PRODUCTS = 50
CURRENCIES = ["eur"] * 6 + ["usd"] * 3 + ["gbp"]
STATUSES = (
    [Order.Status.PAID] * 80
    + [Order.Status.FULFILLED] * 10
    + [Order.Status.AWAITING_PAYMENT] * 5
    + [Order.Status.PAYMENT_FAILED] * 3
    + [Order.Status.EXPIRED] * 2
)
WORDS = "spring summer autumn winter sale mug poster course ticket tee hoodie book class pass box kit".split()
# Orders are spread over this many years before now, newest with the highest ids.
HISTORY = timedelta(days=3 * 365)


class Command(BaseCommand):
    help = "Add payment links and orders in bulk (COPY on PostgreSQL) for the benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--links", type=int, default=1000)
        parser.add_argument("--orders", type=int, default=10000)
        parser.add_argument("--batch", type=int, default=50000)
        parser.add_argument("--seed", type=int, default=6)

    def handle(self, *args, links: int, orders: int, batch: int, seed: int, **options):
        rng = random.Random(seed + _max_id(Order))
        started = time.monotonic()
        prices = _catalog(rng)
        tables = [
            m._meta.db_table
            for m in (
                PaymentLink,
                PaymentLinkLineItem,
                Order,
                OrderLineItem,
                OrderStatusChange,
                OutboundEmail,
            )
        ]
        with _secondary_indexes_deferred(*tables):
            link_ids = _links(rng, prices, links, batch)
            all_links = list(PaymentLink.objects.values_list("id", "currency").order_by("id")) or link_ids
            _orders(rng, all_links, orders, batch)
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(
                no_style(),
                [
                    PaymentLink,
                    PaymentLinkLineItem,
                    Order,
                    OrderLineItem,
                    OrderStatusChange,
                    OutboundEmail,
                ],
            ):
                cursor.execute(sql)
            _link_totals(cursor)
        # The home page's totals and daily figures, and the customers: bulk inserts bypass the services
        # that add to them.
        link_totals_rebuild()
        daily_revenue_rebuild()
        customers_rebuild()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # A database with years of history has been vacuumed long ago: its visibility map is set
                # (index-only scans) and autovacuum is idle. Freshly copied rows are neither, and without
                # this autovacuum would vacuum a million of them while the pages are being measured.
                # 4 s for a million orders. Inside a caller's transaction (tests) VACUUM cannot run.
                cursor.execute("ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)")
        self.stdout.write(
            f"Seeded {links} links and {orders} orders in {time.monotonic() - started:.1f} s "
            f"(now {PaymentLink.objects.count()} links, {_max_id(Order)} as the highest order id)."
        )


def _max_id(model) -> int:
    return model.objects.aggregate(top=models.Max("id"))["top"] or 0


def _catalog(rng: random.Random) -> list[Price]:
    prices = list(
        Price.objects.select_related("product").filter(product__stripe_id__startswith="prod_bench_")
    )
    if prices:
        return prices
    now = datetime.now(UTC)
    products = Product.objects.bulk_create(
        Product(
            stripe_id=f"prod_bench_{n:04d}",
            name=f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} {n}",
            created_at=now,
            updated_at=now,
        )
        for n in range(PRODUCTS)
    )
    return Price.objects.bulk_create(
        Price(
            product=product,
            stripe_id=f"price_bench_{n:04d}",
            currency=CURRENCIES[n % len(CURRENCIES)],
            unit_amount=rng.choice([500, 1000, 1950, 4900, 9900]),
            created_at=now,
            updated_at=now,
        )
        for n, product in enumerate(products)
    )


def _constant_defaults(model, names: list[str]) -> tuple[list[str], tuple]:
    """The model's other NOT NULL columns with their (constant) defaults: COPY does not know Django's."""
    extra_names, extra_values = [], []
    for field in model._meta.concrete_fields:
        if (
            field.name in names
            or field.attname in names
            or field.primary_key
            or (field.null and not field.has_default())
        ):
            continue
        extra_names.append(field.attname)
        value = field.get_default()
        if isinstance(field, models.JSONField):
            value = json.dumps(value)
        extra_values.append("\\N" if value is None else value)
    return extra_names, tuple(extra_values)


def _null():
    """NULL as the rows carry it: COPY's text marker on PostgreSQL, None for bulk_create."""
    return "\\N" if connection.vendor == "postgresql" else None


@contextmanager
def _secondary_indexes_deferred(*tables: str):
    """Drop the tables' plain indexes during the load and build them once after (a bulk load's usual trade:
    one sort per index instead of one insert per row). Indexes behind constraints stay."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint)",
            [list(tables)],
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '256MB'")
            for _name, definition in indexes:
                cursor.execute(definition)


def _rows(model, names: list[str], rows, batch: int) -> None:
    """Write tuples in ``names`` order: COPY on PostgreSQL, bulk_create elsewhere."""
    if connection.vendor == "postgresql":
        extra_names, extra_values = _constant_defaults(model, names)
        columns = ", ".join(
            connection.ops.quote_name(model._meta.get_field(n).column) for n in names + extra_names
        )
        table = connection.ops.quote_name(model._meta.db_table)
        # One format per table, str() per value in C; the extras are a constant suffix.
        template = "\t".join(["{}"] * len(names)) + "".join(f"\t{v}" for v in extra_values) + "\n"
        with transaction.atomic(), connection.cursor() as cursor:
            # The rows are consistent by construction: skip the per-row foreign key triggers (needs a
            # superuser, which the benchmark's database has).
            cursor.execute("SET LOCAL session_replication_role = replica")
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                lines = []
                for row in rows:
                    lines.append(template.format(*row))
                    if len(lines) >= batch:
                        copy.write("".join(lines))
                        lines = []
                if lines:
                    copy.write("".join(lines))
        return
    chunk = []
    for row in rows:
        chunk.append(model(**dict(zip(names, row, strict=True))))
        if len(chunk) >= batch:
            model.objects.bulk_create(chunk)
            chunk = []
    model.objects.bulk_create(chunk)


def _json(value):
    return json.dumps(value) if connection.vendor == "postgresql" else value


def _links(rng: random.Random, prices: list[Price], count: int, batch: int) -> list[tuple[int, str]]:
    first = _max_id(PaymentLink) + 1
    now = datetime.now(UTC)
    empty = _json({})
    names = [
        "id",
        "public_id",
        "stripe_id",
        "name",
        "notes",
        "url",
        "active",
        "currency",
        "is_recurring",
        "options",
        "revenue",
        "orders_count",
        "created_at",
        "updated_at",
        "search_text",
    ]
    chosen = [prices[rng.randrange(len(prices))] for _ in range(count)]

    def rows():
        for n, price in enumerate(chosen):
            pk = first + n
            created = now - HISTORY * (1 - n / max(count, 1)) - timedelta(seconds=rng.randrange(3600))
            name = f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} {pk}"
            yield (
                pk,
                uuid.uuid4(),
                f"plink_bench_{pk:08d}",
                name,
                "",
                f"https://buy.example.com/test_bench_{pk}",
                rng.random() < 0.9,
                price.currency,
                rng.random() < 0.1,
                empty,
                0,
                0,
                created,
                created,
                # As links.services.link_search_text_refresh writes it: the name, then the product's.
                f"{name}{SEARCH_TEXT_SEPARATOR}{price.product.name}",
            )

    _rows(PaymentLink, names, rows(), batch)
    item_names = [
        "payment_link_id",
        "position",
        "stripe_id",
        "price_id",
        "stripe_price_id",
        "description",
        "quantity",
    ]
    _rows(
        PaymentLinkLineItem,
        item_names,
        (
            (first + n, 0, f"li_bench_{first + n}", price.id, price.stripe_id, price.product.name, 1)
            for n, price in enumerate(chosen)
        ),
        batch,
    )
    return [(first + n, price.currency) for n, price in enumerate(chosen)]


def _orders(rng: random.Random, links: list[tuple[int, str]], count: int, batch: int) -> None:
    first = _max_id(Order) + 1
    now = datetime.now(UTC)
    order_names = [
        "id",
        "public_id",
        "checkout_session_id",
        "payment_link_id",
        "status",
        "payment_status",
        "customer_email",
        "customer_name",
        "customer_phone",
        "customer_id",
        "shipping_rate_id",
        "currency",
        "amount_subtotal",
        "amount_discount",
        "amount_shipping",
        "amount_tax",
        "amount_total",
        "promotion_code",
        "client_reference_id",
        "custom_fields",
        "payment_intent_id",
        "invoice_id",
        "subscription_id",
        "subscription_status",
        "paid_at",
        "fulfilled_at",
        "created_at",
        "updated_at",
    ]
    no_fields = _json([])
    plan = []
    for _ in range(count):
        # Pareto-ish: a few links take most orders.
        link_id, currency = links[
            min(int(rng.paretovariate(1.2)) - 1, len(links) - 1)
            if rng.random() < 0.5
            else rng.randrange(len(links))
        ]
        status = STATUSES[rng.randrange(len(STATUSES))]
        plan.append(
            (link_id, currency, status, rng.choice([500, 1000, 1950, 4900, 9900]) * rng.randint(1, 3))
        )

    start, step = now - HISTORY, HISTORY / max(count, 1)
    moments = [start + step * n for n in range(count)]
    created_at = moments.__getitem__

    null = _null()

    def orders():
        for n, (link_id, currency, status, amount) in enumerate(plan):
            pk = first + n
            created = created_at(n)
            is_paid = status in (Order.Status.PAID, Order.Status.FULFILLED)
            yield (
                pk,
                uuid.uuid4(),
                f"cs_test_bench_{pk:010d}",
                link_id,
                status,
                "paid" if is_paid else "unpaid",
                f"customer{pk % 250000}@example.com",
                f"Customer {pk % 250000}",
                "",
                f"cus_bench_{pk % 250000}",
                "",
                currency,
                amount,
                0,
                0,
                0,
                amount,
                "",
                f"ref-{pk}",
                no_fields,
                f"pi_bench_{pk}",
                "",
                "",
                "",
                created if is_paid else null,
                created if status == Order.Status.FULFILLED else null,
                created,
                created,
            )

    _rows(Order, order_names, orders(), batch)
    _rows(
        OrderLineItem,
        [
            "order_id",
            "stripe_id",
            "price_id",
            "description",
            "quantity",
            "currency",
            "amount_subtotal",
            "amount_total",
        ],
        (
            (first + n, f"li_bench_o{first + n}", "price_bench", "Item", 1, c, a, a)
            for n, (_l, c, _s, a) in enumerate(plan)
        ),
        batch,
    )
    _rows(
        OrderStatusChange,
        ["order_id", "from_status", "to_status", "actor", "at"],
        ((first + n, "", s, "bench_seed", created_at(n)) for n, (_l, _c, s, _a) in enumerate(plan)),
        batch,
    )
    _rows(
        OutboundEmail,
        [
            "order_id",
            "kind",
            "to",
            "subject",
            "status",
            "attempts",
            "last_error",
            "sent_at",
            "created_at",
            "updated_at",
        ],
        (
            (
                first + n,
                OutboundEmail.Kind.ORDER_CONFIRMATION,
                f"customer{(first + n) % 250000}@example.com",
                "Your order",
                OutboundEmail.Status.SENT,
                1,
                "",
                created_at(n),
                created_at(n),
                created_at(n),
            )
            for n, (_l, _c, s, _a) in enumerate(plan)
            if s in (Order.Status.PAID, Order.Status.FULFILLED)
        ),
        batch,
    )


def _link_totals(cursor) -> None:
    """The links' revenue and order count, kept by fulfilment in real life, computed once here."""
    link = connection.ops.quote_name(PaymentLink._meta.db_table)
    order = connection.ops.quote_name(Order._meta.db_table)
    cursor.execute(
        f"UPDATE {link} SET revenue = t.revenue, orders_count = t.n FROM ("
        f"  SELECT payment_link_id, SUM(amount_total) AS revenue, COUNT(*) AS n FROM {order}"
        f"  WHERE status IN ('paid', 'fulfilled') AND payment_link_id IS NOT NULL GROUP BY payment_link_id"
        f") AS t WHERE {link}.id = t.payment_link_id"
    )
