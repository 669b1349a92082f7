"""Bad input to the sandbox API: Stripe's error envelope (400, 401 for auth), never a 5xx, nothing stored."""

from __future__ import annotations

import base64
import json
import re
import typing
from pathlib import Path

import pytest
import stripe

from sandbox import clock_tick, limits
from sandbox.models import ApiObject

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"
AUTH = {"HTTP_AUTHORIZATION": "Bearer sk_test_sandbox_tests"}


def stripe_error(response, status: int = 400) -> dict:
    """The ``error`` of a Stripe-shaped answer with ``status``."""
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    error = json.loads(response.content)["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"]
    return error


def post_raw(client, path: str, body: bytes | str):
    return client.post(f"/sandbox/v1/{path}", data=body, content_type=FORM, **AUTH)


def stored(type: str) -> int:
    return ApiObject.objects.filter(type=type).count()


# Authorization ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        "Bearer",
        "Basic",
        "Basic YQ",  # bad padding
        "Basic !!!",
        "Basic éé",  # not ASCII
        "Basic " + base64.b64encode(b"\xff\xfe:").decode(),  # not UTF-8 once decoded
        "Bearer sk_test_\xff\xfe",  # a header's latin-1 bytes that are not printable ASCII
        "Bearer sk_test_" + "x" * 300,  # longer than any key (and than IdempotencyRecord.api_key)
        "Bearer sk_test_a\x00b",
    ],
)
def test_an_authorization_header_that_is_not_a_key_is_401(client, header):
    response = client.post(
        "/sandbox/v1/products",
        data="name=x",
        content_type=FORM,
        HTTP_AUTHORIZATION=header,
        HTTP_IDEMPOTENCY_KEY="k",
    )
    stripe_error(response, status=401)
    assert stored("product") == 0


def test_basic_auth_with_the_key_as_user_name_still_works(client):
    header = "Basic " + base64.b64encode(b"sk_test_sandbox_tests:").decode()
    assert client.get("/sandbox/v1/products", HTTP_AUTHORIZATION=header).status_code == 200


def test_an_idempotency_key_with_control_characters_is_400_and_not_echoed(client):
    response = client.post(
        "/sandbox/v1/products",
        data="name=x",
        content_type=FORM,
        HTTP_IDEMPOTENCY_KEY="a\r\nSet-Cookie: x",
        **AUTH,
    )
    assert stripe_error(response)["code"] == "invalid_characters"
    assert "Idempotency-Key" not in response
    assert stored("product") == 0


def test_a_stripe_version_with_control_characters_is_not_echoed(client):
    response = client.get("/sandbox/v1/products", HTTP_STRIPE_VERSION="2025-01-01\r\nX: y", **AUTH)
    assert response.status_code == 200
    assert "Stripe-Version" not in response


# Numbers ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "NaN",
        "sNaN",
        "Infinity",
        "-Infinity",
        "inf",
        "1e-999999",
        "0.0000000000001",
        "1e999999",
        "9" * 5000,
        "-0.5",
    ],
)
def test_an_unusable_unit_amount_decimal_is_400(api, product, value):
    response = api.post("prices", {"product": product["id"], "currency": "usd", "unit_amount_decimal": value})
    assert stripe_error(response)["param"] == "unit_amount_decimal"
    assert stored("price") == 0


@pytest.mark.parametrize("value", ["1e30", "99999999999999999999999"])
def test_a_float_past_64_bits_is_400_and_the_product_still_renders(api, product, value):
    dimensions = {"height": value, "length": "1", "weight": "1", "width": "1"}
    response = api.post(f"products/{product['id']}", {"package_dimensions": dimensions})
    assert stripe_error(response)["param"] == "package_dimensions[height]"
    assert api.ok("post", f"products/{product['id']}", {"active": False})["active"] is False


def test_a_decimal_with_twelve_places_is_accepted(api, product):
    price = api.ok(
        "post",
        "prices",
        {"product": product["id"], "currency": "usd", "unit_amount_decimal": "1.000000000001"},
    )
    assert price["unit_amount_decimal"] == "1.000000000001"


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e999"])
def test_a_float_that_is_not_finite_is_400(api, value):
    error = stripe_error(api.post("coupons", {"percent_off": value}))
    assert error["param"] == "percent_off"
    assert stored("coupon") == 0


