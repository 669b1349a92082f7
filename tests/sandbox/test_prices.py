"""Prices: creation variants, the immutability rules, lookup keys, list filters; and the pricing module."""

from __future__ import annotations

import pytest

from sandbox import pricing

pytestmark = pytest.mark.django_db


def test_product_data_creates_the_product(api):
    price = api.ok("post", "prices", {"product_data": {"name": "Tea"}, "currency": "USD", "unit_amount": 450})
    product = api.ok("get", f"products/{price['product']}")
    assert product["name"] == "Tea"
    assert price["currency"] == "usd"
    assert price["unit_amount_decimal"] == "450"


def test_product_or_product_data_required(api):
    assert api.post("prices", {"currency": "usd", "unit_amount": 1}).json()["error"]["param"] == "product"


def test_amount_required_unless_tiered(api, product):
    error = api.post("prices", {"product": product["id"], "currency": "usd"}).json()["error"]
    assert (error["code"], error["param"]) == ("parameter_missing", "unit_amount")


def test_recurring_price(api, product):
    price = api.ok(
        "post",
        "prices",
        {"product": product["id"], "currency": "usd", "unit_amount": 900, "recurring": {"interval": "month"}},
    )
    assert price["type"] == "recurring"
    assert price["recurring"]["interval_count"] == 1
    assert price["recurring"]["usage_type"] == "licensed"


def test_recurring_interval_at_most_three_years(api, product):
    params = {
        "product": product["id"],
        "currency": "usd",
        "unit_amount": 1,
        "recurring": {"interval": "month", "interval_count": 37},
    }
    assert api.post("prices", params).json()["error"]["param"] == "recurring[interval_count]"


def test_tiers_need_tiered_billing_scheme_and_inf_last(api, product):
    base = {
        "product": product["id"],
        "currency": "usd",
        "billing_scheme": "tiered",
        "tiers_mode": "graduated",
    }
    bad = api.post("prices", {**base, "tiers": [{"up_to": 5, "unit_amount": 100}]})
    assert bad.json()["error"]["param"] == "tiers[0][up_to]"
    assert api.post("prices", {**base, "tiers": [{"up_to": "inf", "unit_amount": 100}]}).status_code == 200
    assert (
        api.post(
            "prices",
            {"product": product["id"], "currency": "usd", "tiers": [{"up_to": "inf", "unit_amount": 1}]},
        ).status_code
        == 400
    )


def test_transform_quantity_cannot_combine_with_tiers(api, product):
    params = {
        "product": product["id"],
        "currency": "usd",
        "billing_scheme": "tiered",
        "tiers_mode": "volume",
        "tiers": [{"up_to": "inf", "unit_amount": 1}],
        "transform_quantity": {"divide_by": 5, "round": "up"},
    }
    assert api.post("prices", params).json()["error"]["param"] == "transform_quantity"


def test_only_mutable_fields_can_be_updated(api, price):
    assert (
        api.post(f"prices/{price['id']}", {"unit_amount": 1}).json()["error"]["code"] == "parameter_unknown"
    )
    updated = api.ok(
        "post",
        f"prices/{price['id']}",
        {"active": False, "nickname": "Old", "lookup_key": "std", "metadata": {"a": "b"}},
    )
    assert (updated["active"], updated["nickname"], updated["lookup_key"], updated["metadata"]) == (
        False,
        "Old",
        "std",
        {"a": "b"},
    )


def test_tax_behavior_is_fixed_once_set(api, product):
    price = api.ok(
        "post",
        "prices",
        {"product": product["id"], "currency": "usd", "unit_amount": 1, "tax_behavior": "inclusive"},
    )
    assert api.post(f"prices/{price['id']}", {"tax_behavior": "exclusive"}).status_code == 400
    unspecified = api.ok("post", "prices", {"product": product["id"], "currency": "usd", "unit_amount": 1})
    assert (
        api.ok("post", f"prices/{unspecified['id']}", {"tax_behavior": "exclusive"})["tax_behavior"]
        == "exclusive"
    )


def test_lookup_key_unique_unless_transferred(api, product):
    first = api.ok(
        "post", "prices", {"product": product["id"], "currency": "usd", "unit_amount": 1, "lookup_key": "pro"}
    )
    base = {"product": product["id"], "currency": "usd", "unit_amount": 2, "lookup_key": "pro"}
    assert api.post("prices", base).json()["error"]["param"] == "lookup_key"
    second = api.ok("post", "prices", {**base, "transfer_lookup_key": True})
    assert api.ok("get", f"prices/{first['id']}")["lookup_key"] is None
    assert [p["id"] for p in api.ok("get", "prices", {"lookup_keys": ["pro"]})["data"]] == [second["id"]]


