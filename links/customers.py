"""Customers: who paid, by e-mail address, with their totals kept as the money moves.

A customer is an e-mail address compared case-insensitively. Its key (``Customer.email_key``) is the
address through the database's own ``UPPER()``, in every path that writes or reads it (the payment, the
refund, the rebuild): the same expression as the orders list's exact search (``customer_email__iexact``),
so that the customer page's orders are those of the customer, by one index. Orders without an address
have no customer.

``links.revenue`` calls ``customer_count_payment`` when an order is first paid and
``customer_count_refund`` for each refund that counts, inside the transaction that records them and under
the order's row lock; the upserts below take the customer's row lock next (payment) or its currency's row
(refund), always in that order, so concurrent workers paying two orders of one customer queue on it
rather than deadlock. ``customers_rebuild`` recounts everything from the orders after a bulk load.
"""

from __future__ import annotations

import re

from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value, Window
from django.db.models.functions import RowNumber, Upper
from django.shortcuts import get_object_or_404

from config.listing import DESCENDING
from config.pagination import ID_FIRST_OFFSET
from links.models import Customer, CustomerLink, CustomerSpend, Dispute, Order, OrderStatusChange


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _later(column: str, table: str) -> str:
    """SQL: the later of the new row's moment and the stored one (ON CONFLICT's SET sees the stored row)."""
    return f"CASE WHEN excluded.{column} > {table}.{column} THEN excluded.{column} ELSE {table}.{column} END"


def _customer_upsert_sql() -> str:
    table = _table(Customer)
    newest = f"excluded.last_order_at >= {table}.last_order_at"
    renamed = f"excluded.name <> '' AND ({table}.named_at IS NULL OR excluded.named_at >= {table}.named_at)"
    return (
        f"INSERT INTO {table} (email_key, email, name, named_at, orders_count, first_order_at, "
        "last_order_at) VALUES (UPPER(%s), %s, %s, %s, 1, %s, %s) "
        "ON CONFLICT (email_key) DO UPDATE SET "
        f"orders_count = {table}.orders_count + 1, "
        f"first_order_at = CASE WHEN excluded.first_order_at < {table}.first_order_at "
        f"THEN excluded.first_order_at ELSE {table}.first_order_at END, "
        f"last_order_at = {_later('last_order_at', table)}, "
        f"email = CASE WHEN {newest} THEN excluded.email ELSE {table}.email END, "
        # The latest name given; a blank one (an order that did not collect it) keeps the one known.
        f"name = CASE WHEN {renamed} THEN excluded.name ELSE {table}.name END, "
        f"named_at = CASE WHEN {renamed} THEN excluded.named_at ELSE {table}.named_at END "
        "RETURNING id"
    )


def _spend_upsert_sql() -> str:
    table = _table(CustomerSpend)
    return (
        f"INSERT INTO {table} (customer_id, currency, orders_count, total) VALUES (%s, %s, 1, %s) "
        f"ON CONFLICT (customer_id, currency) DO UPDATE SET orders_count = {table}.orders_count + 1, "
        f"total = {table}.total + excluded.total"
    )


def _link_upsert_sql() -> str:
    table = _table(CustomerLink)
    return (
        f"INSERT INTO {table} (customer_id, payment_link_id, orders_count, last_order_at) "
        "VALUES (%s, %s, 1, %s) "
        f"ON CONFLICT (customer_id, payment_link_id) DO UPDATE SET orders_count = {table}.orders_count + 1, "
        f"last_order_at = {_later('last_order_at', table)}"
    )


def customer_count_payment(*, order: Order, amount: int) -> None:
    """The order was paid for the first time, ``amount`` received: its customer (created with this first
    order) gains an order, the amount in the order's currency, and the order's link."""
    if not order.customer_email:
        return
    placed_at = connection.ops.adapt_datetimefield_value(order.created_at)
    with connection.cursor() as cursor:
        cursor.execute(
            _customer_upsert_sql(),
            [
                order.customer_email,
                order.customer_email,
                order.customer_name,
                placed_at if order.customer_name else None,
                placed_at,
                placed_at,
            ],
        )
        (customer_id,) = cursor.fetchone()
        cursor.execute(_spend_upsert_sql(), [customer_id, order.currency, amount])
        if order.payment_link_id:
            cursor.execute(_link_upsert_sql(), [customer_id, order.payment_link_id, placed_at])


def customer_count_refund(*, order: Order, amount: int) -> None:
    """``amount`` of a paid order went back to its customer (negative: a counted refund failed): their
    total in the order's currency is net of it. Their orders still count: the order was placed."""
    if not order.customer_email:
        return
    table = _table(CustomerSpend)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET total = total - %s WHERE currency = %s AND customer_id = "
            f"(SELECT id FROM {_table(Customer)} WHERE email_key = UPPER(%s))",
            [amount, order.currency, order.customer_email],
        )