@pytest.mark.parametrize("value", ["1_000", " 5", "٥", "5.0", "1e3", str(2**63), "9" * 5000])
def test_an_integer_that_stripe_would_not_read_is_parameter_invalid_integer(api, product, value):
    response = api.post("prices", {"product": product["id"], "currency": "usd", "unit_amount": value})
    error = stripe_error(response)
    assert (error["code"], error["param"]) == ("parameter_invalid_integer", "unit_amount")


def test_a_filter_beyond_64_bits_is_400_not_a_database_overflow(api):
    error = stripe_error(api.get("products", {"created": {"gt": str(2**64)}}))
    assert error["param"] == "created[gt]"


# Amounts: Stripe's eight digits (limits.MAX_AMOUNT) ---------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "param"),
    [
        ("prices", {"currency": "usd", "unit_amount": 100_000_000}, "unit_amount"),
        ("prices", {"currency": "jpy", "unit_amount": 100_000_000}, "unit_amount"),
        ("prices", {"currency": "usd", "unit_amount_decimal": "100000000.5"}, "unit_amount_decimal"),
        (
            "prices",
            {"currency": "usd", "custom_unit_amount": {"enabled": True, "maximum": 100_000_000}},
            "custom_unit_amount[maximum]",
        ),
        (
            "prices",
            {
                "currency": "usd",
                "billing_scheme": "tiered",
                "tiers_mode": "graduated",
                "tiers": [{"up_to": "inf", "flat_amount": 100_000_000}],
            },
            "tiers[0][flat_amount]",
        ),
        (
            "prices",
            {"currency": "usd", "unit_amount": 1, "currency_options": {"eur": {"unit_amount": 100_000_000}}},
            "currency_options[eur][unit_amount]",
        ),
        ("coupons", {"amount_off": 100_000_000, "currency": "usd"}, "amount_off"),
        (
            "shipping_rates",
            {"display_name": "Post", "fixed_amount": {"amount": 100_000_000, "currency": "usd"}},
            "fixed_amount[amount]",
        ),
    ],
)
def test_an_amount_over_eight_digits_is_amount_too_large(api, product, path, params, param):
    if path == "prices":
        params = {"product": product["id"], **params}
    before = ApiObject.objects.count()
    error = stripe_error(api.post(path, params))
    assert (error["code"], error["param"]) == ("amount_too_large", param)
    assert ApiObject.objects.count() == before


def test_the_largest_amount_is_accepted(api, product):
    price = api.ok(
        "post", "prices", {"product": product["id"], "currency": "usd", "unit_amount": limits.MAX_AMOUNT}
    )
    assert price["unit_amount"] == 99_999_999


# Counts: 32-bit ----------------------------------------------------------------------------------------


def _post_count(api, product, price, link, target: str, value: int):
    if target == "divide_by":
        params = {"unit_amount": 1, "transform_quantity": {"divide_by": value, "round": "up"}}
        return api.post(
            "prices", {"product": product["id"], "currency": "usd", **params}
        ), "transform_quantity[divide_by]"
    if target == "up_to":
        tiers = [{"up_to": value, "unit_amount": 1}, {"up_to": "inf", "unit_amount": 1}]
        params = {"billing_scheme": "tiered", "tiers_mode": "graduated", "tiers": tiers}
        return api.post("prices", {"product": product["id"], "currency": "usd", **params}), "tiers[0][up_to]"
    if target == "limit":
        params = {"restrictions": {"completed_sessions": {"limit": value}}}
        return api.post(f"payment_links/{link['id']}", params), "restrictions[completed_sessions][limit]"
    if target == "delivery_estimate":
        params = {
            "display_name": "Post",
            "fixed_amount": {"amount": 1, "currency": "usd"},
            "delivery_estimate": {"minimum": {"unit": "day", "value": value}},
        }
        return api.post("shipping_rates", params), "delivery_estimate[minimum][value]"
    params = {"line_items": [{"price": price["id"], "quantity": value}]}
    return api.post("payment_links", params), "line_items[0][quantity]"


