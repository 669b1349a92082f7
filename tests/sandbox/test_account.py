"""The sandbox account: GET /v1/account, the settings page, and the terms-of-service rule."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

SETTINGS = {
    "name": "Atelier Lune",
    "support_email": "help@lune.example",
    "country": "FR",
    "default_currency": "eur",
    "terms_url": "https://lune.example/terms",
    "privacy_url": "https://lune.example/privacy",
}


def test_account_endpoint(api):
    account = api.ok("get", "account")
    assert account["object"] == "account"
    assert account["id"].startswith("acct_")
    assert account["charges_enabled"] is True
    assert not any(key.startswith("_") for key in account)


def test_settings_page_edits_the_account(staff_client, api):
    assert staff_client.get("/sandbox/settings/").status_code == 200
    staff_client.post("/sandbox/settings/", SETTINGS)
    account = api.ok("get", "account")
    assert (account["business_profile"]["name"], account["country"], account["default_currency"]) == (
        "Atelier Lune",
        "FR",
        "eur",
    )


def test_settings_page_is_staff_only(client):
    assert client.get("/sandbox/settings/").status_code == 302


def test_hosted_page_shows_merchant_and_legal_links(staff_client, client, api, link):
    staff_client.post("/sandbox/settings/", SETTINGS)
    page = client.get(link["url"].removeprefix("http://testserver"))
    assert b"Atelier Lune" in page.content
    assert b'href="https://lune.example/terms"' in page.content


def test_terms_consent_needs_a_terms_url(staff_client, api, price):
    params = {
        "line_items": [{"price": price["id"], "quantity": 1}],
        "consent_collection": {"terms_of_service": "required"},
    }
    assert api.post("payment_links", params).status_code == 200
    staff_client.post("/sandbox/settings/", {**SETTINGS, "terms_url": ""})
    error = api.post("payment_links", params).json()["error"]
    assert error["param"] == "consent_collection[terms_of_service]"


def test_placeholder_legal_pages_are_public(client):
    assert client.get("/sandbox/legal/terms").status_code == 200
    assert client.get("/sandbox/legal/privacy").status_code == 200
