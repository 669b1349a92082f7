"""Generated junk to every sandbox API route: never a 5xx, and every 4xx is Stripe's error envelope.

The routes and their methods come from the URL resolver (``sandbox/urls.py`` as mounted), so a new
endpoint is fuzzed without anyone adding it here.
"""

from __future__ import annotations

import json
import re
import typing
from decimal import Decimal
from urllib.parse import quote, urlencode

import pytest
import typing_extensions
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox import limits, params

pytestmark = pytest.mark.django_db

KEY = "sk_test_sandbox_fuzz"
# The error types Stripe documents (docs.stripe.com/api/errors).
ERROR_TYPES = {"api_error", "card_error", "idempotency_error", "invalid_request_error"}


def _api_views() -> list[tuple[str, object]]:
    """``(route, view)`` of every sandbox API endpoint (the views ``api/dispatch.endpoint`` builds)."""
    found = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "handlers"):
                found.append((prefix + str(pattern.pattern), pattern.callback))

    walk(get_resolver().url_patterns, "")
    return found


def _api_routes() -> list[tuple[str, str]]:
    """``(route, method)`` of every sandbox API endpoint: ``("sandbox/v1/prices/<str:price_id>", "POST")``…"""
    return [(route, method) for route, view in _api_views() for method in sorted(view.handlers)]


ROUTES = _api_routes()
_PATH_PARAM = re.compile(r"<(?:\w+:)?\w+>")

# Parameter names Stripe uses, so the junk reaches the checks behind the parser, plus any text.
NAMES = st.sampled_from(
    [
        "name",
        "description",
        "currency",
        "unit_amount",
        "unit_amount_decimal",
        "amount",
        "amount_off",
        "percent_off",
        "product",
        "product_data",
        "price",
        "line_items",
        "quantity",
        "metadata",
        "expand",
        "limit",
        "starting_after",
        "ending_before",
        "created",
        "query",
        "page",
        "seconds",
        "recurring",
        "tiers",
        "transform_quantity",
        "custom_unit_amount",
        "currency_options",
        "restrictions",
        "redeem_by",
        "expires_at",
        "display_name",
        "fixed_amount",
        "delivery_estimate",
        "url",
        "enabled_events",
        "active",
    ]
)
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)  # lone surrogates cannot be encoded
PART = st.one_of(st.just(""), st.integers(0, 30).map(str), NAMES, TEXT)
KEYS = st.one_of(
    st.builds(
        lambda head, parts: head + "".join(f"[{p}]" for p in parts),
        st.one_of(NAMES, TEXT),
        st.lists(PART, max_size=6),
    ),
    st.builds(lambda head, depth: head + "[a]" * depth, NAMES, st.integers(10, 3000)),
    TEXT,
)
VALUES = st.one_of(
    TEXT,
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(
        [
            "",
            "NaN",
            "Infinity",
            "-Infinity",
            "1e999999",
            "1e-999999",
            "9" * 5000,
            "true",
            "false",
            "inf",
            "xxx",
            "\x00",
        ]
    ),
    st.floats().map(str),
    st.text(max_size=3).map(lambda t: t * 2000),
)
PAIRS = st.lists(st.tuples(KEYS, VALUES), max_size=12)
BODIES = st.one_of(PAIRS.map(lambda pairs: urlencode(pairs).encode()), st.binary(max_size=200))
AUTH = st.one_of(
    st.just(f"Bearer {KEY}"),
    st.just(f"Bearer {KEY}"),
    st.sampled_from(
        ["", "Basic YQ", "Basic !!!", "Basic éé", "Bearer", "Bearer sk_live_x", "Bearer sk_test_\x00"]
    ),
    TEXT.map(lambda t: "Basic " + t),
    TEXT,
)
PATH_VALUES = st.one_of(
    st.sampled_from(["prod_missing", "price_missing", "x"]), st.text(min_size=1, max_size=20)
)


def _assert_stripe_shaped(response) -> None:
    assert response.status_code < 500, response.content[:500]
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/json", response.content[:200]
        error = json.loads(response.content)["error"]
        assert error["type"] in ERROR_TYPES
        assert isinstance(error["message"], str) and error["message"]


@pytest.mark.parametrize(("route", "method"), ROUTES, ids=[f"{m} {r}" for r, m in ROUTES])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_junk_to_every_api_route_gets_stripes_envelope_and_never_a_5xx(client, route, method, data):
    path = _PATH_PARAM.sub(lambda _: quote(data.draw(PATH_VALUES), safe=""), route)
    body = data.draw(BODIES)
    headers = {"HTTP_AUTHORIZATION": data.draw(AUTH)}
    if data.draw(st.booleans()):
        headers["HTTP_IDEMPOTENCY_KEY"] = data.draw(TEXT)
    if data.draw(st.booleans()):
        headers["HTTP_STRIPE_VERSION"] = data.draw(TEXT)
    if method == "POST":
        response = client.generic(
            method, f"/{path}", body, content_type="application/x-www-form-urlencoded", **headers
        )
    else:
        # Reads and deletes take their parameters in the query string.
        query = body.decode("latin-1")
        response = client.generic(method, f"/{path}", QUERY_STRING=query, **headers)
    _assert_stripe_shaped(response)


def test_every_api_route_is_fuzzed():
    """The walk found the sandbox's endpoints (a broken walk would fuzz nothing and pass)."""
    assert ("sandbox/v1/products", "POST") in ROUTES
    assert ("sandbox/v1/test_helpers/sandbox_clock/advance", "POST") in ROUTES
    assert len(ROUTES) > 50


# Well-formed requests with extreme values: each writing route's parameters built from the SDK's own
# ``*Params`` type (the one its handler validates against), so the values get past the parser and reach
# the handler's rules.


