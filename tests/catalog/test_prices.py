"""The price form: every pricing model, its fields swapped by HTMX, and the prices it makes in Stripe."""

from __future__ import annotations

import pytest
from django.urls import reverse

from catalog import services
from catalog.models import Price
from tests.catalog.factories import ProductFactory

TOKEN = "5" * 32


def _data(**extra) -> dict:
    return {
        "pricing_model": "standard",
        "currency": "usd",
        "unit_amount": "",
        "type": "one_time",
        "interval": "",
        "interval_count": "1",
        "tax_behavior": "unspecified",
        "nickname": "",
        "lookup_key": "",
        "request_token": TOKEN,
        "tiers-TOTAL_FORMS": "1",
        "tiers-INITIAL_FORMS": "0",
        **extra,
    }


@pytest.mark.django_db
def test_choosing_a_model_swaps_only_its_fields(staff_client):
    product = ProductFactory()
    url = reverse("catalog:price-create", args=[product.stripe_id])
    response = staff_client.post(url, _data(pricing_model="tiered", refresh="1"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.content.lstrip().startswith(b'<fieldset id="price-model"')
    assert b'name="tiers-0-up_to"' in response.content
    full = staff_client.post(url, _data(pricing_model="customer_chooses", refresh="1"))
    assert b"<html" in full.content and b'name="custom_preset"' in full.content


@pytest.mark.django_db
def test_add_tier_adds_a_row(staff_client):
    product = ProductFactory()
    url = reverse("catalog:price-create", args=[product.stripe_id])
    response = staff_client.post(url, _data(pricing_model="tiered", add_tier="1"), HTTP_HX_REQUEST="true")
    assert b'name="tiers-1-up_to"' in response.content


@pytest.mark.django_db
def test_standard_needs_an_amount(staff_client):
    product = ProductFactory()
    response = staff_client.post(reverse("catalog:price-create", args=[product.stripe_id]), _data())
    assert response.status_code == 422
    assert "unit_amount" in response.context["form"].errors


@pytest.mark.django_db(transaction=True)
def test_tiered_price_through_the_form(sandbox, staff_client):
    product = services.product_create_with_price(
        name="Paper", currency="usd", unit_amount=100, request_token=TOKEN
    )
    data = _data(
        pricing_model="tiered",
        tiers_mode="volume",
        **{
            "tiers-TOTAL_FORMS": "2",
            "tiers-0-up_to": "10",
            "tiers-0-unit_amount": "5.00",
            "tiers-1-up_to": "",
            "tiers-1-unit_amount": "4.00",
            "tiers-1-flat_amount": "1.50",
        },
    )
    response = staff_client.post(reverse("catalog:price-create", args=[product.stripe_id]), data)
    assert response.status_code == 302
    price = product.prices.get(billing_scheme="tiered")
    assert price.tiers_mode == "volume"
    assert [(t["up_to"], t["unit_amount"], t["flat_amount"]) for t in price.tiers] == [
        (10, 500, None),
        (None, 400, 150),
    ]


@pytest.mark.django_db(transaction=True)
def test_package_and_customer_chooses_through_the_form(sandbox, staff_client):
    product = services.product_create_with_price(
        name="Tea", currency="eur", unit_amount=100, request_token=TOKEN
    )
    url = reverse("catalog:price-create", args=[product.stripe_id])
    staff_client.post(
        url,
        _data(
            pricing_model="package", currency="eur", unit_amount="12", package_size="6", package_round="up"
        ),
    )
    staff_client.post(
        url,
        _data(
            pricing_model="customer_chooses",
            currency="eur",
            custom_minimum="5",
            custom_maximum="100",
            custom_preset="20",
            request_token="6" * 32,
        ),
    )
    package = product.prices.get(transform_quantity__isnull=False)
    chooses = product.prices.get(custom_unit_amount__isnull=False)
    assert (package.unit_amount, package.transform_quantity) == (1200, {"divide_by": 6, "round": "up"})
    assert chooses.custom_unit_amount == {"minimum": 500, "maximum": 10000, "preset": 2000}
    assert Price.objects.count() == 3
