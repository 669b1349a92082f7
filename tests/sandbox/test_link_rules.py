"""Stripe's payment-link rules, one test per rule, each answered with Stripe's 400."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def _error(response) -> dict:
    assert response.status_code == 400, response.content
    return response.json()["error"]


def _item(price: dict, **extra) -> dict:
    return {"price": price["id"], "quantity": 1, **extra}


def test_line_items_required(api):
    assert _error(api.post("payment_links", {}))["param"] == "line_items"


def test_at_most_20_line_items(api, price):
    assert _error(api.post("payment_links", {"line_items": [_item(price)] * 21}))["param"] == "line_items"
    assert api.post("payment_links", {"line_items": [_item(price)] * 20}).status_code == 200


def test_line_items_plus_optional_items_at_most_20(api, price):
    params = {"line_items": [_item(price)] * 15, "optional_items": [_item(price)] * 6}
    assert _error(api.post("payment_links", params))["param"] == "optional_items"


def test_price_or_price_data_required(api):
    assert _error(api.post("payment_links", {"line_items": [{"quantity": 1}]}))["code"] == "parameter_missing"


def test_not_both_price_and_price_data(api, price):
    item = _item(price, price_data={"currency": "usd", "unit_amount": 100, "product_data": {"name": "x"}})
    assert _error(api.post("payment_links", {"line_items": [item]}))["param"] == "line_items[0][price_data]"


def test_quantity_required(api, price):
    error = _error(api.post("payment_links", {"line_items": [{"price": price["id"]}]}))
    assert (error["code"], error["param"]) == ("parameter_missing", "line_items[0][quantity]")


def test_price_data_creates_an_inline_price(api, product):
    link = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [
                {
                    "price_data": {"currency": "usd", "unit_amount": 700, "product": product["id"]},
                    "quantity": 2,
                }
            ]
        },
    )
    items = api.ok("get", f"payment_links/{link['id']}/line_items")["data"]
    assert items[0]["amount_subtotal"] == 1400
    assert items[0]["price"]["id"] not in [p["id"] for p in api.ok("get", "prices")["data"]]


def test_one_currency_per_link(api, product, price):
    eur = api.ok("post", "prices", {"product": product["id"], "currency": "eur", "unit_amount": 100})
    assert (
        _error(api.post("payment_links", {"line_items": [_item(price), _item(eur)]}))["param"]
        == "line_items[1][price]"
    )


def test_currency_param_must_match_prices(api, price):
    assert (
        _error(api.post("payment_links", {"line_items": [_item(price)], "currency": "eur"}))["param"]
        == "currency"
    )


def test_unknown_price_is_404(api):
    response = api.post("payment_links", {"line_items": [{"price": "price_missing", "quantity": 1}]})
    assert response.status_code == 404
    assert response.json()["error"]["param"] == "line_items[0][price]"


def test_customer_chooses_price_only_alone(api, product, price):
    chooses = api.ok(
        "post",
        "prices",
        {"product": product["id"], "currency": "usd", "custom_unit_amount": {"enabled": True}},
    )
    assert (
        _error(api.post("payment_links", {"line_items": [_item(chooses), _item(price)]}))["param"]
        == "line_items"
    )
    assert api.post("payment_links", {"line_items": [_item(chooses)]}).status_code == 200


def test_customer_chooses_price_never_recurring(api, product):
    params = {
        "product": product["id"],
        "currency": "usd",
        "custom_unit_amount": {"enabled": True},
        "recurring": {"interval": "month"},
    }
    assert _error(api.post("prices", params))["param"] == "custom_unit_amount"


@pytest.mark.parametrize(
    ("adjustable", "param"),
    [
        ({"enabled": True, "maximum": 1_000_000}, "line_items[0][adjustable_quantity][maximum]"),
        ({"enabled": True, "minimum": -1}, "line_items[0][adjustable_quantity][minimum]"),
        ({"enabled": True, "minimum": 5, "maximum": 2}, "line_items[0][adjustable_quantity][minimum]"),
    ],
)
def test_adjustable_quantity_bounds(api, price, adjustable, param):
    response = api.post("payment_links", {"line_items": [_item(price, adjustable_quantity=adjustable)]})
    assert _error(response)["param"] == param


def test_adjustable_quantity_accepts_999999(api, price):
    item = _item(price, adjustable_quantity={"enabled": True, "minimum": 0, "maximum": 999_999})
    link = api.ok("post", "payment_links", {"line_items": [item], "expand": ["line_items"]})
    assert link["line_items"]["data"][0]["adjustable_quantity"]["maximum"] == 999_999


def test_subscription_link_refuses_shipping_options(api, product):
    monthly = api.ok(
        "post",
        "prices",
        {"product": product["id"], "currency": "usd", "unit_amount": 500, "recurring": {"interval": "month"}},
    )
    rate = api.ok(
        "post",
        "shipping_rates",
        {"display_name": "Post", "type": "fixed_amount", "fixed_amount": {"amount": 300, "currency": "usd"}},
    )
    params = {"line_items": [_item(monthly)], "shipping_options": [{"shipping_rate": rate["id"]}]}
    assert _error(api.post("payment_links", params))["param"] == "shipping_options"


def test_subscription_data_needs_a_recurring_price(api, price):
    params = {"line_items": [_item(price)], "subscription_data": {"trial_period_days": 7}}
    assert _error(api.post("payment_links", params))["param"] == "subscription_data"


def test_subscription_link_accepts_subscription_data_and_fee_percent(api, product):
    monthly = api.ok(
        "post",
        "prices",
        {"product": product["id"], "currency": "usd", "unit_amount": 500, "recurring": {"interval": "month"}},
    )
    link = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [_item(monthly)],
            "subscription_data": {"trial_period_days": 7},
            "application_fee_percent": 2.5,
        },
    )
    assert link["subscription_data"]["trial_period_days"] == 7
    assert link["subscription_data"]["invoice_settings"]["issuer"]["type"] == "self"
    assert link["application_fee_percent"] == 2.5


def test_application_fee_amount_needs_no_recurring_item(api, product):
    monthly = api.ok(
        "post",
        "prices",
        {"product": product["id"], "currency": "usd", "unit_amount": 500, "recurring": {"interval": "month"}},
    )
    params = {"line_items": [_item(monthly)], "application_fee_amount": 100}
    assert _error(api.post("payment_links", params))["param"] == "application_fee_amount"


def test_application_fee_percent_needs_a_recurring_item(api, price):
    assert (
        _error(api.post("payment_links", {"line_items": [_item(price)], "application_fee_percent": 5}))[
            "param"
        ]
        == "application_fee_percent"
    )


def test_payment_method_collection_if_required_needs_a_recurring_item(api, price):
    params = {"line_items": [_item(price)], "payment_method_collection": "if_required"}
    assert _error(api.post("payment_links", params))["param"] == "payment_method_collection"


def _field(key: str, **extra) -> dict:
    return {"key": key, "label": {"type": "custom", "custom": "Label"}, "type": "text", **extra}


def test_at_most_three_custom_fields(api, price):
    fields = [_field(f"f{i}") for i in range(4)]
    assert (
        _error(api.post("payment_links", {"line_items": [_item(price)], "custom_fields": fields}))["param"]
        == "custom_fields"
    )


def test_custom_field_keys_unique(api, price):
    fields = [_field("same"), _field("same")]
    assert (
        _error(api.post("payment_links", {"line_items": [_item(price)], "custom_fields": fields}))["param"]
        == "custom_fields[1][key]"
    )


def test_custom_field_key_alphanumeric_up_to_200(api, price):
    for key in ("has space", "k" * 201):
        error = _error(
            api.post("payment_links", {"line_items": [_item(price)], "custom_fields": [_field(key)]})
        )
        assert error["param"] == "custom_fields[0][key]"


def test_custom_field_label_up_to_100(api, price):
    field = _field("k", label={"type": "custom", "custom": "x" * 101})
    error = _error(api.post("payment_links", {"line_items": [_item(price)], "custom_fields": [field]}))
    assert error["param"] == "custom_fields[0][label][custom]"


def test_dropdown_option_values_unique(api, price):
    options = [{"label": "A", "value": "a"}, {"label": "B", "value": "a"}]
    field = _field("size", type="dropdown", dropdown={"options": options})
    error = _error(api.post("payment_links", {"line_items": [_item(price)], "custom_fields": [field]}))
    assert error["param"] == "custom_fields[0][dropdown][options][1][value]"


def test_dropdown_at_most_200_options(api, price):
    options = [{"label": f"O{i}", "value": f"o{i}"} for i in range(201)]
    field = _field("size", type="dropdown", dropdown={"options": options})
    error = _error(api.post("payment_links", {"line_items": [_item(price)], "custom_fields": [field]}))
    assert error["param"] == "custom_fields[0][dropdown][options]"


def test_enum_values_are_checked(api, price):
    error = _error(api.post("payment_links", {"line_items": [_item(price)], "submit_type": "buy"}))
    assert error["param"] == "submit_type"


def test_create_only_fields_refused_on_update(api, link):
    assert _error(api.post(f"payment_links/{link['id']}", {"currency": "eur"}))["code"] == "parameter_unknown"


def test_update_cannot_change_prices(api, link, price):
    error = _error(
        api.post(f"payment_links/{link['id']}", {"line_items": [{"id": "li_x", "price": price["id"]}]})
    )
    assert error["code"] == "parameter_unknown"


def test_update_changes_quantity_of_existing_item(api, link):
    item = api.ok("get", f"payment_links/{link['id']}/line_items")["data"][0]
    api.ok("post", f"payment_links/{link['id']}", {"line_items": [{"id": item["id"], "quantity": 3}]})
    assert api.ok("get", f"payment_links/{link['id']}/line_items")["data"][0]["quantity"] == 3


def test_links_are_never_deleted(api, link):
    assert api.delete(f"payment_links/{link['id']}").status_code == 404


def test_empty_string_unsets_inactive_message(api, link):
    api.ok("post", f"payment_links/{link['id']}", {"inactive_message": "Gone"})
    assert api.ok("post", f"payment_links/{link['id']}", {"inactive_message": ""})["inactive_message"] is None


def test_redirect_needs_a_url(api, price):
    error = _error(
        api.post("payment_links", {"line_items": [_item(price)], "after_completion": {"type": "redirect"}})
    )
    assert error["param"] == "after_completion[redirect]"


def test_update_records_previous_attributes(api, link):
    api.ok("post", f"payment_links/{link['id']}", {"metadata": {"a": "1"}, "allow_promotion_codes": True})
    event = api.ok("get", "events", {"type": "payment_link.updated"})["data"][0]
    assert event["data"]["previous_attributes"] == {"metadata": {}, "allow_promotion_codes": False}


def test_metadata_limits(api):
    assert (
        _error(api.post("products", {"name": "x", "metadata": {"k" * 41: "v"}}))["param"]
        == f"metadata[{'k' * 41}]"
    )
    too_many = {f"k{i}": "v" for i in range(51)}
    assert _error(api.post("products", {"name": "x", "metadata": too_many}))["param"] == "metadata"


def test_metadata_key_unset_with_empty_value(api, product):
    api.ok("post", f"products/{product['id']}", {"metadata": {"a": "1", "b": "2"}})
    assert api.ok("post", f"products/{product['id']}", {"metadata": {"a": ""}})["metadata"] == {"b": "2"}
    assert api.ok("post", f"products/{product['id']}", {"metadata": ""})["metadata"] == {}


def test_every_create_parameter_is_recognised(api, price):
    """No parameter the SDK declares is rejected as unknown (values here are deliberately wrong types)."""
    from stripe.params import PaymentLinkCreateParams

    from sandbox.params import fields_of

    fields, _ = fields_of(PaymentLinkCreateParams)
    for name in fields:
        if name == "line_items":
            continue
        response = api.post("payment_links", {"line_items": [_item(price)], name: {"zz_bogus": "1"}})
        if response.status_code == 400:
            error = response.json()["error"]
            assert not (error.get("code") == "parameter_unknown" and error.get("param") == name), name


def test_recurring_prices_share_one_interval(api, product):
    monthly = api.ok(
        "post",
        "prices",
        {"product": product["id"], "currency": "usd", "unit_amount": 1, "recurring": {"interval": "month"}},
    )
    yearly = api.ok(
        "post",
        "prices",
        {"product": product["id"], "currency": "usd", "unit_amount": 1, "recurring": {"interval": "year"}},
    )
    assert (
        _error(api.post("payment_links", {"line_items": [_item(monthly), _item(yearly)]}))["param"]
        == "line_items"
    )


def test_a_recurring_optional_item_needs_a_subscription_billed_alike(api, product, price):
    """Stripe (cross-sells): a recurring one needs subscription mode, at the other prices' interval."""

    def recurring(interval: str) -> dict:
        params = {"product": product["id"], "currency": "usd", "unit_amount": 1}
        return api.ok("post", "prices", {**params, "recurring": {"interval": interval}})

    monthly, other_monthly, yearly = recurring("month"), recurring("month"), recurring("year")
    for line, extra in ((price, monthly), (monthly, yearly)):
        params = {"line_items": [_item(line)], "optional_items": [_item(extra)]}
        assert _error(api.post("payment_links", params))["param"] == "optional_items[0][price]"
    for line, extra in ((monthly, other_monthly), (monthly, price), (price, price)):
        params = {"line_items": [_item(line)], "optional_items": [_item(extra)]}
        assert api.post("payment_links", params).status_code == 200