def _params_class(handler) -> type | None:
    names = [name for name in handler.__code__.co_names if name.endswith("Params")]
    classes = [handler.__globals__.get(name) for name in names]
    return next((c for c in classes if isinstance(c, type) and params._is_typeddict(c)), None)


WRITES = [
    (route, method, cls)
    for route, view in _api_views()
    for method, handler in sorted(view.handlers.items())
    if method == "POST" and (cls := _params_class(handler)) is not None
]
INTEGERS = st.one_of(
    st.integers(-3, 3),
    st.sampled_from([2**31 - 1, 2**31, 99_999_999, 100_000_000, 2**63, -(2**63)]),
    st.integers(-(2**66), 2**66),
)
STRINGS = st.one_of(TEXT, st.sampled_from(["usd", "eur", "jpy", "XXX", "prod_missing", "inf", "a" * 300]))


def _value(tp, module_globals: dict, depth: int):
    choices = []
    for option in (params._resolve(o, module_globals) for o in params._union_args(tp)):
        origin = typing_extensions.get_origin(option)
        if params._is_typeddict(option):
            if depth < 3:
                choices.append(_object(option, depth + 1))
        elif origin is list:
            (item,) = typing_extensions.get_args(option)
            choices.append(st.lists(_value(item, module_globals, depth + 1), max_size=3))
        elif origin is dict or params._is_untyped_object(option):
            choices.append(
                st.dictionaries(st.sampled_from(["a", "eur", "usd", "k" * 41]), STRINGS, max_size=3)
            )
        elif origin is typing.Literal:
            choices.append(st.sampled_from(typing_extensions.get_args(option)))
        elif option is bool:
            choices.append(st.booleans())
        elif option is int:
            choices.append(INTEGERS)
        elif option is float:
            choices.append(st.floats())
        elif option is Decimal:
            choices.append(st.decimals(allow_nan=True).map(str))
        else:
            choices.append(STRINGS)
    return st.one_of(choices) if choices else st.just("x")


def _object(cls: type, depth: int = 0):
    fields, required = params.fields_of(cls)
    strategies = {name: _value(tp, module_globals, depth) for name, (tp, module_globals) in fields.items()}
    return st.fixed_dictionaries(
        {name: strategies[name] for name in required},
        optional={name: strategies[name] for name in fields if name not in required},
    )


@pytest.fixture
def existing(api, product, price, link) -> dict[str, str]:
    """An object of each kind a route's path can name, by the route's first segment."""
    coupon = api.ok("post", "coupons", {"percent_off": 5})
    rate = {"display_name": "Post", "fixed_amount": {"amount": 1, "currency": "usd"}}
    return {
        "products": product["id"],
        "prices": price["id"],
        "payment_links": link["id"],
        "coupons": coupon["id"],
        "promotion_codes": api.ok(
            "post", "promotion_codes", {"promotion": {"type": "coupon", "coupon": coupon["id"]}}
        )["id"],
        "shipping_rates": api.ok("post", "shipping_rates", rate)["id"],
        "tax_rates": api.ok(
            "post", "tax_rates", {"display_name": "VAT", "inclusive": False, "percentage": 20}
        )["id"],
        "webhook_endpoints": api.ok(
            "post", "webhook_endpoints", {"url": "https://e.com/h", "enabled_events": ["*"]}
        )["id"],
    }


@pytest.mark.parametrize(("route", "method", "params_cls"), WRITES, ids=[f"{m} {r}" for r, m, _ in WRITES])
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_extreme_values_for_each_declared_parameter_never_give_a_5xx(
    api, existing, route, method, params_cls, data
):
    segment = route.removeprefix("sandbox/v1/").split("/")[0]
    path = _PATH_PARAM.sub(lambda _: existing.get(segment, "missing"), route).removeprefix("sandbox/v1/")
    body = data.draw(_object(params_cls))
    _assert_stripe_shaped(api.post(path, body))


def test_every_writing_route_is_fuzzed_with_its_parameters():
    assert {cls.__name__ for _, _, cls in WRITES} >= {
        "ProductCreateParams",
        "PaymentLinkCreateParams",
        "PriceCreateParams",
    }


def _paths(cls: type, prefix: tuple = (), depth: int = 0) -> set[tuple]:
    """Every parameter path a params type declares, list indexes and map keys as ``"*"``."""
    found = set()
    fields, _ = params.fields_of(cls)
    for name, (tp, module_globals) in fields.items():
        found.add((*prefix, name))
        for option in (params._resolve(o, module_globals) for o in params._union_args(tp)):
            origin = typing_extensions.get_origin(option)
            if origin in (list, dict) or params._is_untyped_object(option):
                inner = params._resolve(typing_extensions.get_args(option)[-1], module_globals)
                found.add((*prefix, name, "*"))
                if params._is_typeddict(inner) and depth < 6:
                    found |= _paths(inner, (*prefix, name, "*"), depth + 1)
            elif params._is_typeddict(option) and depth < 6:
                found |= _paths(option, (*prefix, name), depth + 1)
    return found


def test_every_limit_names_a_parameter_the_sandbox_takes():
    """A misspelt rule in limits.py would limit nothing: each one matches a declared parameter."""
    declared = set().union(*(_paths(cls) for _, _, cls in WRITES))
    rules = [*limits.AMOUNTS, *limits.COUNTS, *limits.STRINGS]
    rules += [rule for own in limits.RESOURCE_STRINGS.values() for rule in own]
    unmatched = [rule for rule in rules if not any(limits.matches(list(path), [rule]) for path in declared)]
    assert unmatched == []
