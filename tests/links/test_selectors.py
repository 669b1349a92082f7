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


@pytest.mark.parametrize("query", ["poster", "POST", "po", "ost"])
def test_search_by_link_or_product_name_substring(query):
    by_name = PaymentLinkFactory(name="Poster sale")
    by_product = LineItemFactory(price=PriceFactory(product__name="Big poster"), payment_link__name="Bundle")
    PaymentLinkFactory(name="Mug")
    assert set(selectors.link_list(query=query)) == {by_name, by_product.payment_link}


def test_search_by_stripe_id_is_exact():
    link = PaymentLinkFactory(stripe_id="plink_1Searched")
    PaymentLinkFactory(stripe_id="plink_1Searched2")
    assert list(selectors.link_list(query="plink_1Searched")) == [link]


def test_search_combines_with_the_other_filters():
    active = PaymentLinkFactory(name="Poster", active=True)
    PaymentLinkFactory(name="Poster", active=False)
    assert list(selectors.link_list(query="poster", active=True)) == [active]


def test_sort_by_revenue():
    low, high = PaymentLinkFactory(revenue=100), PaymentLinkFactory(revenue=900)
    assert list(selectors.link_list(order_by=("-revenue", "-id"))) == [high, low]


def test_product_renamed_in_the_dashboard_is_found_in_the_links_that_sell_it():
    item = LineItemFactory(price__product__name="Poster", payment_link__name="Bundle")
    other = LineItemFactory(price__product__name="Mug", payment_link__name="Cups")
    product = item.price.product
    product.name = "Canvas print"
    product.save()  # as catalog.services.product_sync_from_stripe does
    assert list(selectors.link_list(query="canvas")) == [item.payment_link]
    assert list(selectors.link_list(query="poster")) == []
    other.payment_link.refresh_from_db()
    assert other.payment_link.search_text == "Cups | Mug"


def test_search_text_of_an_ad_hoc_price_is_the_item_description():
    link = PaymentLinkFactory(name="Donation")
    LineItemFactory(payment_link=link, price=None, stripe_price_id="price_adhoc", description="Tip jar")
    link.refresh_from_db()
    assert link.search_text == "Donation | Tip jar"
    assert list(selectors.link_list(query="tip jar")) == [link]
