"""Refunds of paid sessions: partial, then the rest; never more than was captured."""

from __future__ import annotations

import pytest
import stripe

from sandbox.models import ApiObject
from sandbox.shapes import field_names

pytestmark = pytest.mark.django_db

CARD = {
    "email": "a@example.com",
    "card_number": "4242424242424242",
    "card_expiry": "12/34",
    "card_cvc": "123",
    "cardholder_name": "Ada",
}


@pytest.fixture
def intent_id(client, link) -> str:
    client.post(link["url"].removeprefix("http://testserver"), CARD)
    return ApiObject.objects.get(type="checkout.session").data["payment_intent"]


def test_partial_then_full_refund(api, intent_id):
    first = api.ok(
        "post", "refunds", {"payment_intent": intent_id, "amount": 500, "reason": "requested_by_customer"}
    )
    assert set(first) == set(field_names(stripe.Refund))
    assert (first["status"], first["amount"]) == ("succeeded", 500)
    charge = api.ok("get", f"charges/{first['charge']}")
    assert (charge["amount_refunded"], charge["refunded"]) == (500, False)
    api.ok("post", "refunds", {"charge": first["charge"]})
    charge = api.ok("get", f"charges/{first['charge']}")
    assert (charge["amount_refunded"], charge["refunded"]) == (1500, True)
    assert len(api.ok("get", "refunds", {"payment_intent": intent_id})["data"]) == 2
    assert len(api.ok("get", "events", {"type": "charge.refunded"})["data"]) == 2


def test_refund_more_than_captured_is_refused(api, intent_id):
    error = api.post("refunds", {"payment_intent": intent_id, "amount": 1501}).json()["error"]
    assert error["param"] == "amount"


def test_refund_needs_a_charge_or_payment_intent(api):
    assert api.post("refunds", {}).json()["error"]["code"] == "parameter_missing"


def test_manual_capture(client, api, price):
    link = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [{"price": price["id"], "quantity": 1}],
            "payment_intent_data": {"capture_method": "manual"},
        },
    )
    client.post(link["url"].removeprefix("http://testserver"), CARD)
    session = ApiObject.objects.get(type="checkout.session").data
    assert session["payment_status"] == "unpaid"
    intent = api.ok("get", f"payment_intents/{session['payment_intent']}")
    assert (intent["status"], intent["amount_capturable"], intent["amount_received"]) == (
        "requires_capture",
        1500,
        0,
    )
    captured = api.ok("post", f"payment_intents/{intent['id']}/capture", {"amount_to_capture": 1000})
    assert (captured["status"], captured["amount_received"]) == ("succeeded", 1000)
    assert api.ok("get", f"charges/{captured['latest_charge']}")["amount_captured"] == 1000
    assert api.post(f"payment_intents/{intent['id']}/capture", {}).status_code == 400
