"""The busy pages cost a fixed number of queries, whatever the number of links and orders (issue 6)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from links.models import Customer
from tests.links.factories import OrderFactory, PaymentLinkFactory

pytestmark = pytest.mark.django_db

# Each page's ceiling: session, user, its own reads. Checked at two data sizes, so growth would show.
PAGE_QUERY_LIMITS = {"home": 12, "orders:list": 10, "links:detail": 12, "orders:detail": 14}


def _seed(links: int, orders_per_link: int):
    created = [PaymentLinkFactory() for _ in range(links)]
    for link in created:
        for _ in range(orders_per_link):
            OrderFactory(payment_link=link)
    return created[0]


def _url(name: str, link) -> str:
    if name == "links:detail":
        return reverse(name, args=[link.public_id])
    if name == "orders:detail":
        return reverse(name, args=[link.orders.first().public_id])
    return reverse(name)


@pytest.mark.parametrize("name", PAGE_QUERY_LIMITS)
def test_page_queries_do_not_grow_with_data(staff_client, django_assert_max_num_queries, name):
    link = _seed(links=2, orders_per_link=2)
    with django_assert_max_num_queries(PAGE_QUERY_LIMITS[name]) as small:
        assert staff_client.get(_url(name, link)).status_code == 200

    _seed(links=12, orders_per_link=4)
    with django_assert_max_num_queries(PAGE_QUERY_LIMITS[name]) as large:
        assert staff_client.get(_url(name, link)).status_code == 200

    assert len(large.captured_queries) == len(small.captured_queries)


# The customers pages: the list in each order and searched, and one customer's page. Each ceiling is
# what the page reads (session, user, the shop's currency, the count, the rows, their totals and links).
CUSTOMER_PAGE_LIMITS = {
    "/customers/": 10,
    "/customers/?sort=-total": 12,
    "/customers/?sort=total": 12,
    "/customers/?sort=-orders": 10,
    "/customers/?q=example": 10,
    "customer": 10,
}


def _seed_customers(customers: int, orders_each: int, *, regular_orders: int = 0) -> None:
    from django.utils import timezone

    from links.customers import customers_rebuild
    from tests.catalog.factories import PriceFactory

    PriceFactory(currency="eur")
    start = Customer.objects.count()
    for n in range(start, start + customers):
        for m in range(orders_each):
            # Every few customers bought in another currency only; each order through a link of its own.
            OrderFactory(
                customer_email=f"buyer{n}@example.com",
                currency="usd" if n % 3 == 0 else "eur",
                paid_at=timezone.now(),
                amount_total=1000 + m,
            )
    for _ in range(regular_orders):  # a regular customer, whose page has more than one page of orders
        OrderFactory(customer_email="regular@example.com", currency="eur", paid_at=timezone.now())
    customers_rebuild()


@pytest.mark.parametrize("page", CUSTOMER_PAGE_LIMITS)
def test_customer_pages_queries_do_not_grow_with_data(staff_client, django_assert_max_num_queries, page):
    def url() -> str:
        if page == "customer":
            busiest = Customer.objects.order_by("-orders_count", "id").first()
            return reverse("customers:detail", args=[busiest.id])
        return page

    _seed_customers(customers=3, orders_each=1)
    with django_assert_max_num_queries(CUSTOMER_PAGE_LIMITS[page]) as small:
        assert staff_client.get(url()).status_code == 200

    _seed_customers(customers=60, orders_each=5, regular_orders=55)
    with django_assert_max_num_queries(CUSTOMER_PAGE_LIMITS[page]) as large:
        response = staff_client.get(url())
        assert response.status_code == 200
    # A full page of customers, or of the regular's orders: a second page exists.
    assert len(response.context["page"].object_list) == 50
    if page == "customer":  # 55 links: 50 named, the rest counted
        assert "And 5 more links." in response.content.decode()
    assert len(large.captured_queries) == len(small.captured_queries)
