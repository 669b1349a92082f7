"""Hosted page options: promotion codes, shipping, automatic tax, custom fields, phone, terms, repricing."""

from __future__ import annotations

import pytest

from sandbox.models import ApiObject

pytestmark = pytest.mark.django_db

CARD = {
    "email": "a@example.com",
    "card_number": "4242424242424242",
    "card_expiry": "12/34",
    "card_cvc": "123",
    "cardholder_name": "Ada",
}


def _path(link: dict) -> str:
    return link["url"].removeprefix("http://testserver")


def _last_session(api) -> dict:
    session = ApiObject.objects.filter(type="checkout.session").order_by("-seq").first()
    return api.ok("get", f"checkout/sessions/{session.stripe_id}", {"expand": ["line_items"]})


def _promo_link(api, price, **coupon) -> tuple[dict, dict]:
    coupon = api.ok("post", "coupons", coupon or {"percent_off": 10})
    promo = api.ok(
        "post", "promotion_codes", {"promotion": {"type": "coupon", "coupon": coupon["id"]}, "code": "SPRING"}
    )
    link = api.ok(
        "post",
        "payment_links",
        {"line_items": [{"price": price["id"], "quantity": 2}], "allow_promotion_codes": True},
    )
    return link, promo


def test_percent_off_promotion_code(client, api, price):
    link, promo = _promo_link(api, price)
    client.post(_path(link), {**CARD, "promotion_code": "spring"})
    session = _last_session(api)
    assert session["status"] == "complete"
    assert session["total_details"]["amount_discount"] == 300
    assert session["amount_total"] == 2700
    assert session["discounts"] == [{"coupon": promo["promotion"]["coupon"], "promotion_code": promo["id"]}]
    assert session["line_items"]["data"][0]["amount_discount"] == 300
    assert api.ok("get", f"promotion_codes/{promo['id']}")["times_redeemed"] == 1


def test_amount_off_promotion_code(client, api, price):
    link, _ = _promo_link(api, price, amount_off=500, currency="usd")
    client.post(_path(link), {**CARD, "promotion_code": "SPRING"})
    assert _last_session(api)["amount_total"] == 2500


def test_unknown_promotion_code_is_refused_at_the_field(client, api, price):
    link, _ = _promo_link(api, price)
    response = client.post(_path(link), {**CARD, "promotion_code": "NOPE"})
    assert b"This code is invalid." in response.content
    assert _last_session(api)["status"] == "open"


def test_used_up_promotion_code(client, api, price):
    coupon = api.ok("post", "coupons", {"percent_off": 10, "max_redemptions": 1})
    api.ok(
        "post", "promotion_codes", {"promotion": {"type": "coupon", "coupon": coupon["id"]}, "code": "ONCE"}
    )
    link = api.ok(
        "post",
        "payment_links",
        {"line_items": [{"price": price["id"], "quantity": 1}], "allow_promotion_codes": True},
    )
    client.post(_path(link), {**CARD, "promotion_code": "ONCE"})
    response = client.post(_path(link), {**CARD, "promotion_code": "ONCE"})
    assert b"This code has expired." in response.content
    assert api.ok("get", f"coupons/{coupon['id']}")["valid"] is False


def test_minimum_amount_and_first_time_restrictions(client, api, price):
    coupon = api.ok("post", "coupons", {"percent_off": 10})
    api.ok(
        "post",
        "promotion_codes",
        {
            "promotion": {"type": "coupon", "coupon": coupon["id"]},
            "code": "BIG",
            "restrictions": {"minimum_amount": 5000, "minimum_amount_currency": "usd"},
        },
    )
    api.ok(
        "post",
        "promotion_codes",
        {
            "promotion": {"type": "coupon", "coupon": coupon["id"]},
            "code": "NEW",
            "restrictions": {"first_time_transaction": True},
        },
    )
    link = api.ok(
        "post",
        "payment_links",
        {"line_items": [{"price": price["id"], "quantity": 1}], "allow_promotion_codes": True},
    )
    assert (
        b"minimum order of 50.00 USD" in client.post(_path(link), {**CARD, "promotion_code": "BIG"}).content
    )
    client.post(_path(link), {**CARD, "promotion_code": "NEW"})
    assert b"first-time customers" in client.post(_path(link), {**CARD, "promotion_code": "NEW"}).content