@pytest.mark.parametrize("target", ["divide_by", "up_to", "limit", "delivery_estimate", "quantity"])
def test_a_count_over_2_31_is_parameter_invalid_integer(api, product, price, link, target):
    before = {kind: stored(kind) for kind in ("price", "payment_link", "shipping_rate")}
    link_before = ApiObject.objects.get(stripe_id=link["id"]).data
    response, param = _post_count(api, product, price, link, target, 2**31)
    error = stripe_error(response)
    assert (error["code"], error["param"]) == ("parameter_invalid_integer", param)
    assert {kind: stored(kind) for kind in before} == before
    assert ApiObject.objects.get(stripe_id=link["id"]).data == link_before


def test_a_count_of_2_31_minus_1_passes_the_integer_check(api, product):
    params = {"unit_amount": 1, "transform_quantity": {"divide_by": 2**31 - 1, "round": "up"}}
    api.ok("post", "prices", {"product": product["id"], "currency": "usd", **params})


# Strings ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "param", "maximum"),
    [
        ("products", {"name": "x" * 251}, "name", 250),
        ("products", {"name": "x", "description": "d" * 40_001}, "description", 40_000),
        ("products", {"name": "x", "statement_descriptor": "s" * 23}, "statement_descriptor", 22),
        ("products", {"name": "x", "unit_label": "u" * 13}, "unit_label", 12),
        ("products", {"name": "x", "url": "https://e.com/" + "u" * 5000}, "url", 5000),
        (
            "prices",
            {"currency": "usd", "unit_amount": 1, "product_data": {"name": "x" * 251}},
            "product_data[name]",
            250,
        ),
        (
            "prices",
            {"currency": "usd", "unit_amount": 1, "product": "P", "lookup_key": "k" * 201},
            "lookup_key",
            200,
        ),
        ("coupons", {"percent_off": 5, "name": "c" * 41}, "name", 40),
        (
            "shipping_rates",
            {"display_name": "s" * 101, "fixed_amount": {"amount": 1, "currency": "usd"}},
            "display_name",
            100,
        ),
        ("tax_rates", {"display_name": "t" * 51, "inclusive": False, "percentage": 5}, "display_name", 50),
    ],
)
def test_a_string_over_stripes_length_is_400(api, product, path, params, param, maximum):
    if params.get("product") == "P":
        params = {**params, "product": product["id"]}
    before = ApiObject.objects.count()
    error = stripe_error(api.post(path, params))
    assert error["param"] == param
    assert error["message"].endswith(f"must be at most {maximum} characters")
    assert ApiObject.objects.count() == before


def test_a_name_of_exactly_250_characters_is_accepted(api):
    assert len(api.ok("post", "products", {"name": "x" * 250})["name"]) == 250


def test_an_inline_product_name_on_a_link_is_limited_too(api):
    line = {
        "price_data": {"currency": "usd", "unit_amount": 1, "product_data": {"name": "x" * 251}},
        "quantity": 1,
    }
    error = stripe_error(api.post("payment_links", {"line_items": [line]}))
    assert error["param"] == "line_items[0][price_data][product_data][name]"
    assert stored("product") == stored("price") == stored("payment_link") == 0


def test_an_update_over_the_length_changes_nothing(api, product):
    stripe_error(api.post(f"products/{product['id']}", {"name": "x" * 251}))
    assert api.ok("get", f"products/{product['id']}")["name"] == product["name"]


def test_nul_is_invalid_characters_and_nothing_is_stored(client):
    error = stripe_error(post_raw(client, "products", "name=a%00b"))
    assert (error["code"], error["param"]) == ("invalid_characters", "name")
    error = stripe_error(post_raw(client, "products", "name=a&metadata[k]=%00"))
    assert error["code"] == "invalid_characters"
    assert stored("product") == 0


# Currencies, timestamps, cursors, search ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "param"),
    [
        ("prices", {"currency": "xxx", "unit_amount": 1}, "currency"),
        (
            "prices",
            {"currency": "usd", "unit_amount": 1, "currency_options": {"xxx": {"unit_amount": 1}}},
            "currency_options[xxx]",
        ),
        ("coupons", {"amount_off": 5, "currency": "xxx"}, "currency"),
        (
            "shipping_rates",
            {"display_name": "Post", "fixed_amount": {"amount": 1, "currency": "xxx"}},
            "fixed_amount[currency]",
        ),
    ],
)
def test_an_unknown_currency_is_400(api, product, path, params, param):
    if path == "prices":
        params = {"product": product["id"], **params}
    before = ApiObject.objects.count()
    error = stripe_error(api.post(path, params))
    assert error["param"] == param
    assert error["message"].startswith("Invalid currency: xxx.")
    assert ApiObject.objects.count() == before


