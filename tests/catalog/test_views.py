from __future__ import annotations

import pytest
from django.urls import reverse

from catalog.forms import NO_DECIMALS
from tests.catalog.factories import PriceFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def product():
    return PriceFactory(product__name="Poster").product


def _urls(product) -> list[str]:
    return [
        reverse("catalog:product-list"),
        reverse("catalog:product-create"),
        reverse("catalog:product-detail", args=[product.stripe_id]),
        reverse("catalog:price-create", args=[product.stripe_id]),
        reverse("catalog:shipping-rate-list"),
    ]


def test_anonymous_is_sent_to_login(client, product):
    for url in _urls(product):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_non_staff_is_forbidden(client, other_user, product):
    client.force_login(other_user)
    for url in _urls(product):
        assert client.get(url).status_code == 403


def test_staff_sees_every_page(staff_client, product):
    for url in _urls(product):
        assert staff_client.get(url).status_code == 200


def test_product_list_full_page_and_fragment(staff_client, product):
    full = staff_client.get(reverse("catalog:product-list"))
    fragment = staff_client.get(reverse("catalog:product-list"), {"q": "post"}, HTTP_HX_REQUEST="true")
    assert b"<html" in full.content and b'id="product-table"' in full.content
    assert b"<html" not in fragment.content
    assert fragment.content.lstrip().startswith(b'<section id="product-table"')
    assert b"Poster" in fragment.content


def test_product_list_search_and_empty_state(staff_client, product):
    ProductFactory(name="Mug")
    response = staff_client.get(reverse("catalog:product-list"), {"q": "mug"})
    assert b"Mug" in response.content and b"Poster" not in response.content
    nothing = staff_client.get(reverse("catalog:product-list"), {"q": "nothing-like-this"})
    assert b"No product matches" in nothing.content


def test_product_detail_lists_prices(staff_client, product):
    response = staff_client.get(reverse("catalog:product-detail", args=[product.stripe_id]))
    assert b"15.00 USD" in response.content


def test_unknown_product_is_404(staff_client):
    assert staff_client.get(reverse("catalog:product-detail", args=["prod_missing"])).status_code == 404


def _create_data(**overrides) -> dict:
    return {
        "name": "Mug",
        "description": "",
        "unit_amount": "12.50",
        "currency": "usd",
        "type": "one_time",
        "interval": "",
        "interval_count": "1",
        "tax_behavior": "unspecified",
        "request_token": "a" * 32,
        **overrides,
    }


def test_invalid_product_form_answers_422_with_errors_at_fields(staff_client):
    response = staff_client.post(
        reverse("catalog:product-create"), _create_data(name="", unit_amount="10.5", currency="jpy")
    )
    assert response.status_code == 422
    assert b"<html" in response.content
    form = response.context["form"]
    assert "name" in form.errors
    assert form.errors["unit_amount"] == [NO_DECIMALS % {"currency": "JPY", "places": 0}]


def test_invalid_product_form_fragment_for_htmx(staff_client):
    response = staff_client.post(
        reverse("catalog:product-create"), _create_data(name=""), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 422
    assert response.content.lstrip().startswith(b'<form id="product-form"')
    assert b"data-error-summary" in response.content


def test_recurring_price_needs_an_interval(staff_client):
    response = staff_client.post(reverse("catalog:product-create"), _create_data(type="recurring"))
    assert response.status_code == 422
    assert "interval" in response.context["form"].errors


def test_form_carries_a_request_token(staff_client):
    response = staff_client.get(reverse("catalog:product-create"))
    assert b'name="request_token"' in response.content


def test_product_list_query_count_does_not_grow(staff_client, django_assert_max_num_queries):
    PriceFactory.create_batch(3)
    with django_assert_max_num_queries(8):
        staff_client.get(reverse("catalog:product-list"))
    PriceFactory.create_batch(30)
    with django_assert_max_num_queries(8):
        assert staff_client.get(reverse("catalog:product-list")).status_code == 200


def test_new_prices_rates_and_coupons_start_in_the_shops_currency(staff_client):
    from catalog.forms import (
        CouponForm,
        PriceCreateForm,
        ProductCreateForm,
        PromotionCodeForm,
        ShippingRateForm,
    )

    # An empty catalog: Stripe's own default.
    assert ProductCreateForm()["currency"].initial == "usd"
    PriceFactory(currency="eur")
    PriceFactory(currency="eur")
    PriceFactory(currency="gbp")
    for form, field in [
        (ProductCreateForm(), "currency"),
        (PriceCreateForm(), "currency"),
        (ShippingRateForm(), "currency"),
        (CouponForm(), "currency"),
        (PromotionCodeForm(), "minimum_amount_currency"),
    ]:
        assert form[field].initial == "eur", type(form).__name__
    page = staff_client.get(reverse("catalog:shipping-rate-list")).text
    assert '<option value="eur" selected>' in page
    # A form sent back keeps what was sent.
    assert ShippingRateForm({"currency": "gbp"})["currency"].value() == "gbp"