def test_prefilled_promo_code_is_applied_at_once(client, api, price):
    link, _ = _promo_link(api, price)
    response = client.get(_path(link) + "?prefilled_promo_code=SPRING")
    assert b'value="SPRING"' in response.content
    assert b"27.00 USD" in response.content
    assert _last_session(api)["total_details"]["amount_discount"] == 300


def test_invalid_prefilled_promo_code_only_fills_the_field(client, api, price):
    link, _ = _promo_link(api, price)
    response = client.get(_path(link) + "?prefilled_promo_code=NOPE")
    assert b'value="NOPE"' in response.content
    assert _last_session(api)["amount_total"] == 3000


def test_promotion_code_api_rules(api):
    coupon = api.ok("post", "coupons", {"percent_off": 10})
    base = {"promotion": {"type": "coupon", "coupon": coupon["id"]}}
    api.ok("post", "promotion_codes", {**base, "code": "DUP"})
    assert api.post("promotion_codes", {**base, "code": "dup"}).json()["error"]["param"] == "code"
    assert api.post("promotion_codes", {**base, "code": "no spaces"}).json()["error"]["param"] == "code"
    assert (
        api.post("promotion_codes", {"promotion": {"type": "coupon", "coupon": "missing"}}).status_code == 404
    )
    generated = api.ok("post", "promotion_codes", base)
    assert generated["code"]
    assert generated["promotion"] == {"coupon": coupon["id"], "type": "coupon"}


def test_coupon_needs_exactly_one_discount(api):
    assert api.post("coupons", {}).status_code == 400
    assert api.post("coupons", {"percent_off": 10, "amount_off": 100, "currency": "usd"}).status_code == 400
    assert api.post("coupons", {"amount_off": 100}).json()["error"]["param"] == "currency"
    assert (
        api.post("coupons", {"percent_off": 10, "duration": "repeating"}).json()["error"]["param"]
        == "duration_in_months"
    )


def test_shipping_options_and_address(client, api, price):
    rate = api.ok(
        "post",
        "shipping_rates",
        {"display_name": "Post", "type": "fixed_amount", "fixed_amount": {"amount": 400, "currency": "usd"}},
    )
    link = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [{"price": price["id"], "quantity": 1}],
            "shipping_options": [{"shipping_rate": rate["id"]}],
            "shipping_address_collection": {"allowed_countries": ["FR", "BE"]},
        },
    )
    assert link["shipping_options"] == [{"shipping_amount": 400, "shipping_rate": rate["id"]}]
    shipping = {
        "shipping_name": "Ada",
        "shipping_line1": "1 rue X",
        "shipping_city": "Paris",
        "shipping_postal_code": "75001",
        "shipping_rate": rate["id"],
    }
    refused = client.post(_path(link), {**CARD, **shipping, "shipping_country": "US"})
    assert refused.status_code == 200
    client.post(_path(link), {**CARD, **shipping, "shipping_country": "FR"})
    session = _last_session(api)
    assert session["status"] == "complete"
    assert session["amount_total"] == 1900
    assert session["total_details"]["amount_shipping"] == 400
    assert session["collected_information"]["shipping_details"]["address"]["country"] == "FR"
    assert session["shipping_cost"]["shipping_rate"] == rate["id"]


def test_automatic_tax_exclusive_and_inclusive(client, api, product):
    billing = {
        "billing_line1": "1 rue X",
        "billing_city": "Paris",
        "billing_postal_code": "75001",
        "billing_country": "FR",
    }
    for behavior, total, tax in (("exclusive", 1200, 200), ("inclusive", 1000, 167)):
        price = api.ok(
            "post",
            "prices",
            {"product": product["id"], "currency": "eur", "unit_amount": 1000, "tax_behavior": behavior},
        )
        link = api.ok(
            "post",
            "payment_links",
            {"line_items": [{"price": price["id"], "quantity": 1}], "automatic_tax": {"enabled": True}},
        )
        client.post(_path(link), {**CARD, **billing})
        session = _last_session(api)
        assert (session["amount_total"], session["total_details"]["amount_tax"]) == (total, tax)
        assert session["line_items"]["data"][0]["taxes"][0]["rate"]["percentage"] == 20.0
        assert session["automatic_tax"]["status"] == "complete"


