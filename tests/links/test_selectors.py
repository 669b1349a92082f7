from __future__ import annotations

import pytest
from django.urls import reverse

from links import selectors
from tests.catalog.factories import PriceFactory
from tests.links.factories import LineItemFactory, PaymentLinkFactory

pytestmark = pytest.mark.django_db


def _list_queries(staff_client, django_assert_max_num_queries, count: int, **params) -> None:
    with django_assert_max_num_queries(count):
        assert staff_client.get(reverse("links:list"), params).status_code == 200


def test_list_query_count_does_not_grow_with_links(staff_client, django_assert_max_num_queries):
    LineItemFactory.create_batch(3)
    _list_queries(staff_client, django_assert_max_num_queries, 8, q="product")
    LineItemFactory.create_batch(30)
    _list_queries(staff_client, django_assert_max_num_queries, 8, q="product")
    _list_queries(staff_client, django_assert_max_num_queries, 8)


def test_search_by_product_does_not_duplicate_links():
    price = PriceFactory(product__name="Poster")
    link = PaymentLinkFactory(name="Bundle")
    LineItemFactory(payment_link=link, price=price)
    LineItemFactory(payment_link=link, price=price)
    assert list(selectors.link_list(query="poster")) == [link]


def test_sort_by_revenue():
    low, high = PaymentLinkFactory(revenue=100), PaymentLinkFactory(revenue=900)
    assert list(selectors.link_list(sort="-revenue")) == [high, low]
