"""The real stripe SDK against the sandbox on a live server, as the dashboard calls it."""

from __future__ import annotations

import pytest
import stripe

pytestmark = pytest.mark.django_db(transaction=True)


def test_sdk_creates_product_price_and_link(stripe_client):
    product = stripe_client.v1.products.create(params={"name": "Poster", "metadata": {"sku": "P-1"}})
    price = stripe_client.v1.prices.create(
        params={"product": product.id, "currency": "eur", "unit_amount": 2500}
    )
    link = stripe_client.v1.payment_links.create(
        params={
            "line_items": [
                {"price": price.id, "quantity": 2, "adjustable_quantity": {"enabled": True, "maximum": 5}}
            ],
            "metadata": {"campaign": "spring"},
            "after_completion": {
                "type": "redirect",
                "redirect": {"url": "https://example.com/thanks?s={CHECKOUT_SESSION_ID}"},
            },
        }
    )
    assert isinstance(link, stripe.PaymentLink)
    assert link.id.startswith("plink_")
    assert link.currency == "eur"
    assert link.after_completion.redirect.url.endswith("{CHECKOUT_SESSION_ID}")
    assert "/sandbox/pay/test_" in link.url
    items = stripe_client.v1.payment_links.line_items.list(link.id)
    assert items.data[0].price.id == price.id
    assert items.data[0].amount_subtotal == 5000


def test_sdk_update_and_list_links(stripe_client):
    price = stripe_client.v1.prices.create(
        params={"product_data": {"name": "Sticker"}, "currency": "usd", "unit_amount": 300}
    )
    link = stripe_client.v1.payment_links.create(params={"line_items": [{"price": price.id, "quantity": 1}]})
    updated = stripe_client.v1.payment_links.update(
        link.id, params={"active": False, "inactive_message": "Sold out"}
    )
    assert updated.active is False
    assert updated.inactive_message == "Sold out"
    inactive = stripe_client.v1.payment_links.list(params={"active": False})
    assert [p.id for p in inactive.data] == [link.id]
    event = stripe_client.v1.events.list(params={"type": "payment_link.updated"}).data[0]
    assert event.data.previous_attributes["active"] is True


def test_sdk_raises_invalid_request_error_with_param(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        stripe_client.v1.payment_links.create(params={"line_items": []})
    assert excinfo.value.param == "line_items"


def test_sdk_auto_pagination_walks_every_page(stripe_client):
    for i in range(5):
        stripe_client.v1.products.create(params={"name": f"Item {i}"})
    names = [p.name for p in stripe_client.v1.products.list(params={"limit": 2}).auto_paging_iter()]
    assert names == [f"Item {i}" for i in reversed(range(5))]


def test_sdk_webhook_endpoint_secret_only_at_creation(stripe_client):
    endpoint = stripe_client.v1.webhook_endpoints.create(
        params={"url": "https://example.com/hook", "enabled_events": ["checkout.session.completed"]}
    )
    assert endpoint.secret.startswith("whsec_")
    fetched = stripe_client.v1.webhook_endpoints.retrieve(endpoint.id)
    assert "secret" not in fetched
    disabled = stripe_client.v1.webhook_endpoints.update(endpoint.id, params={"disabled": True})
    assert disabled.status == "disabled"
    deleted = stripe_client.v1.webhook_endpoints.delete(endpoint.id)
    assert deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.webhook_endpoints.retrieve(endpoint.id)
