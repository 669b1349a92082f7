"""Every dashboard list filters, sorts by its columns and keeps both across its links (issue 26, part 4)."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from catalog.models import Coupon, PromotionCode, ShippingRate
from links.models import Order, OutboundEmail
from tests.catalog.factories import PriceFactory, ProductFactory
from tests.links.factories import OrderFactory, PaymentLinkFactory
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db
_unique = itertools.count()


def _links(n: int) -> None:
    for i in range(n):
        PaymentLinkFactory(name=f"Link {chr(ord('a') + i)}", revenue=100 * i, orders_count=i)


def _orders(n: int) -> None:
    link = PaymentLinkFactory(name="Posters")
    for i in range(n):
        OrderFactory(payment_link=link, amount_total=1000 + i, customer_email=f"c{i}@example.com")


def _emails(n: int) -> None:
    order = OrderFactory()
    statuses = [OutboundEmail.Status.SENT, OutboundEmail.Status.FAILED, OutboundEmail.Status.PENDING]
    for i in range(n):
        OutboundEmail.objects.create(
            order=order,
            kind=OutboundEmail.Kind.INVOICE,
            stripe_object_id=f"in_{i}",
            to=f"c{i}@example.com",
            subject=f"Invoice {i}",
            status=statuses[i % 3],
        )


def _events(n: int) -> None:
    tag = next(_unique)
    for i in range(n):
        WebhookEvent.objects.create(
            stripe_event_id=f"evt_{tag}_{i}",
            type=f"product.{'created' if i % 2 else 'updated'}",
            created=i,
            payload={},
            object_id=f"prod_{tag}_{i}",
        )


def _products(n: int) -> None:
    for i in range(n):
        product = ProductFactory(name=f"Product {chr(ord('a') + i)}")
        for _ in range(i):
            PriceFactory(product=product)


def _coupons(n: int) -> None:
    tag = next(_unique)
    for i in range(n):
        Coupon.objects.create(
            stripe_id=f"co_{tag}_{i}",
            name=f"Coupon {chr(ord('a') + i)}",
            times_redeemed=i,
        )


def _codes(n: int) -> Coupon:
    coupon = Coupon.objects.create(stripe_id="co_codes", name="Codes")
    for i in range(n):
        PromotionCode.objects.create(
            stripe_id=f"promo_{i}", coupon=coupon, code=f"CODE{chr(ord('A') + i)}", times_redeemed=i
        )
    return coupon


def _rates(n: int) -> None:
    for i in range(n):
        ShippingRate.objects.create(
            stripe_id=f"shr_{next(_unique)}",
            display_name=f"Rate {chr(ord('a') + i)}",
            amount=100 + i,
            currency="eur",
        )


@dataclass
class ListPage:
    url: str  # a URL name, or "catalog:coupon-detail" (its coupon is made by make())
    make: object  # make(n): n rows
    key: str  # a sort key of the list
    value: object  # value(row): what that key sorts by
    filter: dict  # a filter that keeps every row made
    rows: str = "page"  # the context entry listing the rows: a page, or the rows themselves

    def path(self, made) -> str:
        return reverse(self.url, args=[made.stripe_id]) if isinstance(made, Coupon) else reverse(self.url)

    def shown(self, response) -> list:
        rows = response.context[self.rows]
        return list(rows.object_list if self.rows == "page" else rows)


LISTS = {
    "links": ListPage("links:list", _links, "revenue", lambda r: r.revenue, {"currency": "usd"}),
    "links by name": ListPage("links:list", _links, "name", lambda r: r.name, {"active": "true"}),
    "orders": ListPage("orders:list", _orders, "total", lambda r: r.amount_total, {"status": "paid"}),
    "e-mails": ListPage("orders:email-list", _emails, "status", lambda r: r.status, {"kind": "invoice"}),
    "events": ListPage("webhooks:event-list", _events, "type", lambda r: r.type, {"status": "pending"}),
    "products": ListPage(
        "catalog:product-list", _products, "prices", lambda r: r.prices_count, {"q": "Product"}
    ),
    "coupons": ListPage(
        "catalog:coupon-list", _coupons, "redeemed", lambda r: r.times_redeemed, {"q": "Coupon"}
    ),
    "codes": ListPage("catalog:coupon-detail", _codes, "code", lambda r: r.code, {"q": "CODE"}, rows="codes"),
    "shipping rates": ListPage(
        "catalog:shipping-rate-list", _rates, "amount", lambda r: r.amount, {"active": "true"}, rows="rates"
    ),
}


def _sort_link(html: str, label: str) -> tuple[str, str]:
    """The href and aria-sort of the column header named ``label``."""
    match = re.search(
        r'<th scope="col"(?: aria-sort="(\w+)")?[^>]*><a href="([^"]+)" class="sort-link">' + label + "</a>",
        html,
    )
    assert match, f"no sortable header {label!r}"
    return unescape(match.group(2)), match.group(1) or ""


@pytest.mark.parametrize("name", LISTS)
def test_each_list_sorts_by_a_column_both_ways(staff_client, name):
    spec = LISTS[name]
    path = spec.path(spec.make(4))
    ascending = [spec.value(r) for r in spec.shown(staff_client.get(path, {"sort": spec.key}))]
    descending = [spec.value(r) for r in spec.shown(staff_client.get(path, {"sort": f"-{spec.key}"}))]
    assert len(ascending) == 4
    assert ascending == sorted(ascending) and ascending != sorted(ascending, reverse=True)
    assert descending == ascending[::-1]


@pytest.mark.parametrize("name", LISTS)
def test_an_unknown_sort_key_is_ignored(staff_client, name):
    spec = LISTS[name]
    path = spec.path(spec.make(3))
    default = staff_client.get(path)
    for junk in ("secret_field", "-payload", "name;--", "\x00"):
        response = staff_client.get(path, {"sort": junk})
        assert response.status_code == 200
        assert spec.shown(response) == spec.shown(default)


@pytest.mark.parametrize("name", LISTS)
def test_sort_links_keep_the_filters_and_say_which_column_sorts(staff_client, name):
    spec = LISTS[name]
    path = spec.path(spec.make(3))
    html = staff_client.get(path, {**spec.filter, "sort": spec.key}).text
    column = str(spec_label(staff_client, path, spec.key))
    href, aria_sort = _sort_link(html, column)
    assert aria_sort == "ascending"
    query = parse_qs(urlsplit(href).query)
    # The header reverses the sort and keeps every filter.
    assert query.pop("sort") == [f"-{spec.key}"]
    assert {k: v[0] for k, v in query.items()} == spec.filter
    # The filter bar carries the sort (its select), so that a new filter keeps it; "Clear" starts again.
    assert f'<option value="{spec.key}" selected>' in html
    assert 'class="clear-filters"' in html


def spec_label(client, path, key):
    return client.get(path).context["filters"].headers[key].label


@pytest.mark.parametrize(
    ("url", "per_page", "make"),
    [
        ("links:list", "links.views.LINKS_PER_PAGE", _links),
        ("orders:list", "links.order_views.ORDERS_PER_PAGE", _orders),
        ("orders:email-list", "links.order_views.EMAILS_PER_PAGE", _emails),
        ("webhooks:event-list", "webhooks.views.EVENTS_PER_PAGE", _events),
        ("catalog:product-list", "catalog.views.PRODUCTS_PER_PAGE", _products),
        ("catalog:coupon-list", "catalog.views.COUPONS_PER_PAGE", _coupons),
    ],
)
def test_pagination_keeps_filters_and_sort(staff_client, monkeypatch, url, per_page, make):
    monkeypatch.setattr(per_page, 2)
    make(5)
    form = staff_client.get(reverse(url)).context["filters"]
    key = next(iter(form.sorts))
    html = staff_client.get(reverse(url), {"sort": key, "q": ""}).text
    next_link = unescape(re.search(r'<a href="\?([^"]+)"[^>]*rel="next"', html).group(1))
    assert parse_qs(next_link, keep_blank_values=True) == {"sort": [key], "q": [""], "page": ["2"]}


def test_orders_filters_refuse_a_bad_date_at_its_field_and_apply_the_others(staff_client):
    _orders(2)
    Order.objects.filter(customer_email="c0@example.com").update(status=Order.Status.EXPIRED)
    response = staff_client.get(reverse("orders:list"), {"date_from": "31/02/2026", "status": "paid"})
    assert response.status_code == 200
    assert "date_from" in response.context["filters"].errors
    assert [o.customer_email for o in response.context["page"].object_list] == ["c1@example.com"]


def test_outbox_search_finds_a_recipients_whole_address_whatever_its_case(staff_client):
    _emails(3)
    found = staff_client.get(reverse("orders:email-list"), {"q": "C1@Example.com"}).context["page"]
    assert [e.to for e in found.object_list] == ["c1@example.com"]


def test_events_search_by_event_or_object_id(staff_client):
    _events(3)
    event = WebhookEvent.objects.order_by("id")[1]
    for query in (event.stripe_event_id, event.object_id):
        page = staff_client.get(reverse("webhooks:event-list"), {"q": query}).context["page"]
        assert list(page.object_list) == [event]


def test_coupons_filter_by_validity(staff_client):
    _coupons(2)
    expired = Coupon.objects.first()
    Coupon.objects.filter(pk=expired.pk).update(valid=False)
    page = staff_client.get(reverse("catalog:coupon-list"), {"valid": "false"}).context["page"]
    assert list(page.object_list) == [expired]


# Each list's ceiling, sorted and filtered: the same count at two data sizes shows that it does not grow.
QUERY_LIMITS = {
    "links:list": 8,
    "orders:list": 10,
    "orders:email-list": 8,
    "webhooks:event-list": 14,
    "catalog:product-list": 8,
    "catalog:coupon-list": 8,
    "catalog:shipping-rate-list": 6,
}
MAKERS = {
    "links:list": _links,
    "orders:list": _orders,
    "orders:email-list": _emails,
    "webhooks:event-list": _events,
    "catalog:product-list": _products,
    "catalog:coupon-list": _coupons,
    "catalog:shipping-rate-list": _rates,
}


@pytest.mark.parametrize("url", QUERY_LIMITS)
def test_list_queries_do_not_grow_with_rows(staff_client, django_assert_max_num_queries, url):
    MAKERS[url](2)
    form = staff_client.get(reverse(url)).context["filters"]
    params = {"sort": f"-{list(form.sorts)[-1]}"}
    with django_assert_max_num_queries(QUERY_LIMITS[url]) as small:
        assert staff_client.get(reverse(url), params).status_code == 200
    MAKERS[url](6)
    with django_assert_max_num_queries(QUERY_LIMITS[url]) as large:
        assert staff_client.get(reverse(url), params).status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)