def test_custom_fields_phone_and_terms(client, api, price):
    link = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [{"price": price["id"], "quantity": 1}],
            "phone_number_collection": {"enabled": True},
            "consent_collection": {"terms_of_service": "required"},
            "custom_fields": [
                {
                    "key": "size",
                    "label": {"type": "custom", "custom": "Size"},
                    "type": "dropdown",
                    "dropdown": {
                        "options": [{"label": "Small", "value": "s"}, {"label": "Large", "value": "l"}]
                    },
                },
                {"key": "zip", "label": {"type": "custom", "custom": "Zip"}, "type": "numeric"},
                {
                    "key": "note",
                    "label": {"type": "custom", "custom": "Note"},
                    "type": "text",
                    "optional": True,
                },
            ],
        },
    )
    missing = client.post(_path(link), {**CARD, "custom_size": "l", "custom_zip": "12a"})
    assert b"Enter digits only." in missing.content
    client.post(
        _path(link),
        {**CARD, "custom_size": "l", "custom_zip": "12345", "phone": "+33123456789", "terms": "on"},
    )
    session = _last_session(api)
    assert session["status"] == "complete"
    values = {f["key"]: f[f["type"]]["value"] for f in session["custom_fields"]}
    assert values == {"size": "l", "zip": "12345", "note": None}
    assert session["customer_details"]["phone"] == "+33123456789"
    assert session["consent"]["terms_of_service"] == "accepted"


def test_update_total_reprices_without_paying(client, api, price):
    link = api.ok(
        "post",
        "payment_links",
        {"line_items": [{"price": price["id"], "quantity": 1, "adjustable_quantity": {"enabled": True}}]},
    )
    client.get(_path(link))
    session = _last_session(api)
    item_id = api.ok("get", f"payment_links/{link['id']}/line_items")["data"][0]["id"]
    response = client.post(f"/sandbox/checkout/{session['id']}", {"update": "1", f"quantity_{item_id}": 4})
    assert b"60.00 USD" in response.content
    repriced = _last_session(api)
    assert repriced["status"] == "open"
    assert repriced["amount_total"] == 6000


def test_optional_items_are_added_when_chosen(client, api, product, price):
    extra = api.ok("post", "prices", {"product": product["id"], "currency": "usd", "unit_amount": 200})
    link = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [{"price": price["id"], "quantity": 1}],
            "optional_items": [
                {"price": extra["id"], "quantity": 1, "adjustable_quantity": {"enabled": True, "maximum": 5}}
            ],
        },
    )
    client.post(_path(link), {**CARD, f"optional_{extra['id']}": 3})
    session = _last_session(api)
    assert session["amount_total"] == 1500 + 600
    assert [li["quantity"] for li in session["line_items"]["data"]] == [1, 3]
    client.post(_path(link), CARD)
    assert _last_session(api)["amount_total"] == 1500


def test_item_brought_to_zero_is_left_out(client, api, product, price):
    other = api.ok("post", "prices", {"product": product["id"], "currency": "usd", "unit_amount": 100})
    link = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [
                {"price": price["id"], "quantity": 1, "adjustable_quantity": {"enabled": True}},
                {"price": other["id"], "quantity": 1},
            ]
        },
    )
    first = api.ok("get", f"payment_links/{link['id']}/line_items")["data"][0]["id"]
    client.post(_path(link), {**CARD, f"quantity_{first}": 0})
    session = _last_session(api)
    assert [li["price"]["id"] for li in session["line_items"]["data"]] == [other["id"]]