# REBUILD -------------------------------------------------------------------------------------------


def rebuild_statements(
    *, customer: str, spend: str, link: str, order: str, history: str, dispute: str
) -> list[str]:
    """The SQL that recounts the customers from the orders (tables emptied first), each step one
    GROUP BY: the same on PostgreSQL and SQLite. Migration 0020 runs a copy of it, with its table names.

    Paid orders are those with ``paid_at`` (set when first paid); their money is what they received (as
    ``links.fulfilment.order_amount_received``) less the refunds their history records (``refund`` rows,
    with ``refund_failed`` ones given back) and their lost disputes, as ``links.daily_revenue`` counts.
    """
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
        f"DELETE FROM {link}",
        f"DELETE FROM {spend}",
        f"DELETE FROM {customer}",
        f"INSERT INTO {customer} (email_key, email, name, orders_count, first_order_at, "
        f"last_order_at) SELECT UPPER(o.customer_email), MAX(o.customer_email), '', COUNT(*), "
        f"MIN(o.created_at), MAX(o.created_at) FROM {order} o WHERE {paid} GROUP BY UPPER(o.customer_email)",
        # The address and the name of each one's latest order (the name: the latest not blank), read
        # from the orders' index on (UPPER(customer_email), created_at DESC, id DESC).
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


def customers_rebuild() -> None:
    """Recount every customer from the orders (after a bulk load such as ``bench_seed``): reads every paid
    order, so not for a request."""
    statements = rebuild_statements(
        customer=_table(Customer),
        spend=_table(CustomerSpend),
        link=_table(CustomerLink),
        order=_table(Order),
        history=_table(OrderStatusChange),
        dispute=_table(Dispute),
    )
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


# READS: the customers pages ------------------------------------------------------------------------

# A search that is a whole e-mail address (as opposed to part of one or a name).
EMAIL_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Links named per customer in the list ("and 3 more" for the rest), and on a customer's page.
LIST_LINKS_SHOWN = 3
DETAIL_LINKS_SHOWN = 50


def _customer_search(query: str) -> Q:
    """A whole address is its key (the unique index, constant time) when a customer has it; anything else
    is looked for within the addresses and the names (trigram indexes on PostgreSQL, migration 0020)."""
    if EMAIL_ADDRESS.fullmatch(query):
        exact = Q(email_key=Upper(Value(query)))
        if Customer.objects.filter(exact).exists():
            return exact
    return Q(email__icontains=query) | Q(name__icontains=query)


def customer_list(
    *, query: str = "", sort: tuple[str, str] = ("last", DESCENDING), currency: str, count_cap: int
):
    """The customers for the list page, in the order asked for: a QuerySet, or for the total spent a
    ``CustomersByTotal`` (both paginate with ``CappedPaginator``).

    ``sort`` is ``(key, direction)`` from ``CustomerFilterForm``; the total spent is the one in
    ``currency`` (the shop's), and customers who bought nothing in it count as zero there. ``count_cap``
    is the paginator's cap, which ``CustomersByTotal`` counts up to.
    """
    customers = Customer.objects.all()
    if query:
        customers = customers.filter(_customer_search(query))
    key, direction = sort
    descending = direction == DESCENDING
    if key == "total":
        return CustomersByTotal(
            customers=customers, currency=currency, descending=descending, count_cap=count_cap
        )
    fields = {"orders": ("orders_count", "id"), "last": ("last_order_at", "id")}[key]
    return customers.order_by(*(f"-{field}" if descending else field for field in fields))


class CustomersByTotal:
    """The customers by total spent in one currency, as a sequence ``CappedPaginator`` can page: those who
    spent in it, in the order of the index on (currency, total, customer), and the others (zero in it:
    last when descending, first when ascending) by last order. Two index walks, never a sort of every
    customer, where one LEFT JOIN ordered by the spend's total would sort them all.
    """

    def __init__(
        self, *, customers: QuerySet[Customer], currency: str, descending: bool, count_cap: int
    ) -> None:
        spent = CustomerSpend.objects.filter(customer=OuterRef("pk"), currency=currency)
        sign = "-" if descending else ""
        with_spend = customers.filter(spends__currency=currency).order_by(f"{sign}spends__total", f"{sign}id")
        without = customers.filter(~Exists(spent)).order_by(f"{sign}last_order_at", f"{sign}id")
        self.parts = (with_spend, without) if descending else (without, with_spend)
        self.count_cap = count_cap

    def count_up_to(self, limit: int) -> int:
        """The number of customers, counting at most ``limit`` (each part's COUNT over a LIMIT)."""
        first = self.parts[0].order_by()[:limit].count()
        if first >= limit:
            return first
        return first + self.parts[1].order_by()[: limit - first].count()

    def __len__(self) -> int:
        # CappedPaginator asks for the length of what is not a QuerySet: counted up to just past its cap.
        return self.count_up_to(self.count_cap + 1)

    def __getitem__(self, window: slice) -> list[Customer]:
        start, stop = window.start or 0, window.stop
        first, second = self.parts
        rows = _rows(first, start, stop)
        if len(rows) == stop - start:
            return rows
        # The first part ends within this window (or before it): the rest from the second part.
        first_count = start + len(rows) if rows else first.order_by()[:start].count()
        return rows + _rows(second, start + len(rows) - first_count, stop - first_count)


