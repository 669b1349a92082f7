"""``GET /v1/checkout/sessions`` as the links' conversion reads it: by payment link, by creation time
(``created[gte]`` and the other bounds), by status, newest first and paged, as Stripe lists them."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def _path(link: dict) -> str:
    return link["url"].removeprefix("http://testserver")


def _open(client, api, link: dict) -> dict:
    client.get(_path(link))
    return api.ok("get", "checkout/sessions", {"limit": 1})["data"][0]


def _ids(body: dict) -> list[str]:
    return [session["id"] for session in body["data"]]


def test_sessions_created_since_a_time_newest_first(client, api, link):
    first = _open(client, api, link)
    api.ok("post", "test_helpers/sandbox_clock/advance", {"seconds": 3600})
    second = _open(client, api, link)
    third = _open(client, api, link)
    assert second["created"] >= first["created"] + 3600

    since = api.ok("get", "checkout/sessions", {"created": {"gte": second["created"]}})
    assert _ids(since) == [third["id"], second["id"]]
    before = api.ok("get", "checkout/sessions", {"created": {"lt": second["created"]}})
    assert _ids(before) == [first["id"]]
    exact = api.ok("get", "checkout/sessions", {"created": first["created"]})
    assert _ids(exact) == [first["id"]]
    later = api.ok("get", "checkout/sessions", {"created": {"gt": third["created"]}})
    assert later["data"] == [] and later["has_more"] is False


def test_pages_of_a_links_sessions_within_a_time_window(client, api, link, price):
    other = api.ok("post", "payment_links", {"line_items": [{"price": price["id"], "quantity": 1}]})
    opened = [_open(client, api, link) for _ in range(3)]
    _open(client, api, other)
    params = {"payment_link": link["id"], "created": {"gte": opened[0]["created"]}, "limit": 2}
    page = api.ok("get", "checkout/sessions", params)
    assert _ids(page) == [opened[2]["id"], opened[1]["id"]] and page["has_more"] is True
    rest = api.ok("get", "checkout/sessions", {**params, "starting_after": page["data"][-1]["id"]})
    assert _ids(rest) == [opened[0]["id"]] and rest["has_more"] is False


def test_sessions_by_status_and_an_unknown_status_refused(client, api, link):
    session = _open(client, api, link)
    _open(client, api, link)
    api.ok("post", f"checkout/sessions/{session['id']}/expire", {})
    expired = api.ok("get", "checkout/sessions", {"payment_link": link["id"], "status": "expired"})
    assert _ids(expired) == [session["id"]]
    assert (
        len(api.ok("get", "checkout/sessions", {"payment_link": link["id"], "status": "open"})["data"]) == 1
    )
    refused = api.get("checkout/sessions", {"status": "abandoned"})
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "status"
