"""Catalog services against the sandbox over HTTP (the live server), as in production."""

from __future__ import annotations

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.urls import reverse

from catalog import services
from catalog.models import Price, Product
from config.stripe_calls import RATE_LIMITED, field_for_param
from tests.catalog.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "0123456789abcdef0123456789abcdef"


def test_product_create_with_price_stores_what_stripe_returned(stripe_client):
    product = services.product_create_with_price(
        name="Mug", description="Blue", currency="jpy", unit_amount=1500, request_token=TOKEN
    )
    price = product.prices.get()
    remote = stripe_client.v1.products.retrieve(product.stripe_id)
    assert remote.name == "Mug"
    assert remote.default_price == price.stripe_id
    assert (price.currency, price.unit_amount, price.type) == ("jpy", 1500, Price.Type.ONE_TIME)


def test_recurring_first_price(stripe_client):
    product = services.product_create_with_price(
        name="Club", currency="eur", unit_amount=900, interval="month", interval_count=3, request_token=TOKEN
    )
    price = product.prices.get()
    assert (price.type, price.recurring_interval, price.recurring_interval_count) == ("recurring", "month", 3)


def test_retried_save_creates_one_stripe_product(stripe_client):
    first = services.product_create_with_price(
        name="Mug", currency="usd", unit_amount=100, request_token=TOKEN
    )
    again = services.product_create_with_price(
        name="Mug", currency="usd", unit_amount=100, request_token=TOKEN
    )
    assert again.pk == first.pk
    assert Product.objects.count() == 1
    assert len(stripe_client.v1.products.list().data) == 1


def test_interval_over_three_years_is_refused_before_stripe(stripe_client):
    with pytest.raises(ValidationError) as error:
        services.product_create_with_price(
            name="X",
            currency="usd",
            unit_amount=100,
            interval="month",
            interval_count=37,
            request_token=TOKEN,
        )
    assert "interval_count" in error.value.error_dict
    assert stripe_client.v1.products.list().data == []


def test_stripe_error_without_a_form_field_is_a_non_field_error(stripe_client):
    product = ProductFactory(stripe_id="prod_not_in_stripe")
    with pytest.raises(ValidationError) as error:
        services.price_create(product=product, currency="usd", unit_amount=100, request_token=TOKEN)
    assert "prod_not_in_stripe" in error.value.error_dict[NON_FIELD_ERRORS][0].message
    assert not Price.objects.exists()


def test_stripe_params_map_to_form_fields():
    assert field_for_param("recurring[interval]", services.PRICE_PARAM_FIELDS) == "interval"
    assert field_for_param("tiers[1][up_to]", services.PRICE_PARAM_FIELDS) == "tiers"
    assert field_for_param("default_price_data[unit_amount]", services.PRICE_PARAM_FIELDS) == "unit_amount"
    assert field_for_param("shipping_options", services.PRICE_PARAM_FIELDS) == NON_FIELD_ERRORS


def test_rate_limit_is_a_non_field_error_and_nothing_is_saved(stripe_client, settings):
    settings.SANDBOX_FAULTS = "api_429=1"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    with pytest.raises(ValidationError) as error:
        services.product_create_with_price(name="X", currency="usd", unit_amount=100, request_token=TOKEN)
    assert error.value.error_dict[NON_FIELD_ERRORS][0].message == RATE_LIMITED
    assert not Product.objects.exists() and not Price.objects.exists()


def test_price_models(stripe_client):
    product = services.product_create_with_price(
        name="Paper", currency="usd", unit_amount=100, request_token=TOKEN
    )
    tiered = services.price_create(
        product=product,
        currency="usd",
        tiers_mode="volume",
        tiers=[{"up_to": 10, "unit_amount": 500}, {"up_to": None, "unit_amount": 400, "flat_amount": 100}],
        request_token=TOKEN,
    )
    package = services.price_create(
        product=product,
        currency="usd",
        unit_amount=1000,
        transform_quantity={"divide_by": 5, "round": "up"},
        request_token=TOKEN,
    )
    chooses = services.price_create(
        product=product,
        currency="usd",
        custom_unit_amount={"minimum": 500, "maximum": 5000, "preset": 1000},
        request_token=TOKEN,
    )
    assert (tiered.billing_scheme, tiered.tiers_mode, len(tiered.tiers)) == ("tiered", "volume", 2)
    assert tiered.tiers[-1]["up_to"] is None
    assert package.transform_quantity == {"divide_by": 5, "round": "up"}
    assert chooses.custom_unit_amount["preset"] == 1000
    assert product.prices.count() == 4


def test_tiers_must_end_unbounded(stripe_client):
    product = ProductFactory()
    with pytest.raises(ValidationError) as error:
        services.price_create(
            product=product, currency="usd", tiers=[{"up_to": 10, "unit_amount": 5}], request_token=TOKEN
        )
    assert error.value.error_dict["tiers"][0].message == services.TIERS_LAST_UNBOUNDED


def test_create_view_end_to_end(sandbox, staff_client):
    data = {
        "name": "Mug",
        "description": "",
        "unit_amount": "12.50",
        "currency": "eur",
        "type": "one_time",
        "interval": "",
        "interval_count": "1",
        "tax_behavior": "unspecified",
        "request_token": TOKEN,
    }
    response = staff_client.post(reverse("catalog:product-create"), data)
    product = Product.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("catalog:product-detail", args=[product.stripe_id])
    assert product.prices.get().unit_amount == 1250
    page = staff_client.get(response["Location"])
    assert "Product “Mug” created." in page.content.decode()


def test_create_view_for_htmx_redirects_the_client(sandbox, staff_client):
    data = {
        "name": "Mug",
        "description": "",
        "unit_amount": "3",
        "currency": "usd",
        "type": "one_time",
        "interval": "",
        "interval_count": "1",
        "tax_behavior": "unspecified",
        "request_token": TOKEN,
    }
    response = staff_client.post(reverse("catalog:product-create"), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse(
        "catalog:product-detail", args=[Product.objects.get().stripe_id]
    )