def test_an_unknown_currency_filter_is_400(api):
    assert stripe_error(api.get("prices", {"currency": "xxx"}))["param"] == "currency"


def test_upper_case_currencies_are_still_accepted(api, product):
    assert (
        api.ok("post", "prices", {"product": product["id"], "currency": "EUR", "unit_amount": 1})["currency"]
        == "eur"
    )


def test_a_coupon_redeem_by_in_the_past_is_400(api):
    error = stripe_error(api.post("coupons", {"percent_off": 5, "redeem_by": 1_000_000_000}))
    assert error["param"] == "redeem_by"
    assert stored("coupon") == 0


def test_the_past_is_measured_on_the_sandbox_clock(api):
    now = api.ok("get", "test_helpers/sandbox_clock")["now"]
    api.ok("post", "test_helpers/sandbox_clock/advance", {"seconds": 7200})
    # In the wall clock's future, in the sandbox's past.
    stripe_error(api.post("coupons", {"percent_off": 5, "redeem_by": now + 3600}))
    assert (
        api.ok("post", "coupons", {"percent_off": 5, "redeem_by": now + 3 * 3600})["redeem_by"]
        == now + 3 * 3600
    )


def test_a_promotion_code_expires_at_in_the_past_is_400(api):
    coupon = api.ok("post", "coupons", {"percent_off": 5})
    params = {"promotion": {"type": "coupon", "coupon": coupon["id"]}, "expires_at": 1_000_000_000}
    assert stripe_error(api.post("promotion_codes", params))["param"] == "expires_at"
    assert stored("promotion_code") == 0


@pytest.mark.parametrize("param", ["starting_after", "ending_before"])
def test_a_cursor_of_another_object_type_is_resource_missing(api, price, param):
    error = stripe_error(api.get("products", {param: price["id"]}))
    assert (error["code"], error["param"]) == ("resource_missing", param)
    assert error["message"] == f"No such product: '{price['id']}'"


@pytest.mark.parametrize(
    "query",
    [
        "((((",
        "name:",
        "name",
        "'",
        "metadata['x",
        "name:'a' AND",
        "name:'a' AND active:'b' OR url:'c'",
        "name>'abc'",
        "-",
    ],
)
def test_an_unparsable_search_query_is_400(api, query):
    assert stripe_error(api.get("products/search", {"query": query}))["param"] == "query"


@pytest.mark.parametrize(
    "page",
    ["!!!", "YQ", base64.urlsafe_b64encode(b"\xff").decode(), base64.urlsafe_b64encode(b"-1").decode()],
)
def test_a_search_page_token_that_is_not_ours_is_400(api, page):
    assert (
        stripe_error(api.get("products/search", {"query": "active:'true'", "page": page}))["param"] == "page"
    )


def test_a_range_on_a_text_field_matches_nothing(api, product):
    assert api.ok("get", "products/search", {"query": "name>5"})["data"] == []


# The request itself ------------------------------------------------------------------------------------


