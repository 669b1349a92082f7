"""Every parameter the SDK declares is recognised; a link with every option round-trips."""

from __future__ import annotations

import pytest
from stripe.params import (
    CouponCreateParams,
    PaymentLinkCreateParams,
    PaymentLinkUpdateParams,
    PriceCreateParams,
    PriceUpdateParams,
    ProductCreateParams,
    ProductUpdateParams,
    ShippingRateCreateParams,
    WebhookEndpointCreateParams,
    WebhookEndpointUpdateParams,
)

from sandbox.params import fields_of

pytestmark = pytest.mark.django_db


def _targets(api, product, price, link) -> list[tuple[str, type, dict]]:
    endpoint = api.ok("post", "webhook_endpoints", {"url": "https://example.com/h", "enabled_events": ["*"]})
    return [
        ("products", ProductCreateParams, {"name": "x"}),
        (f"products/{product['id']}", ProductUpdateParams, {}),
        ("prices", PriceCreateParams, {"product": product["id"], "currency": "usd", "unit_amount": 1}),
        (f"prices/{price['id']}", PriceUpdateParams, {}),
        ("payment_links", PaymentLinkCreateParams, {"line_items": [{"price": price["id"], "quantity": 1}]}),
        (f"payment_links/{link['id']}", PaymentLinkUpdateParams, {}),
        (
            "webhook_endpoints",
            WebhookEndpointCreateParams,
            {"url": "https://example.com/h", "enabled_events": ["*"]},
        ),
        (f"webhook_endpoints/{endpoint['id']}", WebhookEndpointUpdateParams, {}),
        ("coupons", CouponCreateParams, {"percent_off": 5}),
        (
            "shipping_rates",
            ShippingRateCreateParams,
            {"display_name": "x", "fixed_amount": {"amount": 1, "currency": "usd"}},
        ),
    ]


def test_every_declared_parameter_is_recognised(api, product, price, link):
    """Each top-level parameter, sent with a deliberately wrong value, is never called unknown."""
    for path, params_cls, base in _targets(api, product, price, link):
        fields, _ = fields_of(params_cls)
        for name in fields:
            if name in base:
                continue
            response = api.post(path, {**base, name: {"zz_bogus": "1"}})
            error = response.json().get("error", {})
            assert not (error.get("code") == "parameter_unknown" and error.get("param") == name), (path, name)


def test_unknown_parameter_is_refused_everywhere(api, product, price, link):
    for path, _, base in _targets(api, product, price, link):
        error = api.post(path, {**base, "not_a_param": "1"}).json()["error"]
        assert (error["code"], error["param"]) == ("parameter_unknown", "not_a_param"), path


@pytest.mark.django_db(transaction=True)
def test_link_with_every_option_round_trips(stripe_client, sandbox):
    price = stripe_client.v1.prices.create(
        params={"product_data": {"name": "Kit"}, "currency": "eur", "unit_amount": 2000}
    )
    extra = stripe_client.v1.prices.create(
        params={"product_data": {"name": "Extra"}, "currency": "eur", "unit_amount": 500}
    )
    rate = stripe_client.v1.shipping_rates.create(
        params={
            "display_name": "Colissimo",
            "type": "fixed_amount",
            "fixed_amount": {"amount": 490, "currency": "eur"},
            "delivery_estimate": {
                "minimum": {"unit": "business_day", "value": 2},
                "maximum": {"unit": "business_day", "value": 5},
            },
        }
    )
    params = {
        "line_items": [
            {
                "price": price.id,
                "quantity": 1,
                "adjustable_quantity": {"enabled": True, "minimum": 1, "maximum": 10},
            }
        ],
        "after_completion": {
            "type": "hosted_confirmation",
            "hosted_confirmation": {"custom_message": "Merci !"},
        },
        "allow_promotion_codes": True,
        "automatic_tax": {"enabled": True, "liability": {"type": "self"}},
        "billing_address_collection": "required",
        "consent_collection": {
            "promotions": "auto",
            "terms_of_service": "required",
            "payment_method_reuse_agreement": {"position": "hidden"},
        },
        "currency": "eur",
        "custom_fields": [
            {
                "key": "engraving",
                "label": {"type": "custom", "custom": "Engraving"},
                "type": "text",
                "optional": True,
                "text": {"maximum_length": 20},
            },
            {
                "key": "size",
                "label": {"type": "custom", "custom": "Size"},
                "type": "dropdown",
                "dropdown": {
                    "options": [{"label": "S", "value": "s"}, {"label": "L", "value": "l"}],
                    "default_value": "l",
                },
            },
        ],
        "custom_text": {
            "submit": {"message": "We ship in 2 days"},
            "shipping_address": {"message": "EU only"},
        },
        "customer_creation": "always",
        "inactive_message": "Sold out",
        "invoice_creation": {
            "enabled": True,
            "invoice_data": {
                "description": "Kit",
                "metadata": {"k": "v"},
                "custom_fields": [{"name": "VAT", "value": "FR123"}],
            },
        },
        "metadata": {"campaign": "spring"},
        "name_collection": {"individual": {"enabled": True, "optional": True}},
        "optional_items": [
            {"price": extra.id, "quantity": 1, "adjustable_quantity": {"enabled": True, "maximum": 3}}
        ],
        "payment_intent_data": {
            "description": "Kit order",
            "metadata": {"source": "link"},
            "setup_future_usage": "off_session",
            "statement_descriptor_suffix": "KIT",
            "transfer_group": "kits",
            "capture_method": "automatic",
        },
        "payment_method_types": ["card", "sepa_debit"],
        "payment_method_options": {"card": {"restrictions": {"brands_blocked": ["american_express"]}}},
        "phone_number_collection": {"enabled": True},
        "restrictions": {"completed_sessions": {"limit": 100}},
        "shipping_address_collection": {"allowed_countries": ["FR", "BE"]},
        "shipping_options": [{"shipping_rate": rate.id}],
        "submit_type": "book",
        "tax_id_collection": {"enabled": True, "required": "if_supported"},
    }
    link = stripe_client.v1.payment_links.create(params=params)
    assert link.after_completion.hosted_confirmation.custom_message == "Merci !"
    assert link.automatic_tax.liability.type == "self"
    assert link.consent_collection.payment_method_reuse_agreement.position == "hidden"
    assert link.custom_fields[1].dropdown.default_value == "l"
    assert link.custom_fields[0].text.maximum_length == 20
    assert link.custom_text.submit.message == "We ship in 2 days"
    assert link.invoice_creation.invoice_data.custom_fields[0].value == "FR123"
    assert link.name_collection.individual.optional is True
    assert link.optional_items[0].adjustable_quantity.maximum == 3
    assert link.payment_intent_data.metadata.to_dict() == {"source": "link"}
    assert link.payment_method_options.card.restrictions.brands_blocked == ["american_express"]
    assert link.restrictions.completed_sessions.count == 0
    assert link.shipping_options[0].shipping_amount == 490
    assert link.tax_id_collection.required == "if_supported"
    updated = stripe_client.v1.payment_links.update(
        link.id,
        params={"custom_fields": "", "shipping_options": "", "restrictions": "", "payment_method_types": ""},
    )
    assert (
        updated.custom_fields,
        updated.shipping_options,
        updated.restrictions,
        updated.payment_method_types,
    ) == ([], [], None, None)
