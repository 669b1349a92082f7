"""The orders list's "Refunds" filter: refunded fully or partially, or either, from the order's own amount
refunded, read through its partial index (PostgreSQL's plan checked)."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.http import QueryDict

from links import order_views
from tests.links.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders():
    return {
        "none": OrderFactory(customer_email="none@example.com", amount_total=1000),
        "part": OrderFactory(customer_email="part@example.com", amount_total=1000, amount_refunded=400),
        "full": OrderFactory(customer_email="full@example.com", amount_total=1000, amount_refunded=1000),
    }


@pytest.mark.parametrize(
    ("refunded", "shown"),
    [("", {"none", "part", "full"}), ("any", {"part", "full"}), ("full", {"full"}), ("partial", {"part"})],
)
def test_the_list_filters_by_refunds(staff_client, orders, refunded, shown):
    page = staff_client.get("/orders/", {"refunded": refunded}).content.decode()
    assert {name for name in orders if f"{name}@example.com" in page} == shown


def test_the_filter_bar_offers_it(staff_client, orders):
    page = staff_client.get("/orders/").content.decode()
    assert 'name="refunded"' in page and "Refunded (fully or partially)" in page


def test_an_unknown_value_is_ignored(staff_client, orders):
    page = staff_client.get("/orders/", {"refunded": "maybe"}).content.decode()
    assert all(f"{name}@example.com" in page for name in orders)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
def test_the_filter_reads_its_partial_index(orders):
    queryset, _filters = order_views._filtered_orders(QueryDict("refunded=any"))
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "order_refunded" in plan


def test_the_export_has_the_amount_refunded(staff_client, orders):
    response = staff_client.get("/orders/export.csv", {"refunded": "partial"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [(row["customer_email"], row["amount_refunded"]) for row in rows] == [("part@example.com", "400")]