def test_statement_descriptor_refused_when_the_link_takes_cards(api, product, price, link):
    """Stripe: "Setting this value for a card charge returns an error"; cards are in a dynamic link too."""
    descriptor = {"payment_intent_data": {"statement_descriptor": "LAMPS"}}
    for methods in ({}, {"payment_method_types": ["card"]}, {"payment_method_types": ["card", "sepa_debit"]}):
        error = _error(api.post("payment_links", {"line_items": [_item(price)], **methods, **descriptor}))
        assert error["param"] == "payment_intent_data[statement_descriptor]"
        assert "statement_descriptor_suffix" in error["message"]
    assert _error(api.post(f"payment_links/{link['id']}", descriptor))["param"] == (
        "payment_intent_data[statement_descriptor]"
    )
    euro = api.ok("post", "prices", {"product": product["id"], "currency": "eur", "unit_amount": 900})
    sepa = api.ok(
        "post",
        "payment_links",
        {"line_items": [_item(euro)], "payment_method_types": ["sepa_debit"], **descriptor},
    )
    assert sepa["payment_intent_data"]["statement_descriptor"] == "LAMPS"
    # Cards cannot be added back while the link keeps its descriptor.
    assert _error(api.post(f"payment_links/{sepa['id']}", {"payment_method_types": ["card"]}))["param"] == (
        "payment_intent_data[statement_descriptor]"
    )


def test_statement_descriptor_suffix_reaches_the_payment(client, api, price):
    link = api.ok(
        "post",
        "payment_links",
        {"line_items": [_item(price)], "payment_intent_data": {"statement_descriptor_suffix": "LAMP 42"}},
    )
    client.post(
        link["url"].removeprefix("http://testserver"),
        {
            "email": "a@example.com",
            "card_number": "4242424242424242",
            "card_expiry": "12/34",
            "card_cvc": "123",
            "cardholder_name": "Ada",
        },
    )
    intent = api.ok("get", "payment_intents", {"expand": ["data.latest_charge"]})["data"][0]
    assert (intent["statement_descriptor_suffix"], intent["statement_descriptor"]) == ("LAMP 42", None)
    charge = intent["latest_charge"]
    assert charge["statement_descriptor_suffix"] == "LAMP 42"
    assert charge["calculated_statement_descriptor"] == "SANDBOX* LAMP 42"
