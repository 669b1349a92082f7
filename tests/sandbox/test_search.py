"""Search on products and prices (a subset of Stripe's query language), through the SDK too."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(api):
    lamp = api.ok("post", "products", {"name": "Desk lamp", "metadata": {"room": "office"}})
    api.ok("post", "products", {"name": "Floor lamp", "active": False})
    api.ok("post", "products", {"name": "Chair", "metadata": {"room": "office"}})
    return lamp


def _names(body: dict) -> list[str]:
    return [p["name"] for p in body["data"]]


def test_exact_substring_and_metadata(api, catalog):
    assert _names(api.ok("get", "products/search", {"query": "name~'lamp'"})) == ["Floor lamp", "Desk lamp"]
    assert _names(api.ok("get", "products/search", {"query": "name~'lamp' AND active:'true'"})) == [
        "Desk lamp"
    ]
    assert _names(api.ok("get", "products/search", {"query": "metadata['room']:'office'"})) == [
        "Chair",
        "Desk lamp",
    ]
    assert _names(api.ok("get", "products/search", {"query": "-metadata['room']:'office'"})) == ["Floor lamp"]


def test_search_result_envelope_and_pages(api, catalog):
    first = api.ok("get", "products/search", {"query": "created>0", "limit": 2})
    assert first["object"] == "search_result"
    assert first["has_more"] is True
    second = api.ok("get", "products/search", {"query": "created>0", "limit": 2, "page": first["next_page"]})
    assert _names(second) == ["Desk lamp"]
    assert second["next_page"] is None


def test_invalid_query_is_400(api):
    assert api.get("products/search", {"query": "name = lamp"}).json()["error"]["param"] == "query"
    assert api.get("products/search", {"query": "a:'1' AND b:'2' OR c:'3'"}).status_code == 400


@pytest.mark.django_db(transaction=True)
def test_sdk_price_search(stripe_client):
    price = stripe_client.v1.prices.create(
        params={"product_data": {"name": "Tea"}, "currency": "usd", "unit_amount": 300, "lookup_key": "tea"}
    )
    found = stripe_client.v1.prices.search(params={"query": "lookup_key:'tea'"})
    assert [p.id for p in found.data] == [price.id]
