"""The searches' trigram indexes (PostgreSQL only): created by the migrations, and usable by the queries
Django writes for ``icontains``, so the index's expression must be exactly the lookup's."""

from __future__ import annotations

import pytest
from django.db import connection
from django.http import QueryDict

from links import customers, order_views, selectors
from links.models import Customer

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram indexes exist on PostgreSQL only"),
]

TRIGRAM_INDEXES = {
    "order_email_trgm": "links_order",
    "link_search_trgm": "links_paymentlink",
    "customer_email_trgm": "links_customer",
    "customer_name_trgm": "links_customer",
}


def _plan(queryset) -> str:
    """The plan PostgreSQL picks when a scan is priced out: it names an index only if one can serve."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_migrations_create_the_trigram_indexes():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, tablename, indexdef FROM pg_indexes WHERE indexname = ANY(%s)",
            [list(TRIGRAM_INDEXES)],
        )
        found = {name: (table, definition) for name, table, definition in cursor.fetchall()}
    assert {name: table for name, (table, _) in found.items()} == TRIGRAM_INDEXES
    assert all("gin_trgm_ops" in definition for _, definition in found.values())


def test_order_email_search_can_use_its_index():
    orders, _filters = order_views._filtered_orders(QueryDict("q=customer12"))
    assert "order_email_trgm" in _plan(orders.order_by())


def test_link_search_can_use_its_index():
    assert "link_search_trgm" in _plan(selectors.link_list(query="poster").order_by())


@pytest.mark.parametrize("name", ["link_name_trgm", "product_name_trgm"])
def test_indexes_no_search_reads_are_gone(name):
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE indexname = %s", [name])
        assert cursor.fetchone()[0] == 0


def test_customer_search_can_use_both_its_indexes():
    # Part of an address or a name: a BitmapOr of the two trigram indexes.
    plan = _plan(customers.customer_list(query="hopper", currency="eur", count_cap=1000).order_by())
    assert "customer_email_trgm" in plan and "customer_name_trgm" in plan


def test_the_customers_sorts_and_a_customers_orders_read_their_indexes():
    last = customers.customer_list(currency="eur", count_cap=1000)[:50]
    assert "customer_last_order" in _plan(last)
    by_orders = customers.customer_list(sort=("orders", "ascending"), currency="eur", count_cap=1000)
    assert "customer_orders" in _plan(by_orders[:50])
    by_total = customers.customer_list(sort=("total", "descending"), currency="eur", count_cap=1000)
    assert "customer_spend_total" in _plan(by_total.parts[0][:50])
    customer = Customer(email="ada@example.com", email_key="ADA@EXAMPLE.COM")
    assert "order_email_created" in _plan(customers.customer_orders(customer=customer)[:50])
