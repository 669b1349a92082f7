"""Every object has exactly the fields the installed SDK declares for this API version."""

from __future__ import annotations

import pytest
import stripe

from sandbox.models import ApiObject
from sandbox.shapes import field_names

pytestmark = pytest.mark.django_db

CARD = {
    "card_number": "4242424242424242",
    "card_expiry": "12/34",
    "card_cvc": "123",
    "cardholder_name": "Ada",
}

# Fields Stripe leaves out unless expanded ("includable") or only returns in special cases.
NOT_ALWAYS_PRESENT = {
    stripe.Product: {"deleted"},
    stripe.Price: {"deleted"},
    stripe.PaymentLink: {"line_items", "name_collection"},
    # Left out unless they apply (stripe-node's ``key?: T``; see test_object_types.py).
    stripe.checkout.Session: {
        "line_items",
        "name_collection",
        "branding_settings",
        "excluded_payment_method_types",
        "presentment_details",
        "redirect_on_completion",
        "return_url",
    },
    stripe.WebhookEndpoint: {"deleted", "secret"},
    stripe.Event: {"account", "context"},
    stripe.Customer: {
        "deleted",
        "cash_balance",
        "invoice_credit_balance",
        "sources",
        "subscriptions",
        "tax",
        "tax_ids",
    },
    stripe.PaymentIntent: {"hooks", "payment_details", "presentment_details"},
    stripe.Charge: {"authorization_code", "level3", "presentment_details", "radar_options", "transfer"},
    stripe.LineItem: set(),
}


def expected_fields(cls) -> set[str]:
    return set(field_names(cls)) - NOT_ALWAYS_PRESENT[cls]


def _paid_session(client, api, link) -> dict:
    client.post(link["url"].removeprefix("http://testserver"), {"email": "a@example.com", **CARD})
    session = ApiObject.objects.get(type="checkout.session")
    return api.ok("get", f"checkout/sessions/{session.stripe_id}")


def test_product_fields(product):
    assert set(product) == expected_fields(stripe.Product)
    assert product["livemode"] is False


def test_price_fields(price):
    assert set(price) == expected_fields(stripe.Price)


def test_tiered_price_tier_fields(api, product):
    tiered = api.ok(
        "post",
        "prices",
        {
            "product": product["id"],
            "currency": "usd",
            "billing_scheme": "tiered",
            "tiers_mode": "volume",
            "tiers": [{"up_to": 10, "unit_amount": 100}, {"up_to": "inf", "unit_amount": 80}],
        },
    )
    assert set(tiered["tiers"][0]) == set(field_names(stripe.Price.Tier))
    assert tiered["tiers"][1]["up_to"] is None


def test_payment_link_fields_and_defaults(link):
    assert set(link) == expected_fields(stripe.PaymentLink)
    # Stripe leaves the other type's sub-object out (see test_object_types.py).
    assert link["after_completion"] == {
        "hosted_confirmation": {"custom_message": None},
        "type": "hosted_confirmation",
    }
    assert "name_collection" not in link
    assert link["billing_address_collection"] == "auto"
    assert link["submit_type"] == "auto"
    assert link["payment_method_types"] is None
    assert set(link["custom_text"]) == set(field_names(stripe.PaymentLink.CustomText))


def test_payment_link_nested_options_have_sdk_shape(api, price):
    link = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [{"price": price["id"], "quantity": 1}],
            "consent_collection": {"promotions": "auto"},
            "custom_fields": [
                {"key": "engraving", "label": {"type": "custom", "custom": "Engraving"}, "type": "text"}
            ],
            "payment_intent_data": {"description": "Order"},
        },
    )
    assert set(link["consent_collection"]) == set(field_names(stripe.PaymentLink.ConsentCollection))
    # A text field carries ``text`` only: Stripe leaves ``dropdown`` and ``numeric`` out.
    assert set(link["custom_fields"][0]) == set(field_names(stripe.PaymentLink.CustomField)) - {
        "dropdown",
        "numeric",
    }
    assert set(link["custom_fields"][0]["text"]) == set(field_names(stripe.PaymentLink.CustomField.Text))
    assert set(link["payment_intent_data"]) == set(field_names(stripe.PaymentLink.PaymentIntentData))