def test_list_filters_by_product_and_active(api, product, price):
    other = api.ok("post", "prices", {"product_data": {"name": "Other"}, "currency": "usd", "unit_amount": 1})
    api.ok("post", f"prices/{other['id']}", {"active": False})
    assert [p["id"] for p in api.ok("get", "prices", {"product": product["id"]})["data"]] == [price["id"]]
    assert [p["id"] for p in api.ok("get", "prices", {"active": False})["data"]] == [other["id"]]


def test_product_default_price_data(api):
    product = api.ok(
        "post",
        "products",
        {
            "name": "Box",
            "default_price_data": {"currency": "usd", "unit_amount": 999},
            "expand": ["default_price"],
        },
    )
    assert product["default_price"]["unit_amount"] == 999
    assert product["default_price"]["product"] == product["id"]


def test_product_with_prices_cannot_be_deleted(api, product, price):
    assert api.delete(f"products/{product['id']}").status_code == 400
    bare = api.ok("post", "products", {"name": "Bare"})
    assert api.delete(f"products/{bare['id']}").json() == {
        "id": bare["id"],
        "object": "product",
        "deleted": True,
    }


def _tiers(*tiers):
    return [
        {
            "up_to": up,
            "unit_amount": unit,
            "unit_amount_decimal": None,
            "flat_amount": flat,
            "flat_amount_decimal": None,
        }
        for up, unit, flat in tiers
    ]


def test_pricing_per_unit_and_package():
    assert pricing.line_subtotal({"unit_amount": 250}, 3) == 750
    package = {"unit_amount": 1000, "transform_quantity": {"divide_by": 5, "round": "up"}}
    assert pricing.line_subtotal(package, 6) == 2000
    assert (
        pricing.line_subtotal({**package, "transform_quantity": {"divide_by": 5, "round": "down"}}, 6) == 1000
    )


def test_pricing_graduated_tiers():
    price = {
        "billing_scheme": "tiered",
        "tiers_mode": "graduated",
        "tiers": _tiers((5, 100, 0), (None, 50, 200)),
    }
    # 5 × 100 + 3 × 50 + 200 (flat fee of the second tier)
    assert pricing.line_subtotal(price, 8) == 850
    assert pricing.line_subtotal(price, 5) == 500


def test_pricing_volume_tiers():
    price = {
        "billing_scheme": "tiered",
        "tiers_mode": "volume",
        "tiers": _tiers((5, 100, 0), (None, 50, 200)),
    }
    assert pricing.line_subtotal(price, 8) == 8 * 50 + 200
    assert pricing.line_subtotal(price, 5) == 500


def test_pricing_decimal_unit_amount_rounds_half_up():
    assert pricing.line_subtotal({"unit_amount": None, "unit_amount_decimal": "0.5"}, 3) == 2


def test_pricing_customer_chooses():
    price = {"custom_unit_amount": {"minimum": 100, "maximum": 1000, "preset": 500}}
    assert pricing.line_subtotal(price, 1) == 500
    assert pricing.line_subtotal(price, 1, custom_amount=750) == 750
    assert pricing.custom_amount_error(price, 50) == "too_small"
    assert pricing.custom_amount_error(price, 5000) == "too_large"


def test_minor_units_by_currency():
    assert pricing.to_minor("12.50", "usd") == 1250
    assert pricing.to_minor("1200", "jpy") == 1200
    assert pricing.to_minor("12.5", "jpy") is None
    assert pricing.format_amount(1250, "eur") == "12.50 EUR"


def test_currency_options_are_kept(api, product):
    price = api.ok(
        "post",
        "prices",
        {
            "product": product["id"],
            "currency": "usd",
            "unit_amount": 1000,
            "currency_options": {"eur": {"unit_amount": 900}},
        },
    )
    assert price["currency_options"]["eur"]["unit_amount"] == 900
    assert price["currency_options"]["eur"]["unit_amount_decimal"] == "900"


def test_product_images_at_most_eight(api):
    images = [f"https://example.com/{i}.png" for i in range(9)]
    assert api.post("products", {"name": "x", "images": images}).json()["error"]["param"] == "images"