def test_a_body_over_the_upload_limit_is_stripes_envelope(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    stripe_error(post_raw(client, "products", "name=" + "x" * 2000))
    assert stored("product") == 0


def test_too_many_fields_is_400(client):
    # One parameter repeated is otherwise fine (the last value wins): only the count is refused.
    body = "&".join("name=x" for _ in range(limits.MAX_FIELDS + 1))
    assert "up to 5000" in stripe_error(post_raw(client, "products", body))["message"]
    assert stored("product") == 0


@pytest.mark.parametrize("key", ["a" + "[b]" * 5000, "metadata" + "[b]" * 5000, "name[" * 100, "]]]", "[x]"])
def test_deep_or_broken_parameter_names_are_400(client, key):
    stripe_error(post_raw(client, "products", f"name=x&{key}=1"))
    assert stored("product") == 0


def test_a_nested_metadata_value_is_400(client):
    stripe_error(post_raw(client, "products", "name=x&metadata[a][b][c]=1"))
    assert stored("product") == 0


def test_a_repeated_key_takes_the_last_value(client):
    response = post_raw(client, "products", "name=first&name=second")
    assert json.loads(response.content)["name"] == "second"


def test_a_body_that_is_not_utf8_is_read_with_replacement_characters(client):
    response = post_raw(client, "products", b"name=caf\xe9&description=\xff\xfe")
    assert response.status_code == 200
    assert json.loads(response.content)["name"] == "caf\ufffd"


@pytest.mark.parametrize("path", ["promotion_codes/%2F%0A", "nope%0A", "products/a/b/c"])
def test_an_unknown_api_url_is_stripes_404_envelope(client, path):
    stripe_error(client.post(f"/sandbox/v1/{path}", **AUTH), status=404)


# The sandbox clock -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "seconds", [str(2**63), str(2**63 - 1), str(limits.MAX_CLOCK_ADVANCE + 1), "9" * 5000, "1_000", "1e3"]
)
def test_an_api_clock_advance_out_of_range_is_400_and_the_clock_stays(api, seconds):
    before = api.ok("get", "test_helpers/sandbox_clock")["now"]
    assert (
        stripe_error(api.post("test_helpers/sandbox_clock/advance", {"seconds": seconds}))["param"]
        == "seconds"
    )
    assert api.ok("get", "test_helpers/sandbox_clock")["now"] - before < 60


def test_the_clock_never_passes_the_year_9999(api):
    # Started three and a half advances short of the limit, not the ~800 from today (they add nothing but
    # time); the half keeps the last accepted advance clear of the limit, as from today.
    now = api.ok("get", "test_helpers/sandbox_clock")["now"]
    clock_tick.clock_advance(seconds=limits.MAX_TIMESTAMP - now - 7 * limits.MAX_CLOCK_ADVANCE // 2)
    for _ in range(800):
        response = api.post("test_helpers/sandbox_clock/advance", {"seconds": limits.MAX_CLOCK_ADVANCE})
        if response.status_code != 200:
            break
    assert "9999" in stripe_error(response)["message"]
    assert api.ok("get", "test_helpers/sandbox_clock")["now"] <= limits.MAX_TIMESTAMP


@pytest.mark.parametrize("seconds", [str(2**63), str(limits.MAX_CLOCK_ADVANCE + 1), "9" * 5000])
def test_the_clock_page_shows_an_out_of_range_advance_next_to_the_field(staff_client, api, seconds):
    before = api.ok("get", "test_helpers/sandbox_clock")["now"]
    response = staff_client.post("/sandbox/clock/advance", {"seconds": seconds})
    assert response.status_code == 400
    form = response.context["clock_form"]
    assert form.errors["seconds"]
    assert form.errors["seconds"][0] in response.content.decode()
    assert api.ok("get", "test_helpers/sandbox_clock")["now"] - before < 60


# Error codes -------------------------------------------------------------------------------------------


def _documented_codes() -> set[str]:
    """Stripe's error codes as the SDK types them (``LastPaymentError.code``; docs.stripe.com/error-codes)."""
    annotation = stripe.PaymentIntent.LastPaymentError.__annotations__["code"]
    literal = next(a for a in typing.get_args(annotation) if typing.get_origin(a) is typing.Literal)
    return set(typing.get_args(literal))


def test_every_error_code_the_sandbox_api_sends_is_one_stripe_documents():
    # The API layer only: the hosted pages' forms use Django's own validation codes.
    root = Path(__file__).resolve().parents[2] / "sandbox"
    sources = [
        *root.glob("api/*.py"),
        *(root / name for name in ("params.py", "encoding.py", "errors.py", "store.py")),
    ]
    used = {code for path in sources for code in re.findall(r'code="([a-z_]+)"', path.read_text())}
    assert {"amount_too_large", "invalid_characters", "parameter_invalid_integer"} <= used
    assert used <= _documented_codes()


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_id_with_a_nul_in_the_path_is_stripes_404(client, method):
    # PostgreSQL refuses text with a NUL: it must never reach a query.
    response = getattr(client, method)("/sandbox/v1/products/prod_a%00b", **AUTH)

    assert stripe_error(response, status=404)["message"].startswith("Unrecognized request URL")
    assert stored("product") == 0
