"""Editing and archiving products and prices, in Stripe (the sandbox) and locally."""

from __future__ import annotations

import pytest
from django.urls import reverse

from catalog import services
from tests.catalog.factories import PriceFactory

TOKEN = "a1" * 16


@pytest.mark.django_db
def test_edit_page_personas_and_shapes(client, other_user, staff_client):
    price = PriceFactory()
    url = reverse("catalog:product-edit", args=[price.product.stripe_id])
    assert staff_client.get(url).status_code == 200
    invalid = {"name": "", "images": "not a url", "metadata": "x"}
    full = staff_client.post(url, invalid)
    fragment = staff_client.post(url, invalid, HTTP_HX_REQUEST="true")
    assert full.status_code == 422 and {"name", "images", "metadata"} <= set(full.context["form"].errors)
    assert fragment.content.lstrip().startswith(b'<form id="product-edit-form"')


@pytest.mark.django_db
def test_archive_needs_post(staff_client):
    price = PriceFactory()
    assert (
        staff_client.get(reverse("catalog:product-active", args=[price.product.stripe_id])).status_code == 405
    )


@pytest.mark.django_db(transaction=True)
def test_edit_product_in_stripe(sandbox, stripe_client, staff_client):
    product = services.product_create_with_price(
        name="Mug", currency="usd", unit_amount=900, request_token=TOKEN
    )
    services.product_update(product=product, name="Mug", metadata={"sku": "M-1", "old": "x"})
    product.refresh_from_db()
    data = {
        "name": "Blue mug",
        "description": "Stoneware",
        "images": "https://example.com/mug.png",
        "tax_code": "txcd_99999999",
        "unit_label": "mug",
        "metadata": "sku: M-2",
    }
    response = staff_client.post(reverse("catalog:product-edit", args=[product.stripe_id]), data)
    assert response.status_code == 302
    remote = stripe_client.v1.products.retrieve(product.stripe_id)
    product.refresh_from_db()
    assert (remote.name, remote.unit_label, remote.images) == (
        "Blue mug",
        "mug",
        ["https://example.com/mug.png"],
    )
    assert remote.metadata.to_dict() == {"sku": "M-2"}
    assert (product.name, product.tax_code, product.metadata) == ("Blue mug", "txcd_99999999", {"sku": "M-2"})


@pytest.mark.django_db(transaction=True)
def test_archive_and_restore(sandbox, stripe_client, staff_client):
    product = services.product_create_with_price(
        name="Mug", currency="usd", unit_amount=900, request_token=TOKEN
    )
    price = product.prices.get()
    staff_client.post(
        reverse("catalog:price-active", args=[product.stripe_id, price.stripe_id]), {"active": "false"}
    )
    staff_client.post(reverse("catalog:product-active", args=[product.stripe_id]), {"active": "false"})
    price.refresh_from_db()
    product.refresh_from_db()
    assert (price.active, product.active) == (False, False)
    assert stripe_client.v1.prices.retrieve(price.stripe_id).active is False
    staff_client.post(reverse("catalog:product-active", args=[product.stripe_id]), {"active": "true"})
    product.refresh_from_db()
    assert product.active is True
