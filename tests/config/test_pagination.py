"""The capped paginator: exact below the cap, "more than" above it, and every page still reachable."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Product
from config.pagination import CappedPaginator
from tests.catalog.factories import ProductFactory
from tests.links.factories import PaymentLinkFactory

pytestmark = pytest.mark.django_db


def _products(count: int):
    ProductFactory.create_batch(count)
    return Product.objects.order_by("id")


def test_exact_below_the_cap():
    paginator = CappedPaginator(_products(5), 2, cap=5)
    assert (paginator.count, paginator.num_pages, paginator.capped) == (5, 3, False)
    last = paginator.get_page(3)
    assert (len(last), last.has_next(), last.end_index()) == (1, False, 5)


def test_capped_above_the_cap():
    paginator = CappedPaginator(_products(7), 2, cap=4)
    assert (paginator.count, paginator.num_pages, paginator.capped) == (4, 2, True)


def test_count_reads_at_most_cap_plus_one_rows():
    paginator = CappedPaginator(_products(7), 2, cap=4)
    with CaptureQueriesContext(connection) as queries:
        assert paginator.count == 4
    (count,) = queries.captured_queries
    assert "LIMIT 5" in count["sql"] and "ORDER BY" not in count["sql"]


def test_last_counted_page_offers_next_when_capped():
    products = _products(7)
    page = CappedPaginator(products, 2, cap=4).get_page(2)
    assert list(page) == list(products[2:4])
    assert page.has_next() and page.next_page_number() == 3


def test_page_beyond_the_cap_is_reachable():
    products = _products(7)
    page = CappedPaginator(products, 2, cap=4).get_page(4)
    assert page.number == 4
    assert list(page) == [products[6]]
    assert not page.has_next() and page.has_previous()
    assert (page.start_index(), page.end_index()) == (7, 7)


def test_page_beyond_the_end_falls_back_to_the_last_counted_page():
    page = CappedPaginator(_products(7), 2, cap=4).get_page(9)
    assert page.number == 2


def test_not_a_number_gives_the_first_page():
    assert CappedPaginator(_products(7), 2, cap=4).get_page("x").number == 1


def test_list_page_says_more_than_when_capped(staff_client, monkeypatch):
    monkeypatch.setattr("links.views.LINKS_PER_PAGE", 2)
    monkeypatch.setattr("config.pagination.COUNT_CAP", 4)
    PaymentLinkFactory.create_batch(7)
    response = staff_client.get(reverse("links:list"), {"page": 2})
    assert "Page 2 of more than 2" in response.text
    assert 'rel="next"' in response.text
    beyond = staff_client.get(reverse("links:list"), {"page": 4})
    assert "Page 4 of more than 2" in beyond.text
    assert 'rel="next"' not in beyond.text


def test_list_page_is_exact_below_the_cap(staff_client, monkeypatch):
    monkeypatch.setattr("links.views.LINKS_PER_PAGE", 2)
    PaymentLinkFactory.create_batch(3)
    response = staff_client.get(reverse("links:list"))
    assert "Page 1 of 2" in response.text
    assert 'rel="next"' in response.text


def _two_rows(page: str) -> None:
    from links.models import OutboundEmail
    from tests.links.factories import OrderFactory
    from webhooks.models import WebhookEvent

    if page == "links:list":
        PaymentLinkFactory.create_batch(2)
    elif page == "orders:list":
        OrderFactory.create_batch(2)
    elif page == "orders:email-list":
        for order in OrderFactory.create_batch(2):
            OutboundEmail.objects.create(
                order=order, kind="order_confirmation", to="a@example.com", subject="S"
            )
    else:
        for n in range(2):
            WebhookEvent.objects.create(
                stripe_event_id=f"evt_{n}", type="product.updated", created=1, payload={}
            )


@pytest.mark.parametrize(
    ("page", "per_page"),
    [
        ("links:list", "links.views.LINKS_PER_PAGE"),
        ("orders:list", "links.order_views.ORDERS_PER_PAGE"),
        ("orders:email-list", "links.order_views.EMAILS_PER_PAGE"),
        ("webhooks:event-list", "webhooks.views.EVENTS_PER_PAGE"),
    ],
)
def test_every_long_list_caps_its_count(staff_client, monkeypatch, page, per_page):
    monkeypatch.setattr(per_page, 1)
    monkeypatch.setattr("config.pagination.COUNT_CAP", 1)
    _two_rows(page)
    response = staff_client.get(reverse(page))
    assert "Page 1 of more than 1" in response.text
    assert 'rel="next"' in response.text


@pytest.mark.parametrize("cap", [4, 100])
def test_deep_pages_read_their_ids_first_and_give_the_same_rows(monkeypatch, cap):
    products = _products(9).order_by("-name", "id")
    expected = [list(CappedPaginator(products, 2, cap=cap).get_page(n)) for n in (3, 4)]
    monkeypatch.setattr("config.pagination.ID_FIRST_OFFSET", 4)
    paginator = CappedPaginator(products, 2, cap=cap)
    paginator.count  # noqa: B018 - counted beforehand, as the pager does
    with CaptureQueriesContext(connection) as queries:
        deep = [list(paginator.get_page(n)) for n in (3, 4)]
    assert deep == expected
    # Each page: its ids past the offset, then its rows by id.
    assert len(queries.captured_queries) == 4
    assert all(
        "LIMIT" in q["sql"] and '"name"' not in q["sql"].split("FROM")[0]
        for q in queries.captured_queries[::2]
    )


def test_an_empty_list_reads_no_rows(django_assert_num_queries):
    paginator = CappedPaginator(Product.objects.order_by("id"), 2)
    with django_assert_num_queries(1):  # the count
        page = paginator.get_page(1)
    assert (list(page), page.has_next()) == ([], False)