def test_an_item_brought_to_zero_can_be_added_back(client, api, product, price):
    other = api.ok("post", "prices", {"product": product["id"], "currency": "usd", "unit_amount": 100})
    link = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [
                {"price": price["id"], "quantity": 1, "adjustable_quantity": {"enabled": True, "minimum": 0}},
                {"price": other["id"], "quantity": 1},
            ]
        },
    )
    first = api.ok("get", f"payment_links/{link['id']}/line_items")["data"][0]["id"]
    client.get(_path(link))
    session_id = _last_session(api)["id"]
    page = f"/sandbox/checkout/{session_id}"
    # Brought to 0 (HTMX): the session no longer has the line, the summary still offers its quantity.
    summary = client.post(page, {"update": "1", f"quantity_{first}": 0}, HTTP_HX_REQUEST="true").content
    assert _last_session(api)["amount_total"] == 100
    assert f'name="quantity_{first}" value="0"'.encode() in summary
    # The page shown again (a reload) still has the field, at the session's quantity.
    assert f'name="quantity_{first}" value="0"'.encode() in client.get(page).content
    # Without JavaScript ("Update total"), too.
    assert (
        f'name="quantity_{first}"'.encode()
        in client.post(page, {"update": "1", f"quantity_{first}": 0}).content
    )
    client.post(page, {"update": "1", f"quantity_{first}": 2}, HTTP_HX_REQUEST="true")
    assert _last_session(api)["amount_total"] == 2 * 1500 + 100
    assert client.post(page, {**CARD, f"quantity_{first}": 2}).status_code == 302
    paid = _last_session(api)
    assert [(li["price"]["id"], li["quantity"]) for li in paid["line_items"]["data"]] == [
        (price["id"], 2),
        (other["id"], 1),
    ]


def test_name_and_tax_id_collection(client, api, price):
    link = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [{"price": price["id"], "quantity": 1}],
            "tax_id_collection": {"enabled": True},
            "name_collection": {"business": {"enabled": True}},
        },
    )
    assert b"Business name" in client.post(_path(link), CARD).content
    client.post(
        _path(link),
        {
            **CARD,
            "business_name": "Lune SARL",
            "business_purchase": "on",
            "tax_id_type": "eu_vat",
            "tax_id_value": "FR12345678901",
        },
    )
    session = _last_session(api)
    assert session["customer_details"]["business_name"] == "Lune SARL"
    assert session["collected_information"]["business_name"] == "Lune SARL"
    assert session["customer_details"]["tax_ids"] == [{"type": "eu_vat", "value": "FR12345678901"}]


def test_blocked_card_brand_is_refused(client, api, price):
    link = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [{"price": price["id"], "quantity": 1}],
            "payment_method_options": {"card": {"restrictions": {"brands_blocked": ["american_express"]}}},
        },
    )
    amex = {**CARD, "card_number": "378282246310005", "card_cvc": "1234"}
    assert b"Your card is not supported." in client.post(_path(link), amex).content
    client.post(_path(link), CARD)
    assert _last_session(api)["status"] == "complete"


def test_total_details_breakdown_is_expandable(client, api, price):
    link, promo = _promo_link(api, price)
    client.post(_path(link), {**CARD, "promotion_code": "SPRING"})
    session_id = _last_session(api)["id"]
    assert "breakdown" not in api.ok("get", f"checkout/sessions/{session_id}")["total_details"]
    body = api.ok("get", f"checkout/sessions/{session_id}", {"expand": ["total_details.breakdown"]})
    discount = body["total_details"]["breakdown"]["discounts"][0]
    assert discount["amount"] == 300
    assert discount["discount"]["promotion_code"] == promo["id"]
    assert body["total_details"]["breakdown"]["taxes"] == []


def test_list_sessions_with_line_items_expanded(client, api, link):
    client.post(_path(link), CARD)
    sessions = api.ok(
        "get", "checkout/sessions", {"payment_link": link["id"], "expand": ["data.line_items"]}
    )["data"]
    assert sessions[0]["line_items"]["data"][0]["amount_total"] == 1500
