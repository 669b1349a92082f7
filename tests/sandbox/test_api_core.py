"""Transport conventions: auth, errors, Request-Id, idempotency, lists, expand, form encoding."""

from __future__ import annotations

import json

import pytest

from sandbox.encoding import parse_form

pytestmark = pytest.mark.django_db


def test_parse_form_nests_brackets_and_appends_empty_brackets():
    parsed = parse_form("a[b][0][c]=1&a[b][1][c]=2&expand[]=x&expand[]=y&m=")
    assert parsed == {"a": {"b": {"0": {"c": "1"}, "1": {"c": "2"}}}, "expand": {"0": "x", "1": "y"}, "m": ""}


def test_missing_key_is_401_with_stripe_error(client):
    response = client.get("/sandbox/v1/products")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert response["Request-Id"].startswith("req_")


def test_live_key_is_refused(api):
    api.key = "sk_live_abcdefghijkl"
    response = api.get("products")
    assert response.status_code == 401
    assert "Invalid API Key" in response.json()["error"]["message"]


def test_every_response_has_request_id(api):
    first = api.get("products")
    second = api.get("products")
    assert first["Request-Id"].startswith("req_")
    assert first["Request-Id"] != second["Request-Id"]


def test_unknown_parameter_names_the_param(api):
    response = api.post("products", {"name": "x", "colour": "red"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parameter_unknown"
    assert response.json()["error"]["param"] == "colour"


def test_nested_unknown_parameter_uses_bracket_name(api, price):
    response = api.post(
        "payment_links", {"line_items": [{"price": price["id"], "quantity": 1, "colour": "x"}]}
    )
    assert response.json()["error"]["param"] == "line_items[0][colour]"


def test_missing_required_parameter(api):
    response = api.post("products", {})
    assert response.status_code == 400
    assert response.json()["error"] == response.json()["error"] | {
        "code": "parameter_missing",
        "param": "name",
    }


def test_invalid_integer(api, product):
    response = api.post("prices", {"product": product["id"], "currency": "usd", "unit_amount": "ten"})
    assert response.json()["error"]["code"] == "parameter_invalid_integer"
    assert response.json()["error"]["param"] == "unit_amount"


def test_empty_string_where_it_cannot_unset(api, product):
    response = api.post(f"products/{product['id']}", {"active": ""})
    assert response.json()["error"]["code"] == "parameter_invalid_empty"


def test_missing_object_is_404_resource_missing(api):
    response = api.get("products/prod_nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "resource_missing"
    assert response.json()["error"]["message"] == "No such product: 'prod_nope'"


def test_unknown_url_is_404(api):
    response = api.get("nothing_here")
    assert response.status_code == 404
    assert "Unrecognized request URL" in response.json()["error"]["message"]


def test_idempotent_replay_returns_first_response(api):
    first = api.post("products", {"name": "Mug"}, HTTP_IDEMPOTENCY_KEY="key-1")
    second = api.post("products", {"name": "Mug"}, HTTP_IDEMPOTENCY_KEY="key-1")
    assert first.json()["id"] == second.json()["id"]
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert len(api.ok("get", "products", {})["data"]) == 1


def test_idempotency_key_with_other_body_is_refused(api):
    api.post("products", {"name": "Mug"}, HTTP_IDEMPOTENCY_KEY="key-2")
    response = api.post("products", {"name": "Cup"}, HTTP_IDEMPOTENCY_KEY="key-2")
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "idempotency_error"


def test_failed_validation_is_not_saved_for_the_key(api):
    assert api.post("products", {}, HTTP_IDEMPOTENCY_KEY="key-3").status_code == 400
    assert api.post("products", {"name": "Fixed"}, HTTP_IDEMPOTENCY_KEY="key-3").status_code == 200


def test_list_is_newest_first_with_pagination(api):
    ids = [api.ok("post", "products", {"name": f"P{i}"})["id"] for i in range(5)]
    first = api.ok("get", "products", {"limit": 2})
    assert [p["id"] for p in first["data"]] == [ids[4], ids[3]]
    assert first["has_more"] is True
    assert first["url"] == "/v1/products"
    second = api.ok("get", "products", {"limit": 2, "starting_after": ids[3]})
    assert [p["id"] for p in second["data"]] == [ids[2], ids[1]]
    last = api.ok("get", "products", {"limit": 2, "starting_after": ids[1]})
    assert [p["id"] for p in last["data"]] == [ids[0]]
    assert last["has_more"] is False
    before = api.ok("get", "products", {"limit": 2, "ending_before": ids[1]})
    assert [p["id"] for p in before["data"]] == [ids[3], ids[2]]
    assert before["has_more"] is True


def test_list_limit_bounds(api):
    assert api.get("products", {"limit": 101}).status_code == 400
    assert api.get("products", {"limit": 0}).status_code == 400


def test_expand_nested_path_on_list(api, price):
    body = api.ok("get", "prices", {"expand": ["data.product"]})
    assert body["data"][0]["product"]["object"] == "product"


def test_expand_line_items_price_product(api, link):
    body = api.ok("get", f"payment_links/{link['id']}", {"expand": ["line_items.data.price.product"]})
    assert body["line_items"]["data"][0]["price"]["product"]["name"] == "T-shirt"
    assert "line_items" not in link


def test_expand_accepts_unindexed_brackets(api, link, client):
    response = client.get(
        f"/sandbox/v1/payment_links/{link['id']}?expand[]=line_items", HTTP_AUTHORIZATION=f"Bearer {api.key}"
    )
    assert json.loads(response.content)["line_items"]["object"] == "list"


def test_basic_auth_is_accepted(client):
    import base64

    token = base64.b64encode(b"sk_test_abc:").decode()
    assert client.get("/sandbox/v1/products", HTTP_AUTHORIZATION=f"Basic {token}").status_code == 200
