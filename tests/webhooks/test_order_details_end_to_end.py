"""Everything a link collects reaches the order: addresses, shipping choice and cost, phone, custom
fields, consent, promotion code and discount, client reference."""

from __future__ import annotations

import re

import pytest
import requests

from links.models import Order
from webhooks.endpoints import webhook_endpoint_register
from webhooks.models import WebhookEvent
from webhooks.tasks import process_webhook_event

CARD = {
    "card_number": "4242424242424242",
    "card_expiry": "12/34",
    "card_cvc": "123",
    "cardholder_name": "Ada",
}


@pytest.mark.django_db(transaction=True)
def test_collected_details_reach_the_order(sandbox, stripe_client, settings):
    settings.STRIPE_WEBHOOK_SECRETS = []
    webhook_endpoint_register(url=f"{sandbox.base_url}/webhooks/stripe/")
    price = stripe_client.v1.prices.create(
        params={"product_data": {"name": "Lamp"}, "currency": "eur", "unit_amount": 10000}
    )
    rate = stripe_client.v1.shipping_rates.create(
        params={
            "display_name": "Courier",
            "type": "fixed_amount",
            "fixed_amount": {"amount": 700, "currency": "eur"},
        }
    )
    coupon = stripe_client.v1.coupons.create(params={"percent_off": 10, "duration": "once"})
    promo = stripe_client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": "TENOFF"}
    )
    link = stripe_client.v1.payment_links.create(
        params={
            "line_items": [{"price": price.id, "quantity": 1}],
            "billing_address_collection": "required",
            "shipping_address_collection": {"allowed_countries": ["FR", "DE"]},
            "shipping_options": [{"shipping_rate": rate.id}],
            "phone_number_collection": {"enabled": True},
            "custom_fields": [
                {"key": "engraving", "label": {"type": "custom", "custom": "Engraving"}, "type": "text"}
            ],
            "consent_collection": {"promotions": "auto"},
            "allow_promotion_codes": True,
        }
    )
    browser = requests.Session()
    page = browser.get(link.url + "?client_reference_id=order-77", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    data = {
        "csrfmiddlewaretoken": token,
        "email": "lamp@example.com",
        "phone": "+33123456789",
        "billing_line1": "1 rue A",
        "billing_city": "Paris",
        "billing_postal_code": "75001",
        "billing_country": "FR",
        "shipping_name": "Ada L",
        "shipping_line1": "2 rue B",
        "shipping_city": "Lyon",
        "shipping_postal_code": "69001",
        "shipping_country": "FR",
        "shipping_rate": rate.id,
        "custom_engraving": "For Ada",
        "promotions": "on",
        "promotion_code": "TENOFF",
        **CARD,
    }
    paid = browser.post(
        sandbox.base_url + action, data=data, headers={"Referer": link.url}, allow_redirects=False, timeout=20
    )
    assert paid.status_code in (200, 302), re.findall(r'class="error[^"]*"[^>]*>([^<]+)', paid.text)

    process_webhook_event(WebhookEvent.objects.get(type="checkout.session.completed").id)
    order = Order.objects.get()
    assert order.customer_phone == "+33123456789"
    assert order.billing_address["city"] == "Paris"
    assert order.shipping_details["address"]["city"] == "Lyon"
    assert order.shipping_details["name"] == "Ada L"
    assert order.shipping_rate_id == rate.id
    assert order.amount_shipping == 700
    assert order.amount_discount == 1000
    assert order.amount_total == 10000 - 1000 + 700
    assert order.promotion_code == promo.id
    # Expanded in fulfilment's one request: the names the merchant gave them.
    assert (order.promotion_code_text, order.shipping_rate_name) == ("TENOFF", "Courier")
    assert order.custom_fields == [
        {"key": "engraving", "label": "Engraving", "type": "text", "value": "For Ada"}
    ]
    assert order.consent["promotions"] == "opt_in"
    assert order.client_reference_id == "order-77"