def test_line_item_fields(api, link):
    item = api.ok("get", f"payment_links/{link['id']}/line_items")["data"][0]
    assert set(item) == expected_fields(stripe.LineItem)
    assert set(item["price"]) == expected_fields(stripe.Price)


def test_checkout_session_fields(client, api, link):
    session = _paid_session(client, api, link)
    assert set(session) == expected_fields(stripe.checkout.Session)
    assert set(session["customer_details"]) == set(field_names(stripe.checkout.Session.CustomerDetails))
    assert set(session["total_details"]) <= set(field_names(stripe.checkout.Session.TotalDetails))


def test_payment_intent_fields(client, api, link):
    session = _paid_session(client, api, link)
    intent = api.ok("get", f"payment_intents/{session['payment_intent']}")
    assert set(intent) == expected_fields(stripe.PaymentIntent)


def test_customer_fields(client, api, price):
    link = api.ok(
        "post",
        "payment_links",
        {"line_items": [{"price": price["id"], "quantity": 1}], "customer_creation": "always"},
    )
    session = _paid_session(client, api, link)
    customer = api.ok("get", f"customers/{session['customer']}")
    assert set(customer) == expected_fields(stripe.Customer)
    assert customer["email"] == "a@example.com"


def test_webhook_endpoint_fields(api):
    created = api.ok("post", "webhook_endpoints", {"url": "https://example.com/h", "enabled_events": ["*"]})
    assert set(created) == expected_fields(stripe.WebhookEndpoint) | {"secret"}
    fetched = api.ok("get", f"webhook_endpoints/{created['id']}")
    assert set(fetched) == expected_fields(stripe.WebhookEndpoint)


def test_event_fields(api, product):
    event = api.ok("get", "events")["data"][0]
    assert set(event) == expected_fields(stripe.Event)
    assert set(event["request"]) == set(field_names(stripe.Event.Request))
    assert event["api_version"] == stripe.api_version


def test_ids_have_stripe_prefixes(client, api, link, product, price):
    session = _paid_session(client, api, link)
    assert product["id"].startswith("prod_")
    assert price["id"].startswith("price_")
    assert link["id"].startswith("plink_")
    assert session["id"].startswith("cs_test_")
    assert session["payment_intent"].startswith("pi_")
    assert api.ok("get", "events")["data"][0]["id"].startswith("evt_")


def test_charge_fields_and_card_details(client, api, link):
    session = _paid_session(client, api, link)
    intent = api.ok("get", f"payment_intents/{session['payment_intent']}", {"expand": ["latest_charge"]})
    charge = intent["latest_charge"]
    assert set(charge) == expected_fields(stripe.Charge)
    assert (charge["status"], charge["paid"], charge["amount_captured"]) == ("succeeded", True, 1500)
    assert charge["payment_method_details"]["card"]["last4"] == "4242"
    assert charge["payment_method_details"]["card"]["exp_year"] == 2034
    assert api.ok("get", "charges", {"payment_intent": intent["id"]})["data"][0]["id"] == charge["id"]


def test_declined_attempt_records_a_failed_charge(client, api, link):
    client.post(
        link["url"].removeprefix("http://testserver"),
        {"email": "a@example.com", **CARD, "card_number": "4000000000009995"},
    )
    charge = api.ok("get", "charges")["data"][0]
    assert (charge["status"], charge["failure_code"], charge["outcome"]["reason"]) == (
        "failed",
        "card_declined",
        "insufficient_funds",
    )
    assert api.ok("get", "events", {"type": "charge.failed"})["data"]
