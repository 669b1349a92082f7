"""Connected accounts for on_behalf_of / transfer_data, and application fees recorded on the payment."""

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


def test_create_and_list_connected_accounts(api):
    account = api.ok("post", "accounts", {"type": "express", "country": "fr", "email": "shop@example.com"})
    assert account["id"].startswith("acct_")
    assert (account["type"], account["country"]) == ("express", "FR")
    assert [a["id"] for a in api.ok("get", "accounts")["data"]] == [account["id"]]


def test_unknown_destination_is_404(api, price):
    params = {
        "line_items": [{"price": price["id"], "quantity": 1}],
        "transfer_data": {"destination": "acct_missing"},
    }
    response = api.post("payment_links", params)
    assert response.status_code == 404
    assert response.json()["error"]["param"] == "transfer_data[destination]"


def test_fee_and_destination_are_recorded_on_the_payment(client, api, price):
    account = api.ok("post", "accounts", {"type": "custom"})
    link = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [{"price": price["id"], "quantity": 1}],
            "application_fee_amount": 150,
            "on_behalf_of": account["id"],
            "transfer_data": {"destination": account["id"]},
        },
    )
    client.post(link["url"].removeprefix("http://testserver"), CARD)
    intent_id = ApiObject.objects.get(type="checkout.session").data["payment_intent"]
    intent = api.ok("get", f"payment_intents/{intent_id}", {"expand": ["latest_charge"]})
    assert intent["application_fee_amount"] == 150
    assert intent["on_behalf_of"] == account["id"]
    assert intent["transfer_data"]["destination"] == account["id"]
    assert intent["latest_charge"]["application_fee_amount"] == 150