def _rows(customers: QuerySet[Customer], start: int, stop: int) -> list[Customer]:
    """``customers[start:stop]``; deep in the list, their ids first (as CappedPaginator does for a
    QuerySet): the skipped rows are walked in the indexes only (16 ms instead of 41 for page 200 by total
    spent at 250,000 customers)."""
    if start < ID_FIRST_OFFSET:
        return list(customers[start:stop])
    ids = list(customers.values_list("pk", flat=True)[start:stop])
    return list(customers.filter(pk__in=ids)) if ids else []


def customers_page_details(*, customers: list[Customer], currency: str) -> None:
    """What the list shows beside each customer of a page, in two queries: ``totals`` (their spends, the
    shop's currency first) and ``links_shown`` (the links they last bought through, a few)."""
    ids = [customer.id for customer in customers]
    spends: dict[int, list[CustomerSpend]] = {}
    for spend in CustomerSpend.objects.filter(customer_id__in=ids):
        spends.setdefault(spend.customer_id, []).append(spend)
    links: dict[int, list[CustomerLink]] = {}
    # Each customer's links numbered, the latest first, and counted (the window sees them all before the
    # filter keeps the first few): one read of the unique index's entries of these customers.
    latest = (
        CustomerLink.objects.filter(customer_id__in=ids)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("customer_id")],
                order_by=[F("last_order_at").desc(), F("id").desc()],
            ),
            of=Window(Count("id"), partition_by=[F("customer_id")]),
        )
        .filter(rank__lte=LIST_LINKS_SHOWN)
        .select_related("payment_link")
        .order_by("customer_id", "rank")
    )
    for row in latest:
        links.setdefault(row.customer_id, []).append(row)
    for customer in customers:
        customer.totals = sorted(
            spends.get(customer.id, []), key=lambda spend: (spend.currency != currency, spend.currency)
        )
        customer.links_shown = links.get(customer.id, [])
        customer.links_more = (
            customer.links_shown[0].of - len(customer.links_shown) if customer.links_shown else 0
        )


def customer_get(*, customer_id: int) -> Customer:
    return get_object_or_404(Customer, id=customer_id)


def customer_spends(*, customer: Customer, currency: str) -> list[CustomerSpend]:
    return sorted(customer.spends.all(), key=lambda spend: (spend.currency != currency, spend.currency))


def customer_links(*, customer: Customer) -> tuple[list[CustomerLink], int]:
    """The links the customer bought through, the latest first, at most ``DETAIL_LINKS_SHOWN``, and how
    many more there are."""
    shown = list(
        customer.links.select_related("payment_link")
        .annotate(of=Window(Count("id")))  # all their links, counted in the same read
        .order_by("-last_order_at", "-id")[:DETAIL_LINKS_SHOWN]
    )
    return shown, (shown[0].of - len(shown) if shown else 0)


def customer_orders(*, customer: Customer) -> QuerySet[Order]:
    """Every order placed with the customer's address (whatever its status), newest first: iexact is
    UPPER(customer_email) = UPPER(address), the index "order_email_created" read in order."""
    return (
        Order.objects.filter(customer_email__iexact=customer.email)
        .select_related("payment_link")
        .order_by("-created_at", "-id")
    )


def customer_of_order(*, order: Order) -> Customer | None:
    """The order's customer (None before it is paid, or without an address): one lookup by key."""
    if not order.customer_email:
        return None
    return Customer.objects.filter(email_key=Upper(Value(order.customer_email))).first()


def orders_customer_ids(*, orders: list[Order]) -> None:
    """Set ``shop_customer_id`` on each order of a page (None if it has no customer), in one query over
    these rows only, each a lookup of the unique email_key by the database's own UPPER(): the orders list
    links each address to its customer. (As an annotation of the list's QuerySet, the paginator's count
    would run the lookup for every row it counts.)"""
    customer_id = Subquery(
        Customer.objects.filter(email_key=Upper(OuterRef("customer_email"))).order_by().values("id")[:1]
    )
    ids = dict(
        Order.objects.filter(pk__in=[order.pk for order in orders])
        .annotate(customer=customer_id)
        .values_list("pk", "customer")
    )
    for order in orders:
        order.shop_customer_id = ids.get(order.pk)
