"""The busy pages cost a fixed number of queries, whatever the number of links and orders (issue 6)."""

from __future__ import annotations

import pytest
from django.urls import reverse

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
