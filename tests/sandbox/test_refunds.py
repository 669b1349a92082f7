"""Refunds of paid sessions: partial, then the rest; never more than was captured."""

from __future__ import annotations

import pytest
import stripe

from sandbox import refunds
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
    # Every key of the SDK's Refund but those Stripe leaves out of a succeeded card refund.
    assert set(first) == set(field_names(stripe.Refund)) - refunds.OMITTED | {"destination_details"}
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


def _event_types(api) -> list[str]:
    return [event["type"] for event in reversed(api.ok("get", "events", {"limit": 100})["data"])]


def _events(api, event_type: str) -> list[dict]:
    return api.ok("get", "events", {"type": event_type})["data"]


def _pay(client, link: dict, payment: dict) -> str:
    response = client.post(link["url"].removeprefix("http://testserver"), payment)
    assert response.status_code == 302, response.content.decode()[:2000]
    session = ApiObject.objects.filter(type="checkout.session").order_by("-seq").first()
    return session.data["payment_intent"]


def test_card_refund_events_and_shape(api, intent_id):
    refund = api.ok("post", "refunds", {"payment_intent": intent_id, "amount": 400, "metadata": {"n": "1"}})
    assert refund["destination_details"]["type"] == "card"
    assert refund["destination_details"]["card"]["type"] == "refund"
    for omitted in ("failure_reason", "pending_reason", "description", "next_action"):
        assert omitted not in refund
    assert _event_types(api)[-2:] == ["refund.created", "charge.refunded"]
    [created] = _events(api, "refund.created")
    assert created["data"]["object"] == refund
    [refunded] = _events(api, "charge.refunded")
    assert (refunded["data"]["object"]["object"], refunded["data"]["object"]["amount_refunded"]) == (
        "charge",
        400,
    )


def test_refund_metadata_update_sends_refund_updated(api, intent_id):
    refund = api.ok("post", "refunds", {"payment_intent": intent_id})
    updated = api.ok("post", f"refunds/{refund['id']}", {"metadata": {"ticket": "T-1"}})
    assert updated["metadata"] == {"ticket": "T-1"}
    for event_type in ("refund.updated", "charge.refund.updated"):
        [event] = _events(api, event_type)
        assert event["data"]["object"]["id"] == refund["id"]
        assert event["data"]["previous_attributes"] == {"metadata": {}}


def test_refunds_list_filters_by_charge_and_payment_intent(client, api, link, intent_id):
    other = _pay(client, link, CARD)
    mine = api.ok("post", "refunds", {"payment_intent": intent_id, "amount": 100})
    theirs = api.ok("post", "refunds", {"payment_intent": other, "amount": 200})
    assert [r["id"] for r in api.ok("get", "refunds", {"payment_intent": other})["data"]] == [theirs["id"]]
    assert [r["id"] for r in api.ok("get", "refunds", {"charge": mine["charge"]})["data"]] == [mine["id"]]
    assert [r["id"] for r in api.ok("get", "refunds")["data"]] == [theirs["id"], mine["id"]]


def test_sepa_refund_is_pending_then_succeeds(client, api, price, settings):
    settings.SANDBOX_SEPA_SETTLEMENT_SECONDS = 300
    sepa_link = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [{"price": price["id"], "quantity": 1}],
            "payment_method_types": ["card", "sepa_debit"],
        },
    )
    intent = _pay(
        client, sepa_link, {**CARD, "payment_method": "sepa_debit", "iban": "DE89370400440532013000"}
    )
    assert api.post("refunds", {"payment_intent": intent}).status_code == 400  # not settled yet
    api.ok("post", "test_helpers/sandbox_clock/advance", {"seconds": 301})
    refund = api.ok("post", "refunds", {"payment_intent": intent, "amount": 500})
    assert (refund["status"], refund["pending_reason"]) == ("pending", "processing")
    assert "destination_details" not in refund
    assert api.ok("get", f"charges/{refund['charge']}")["amount_refunded"] == 500
    assert not _events(api, "refund.updated")
    api.ok("post", "test_helpers/sandbox_clock/advance", {"seconds": 301})
    settled = api.ok("get", f"refunds/{refund['id']}")
    assert settled["status"] == "succeeded"
    assert "pending_reason" not in settled
    for event_type in ("refund.updated", "charge.refund.updated"):
        [event] = _events(api, event_type)
        assert event["data"]["object"]["status"] == "succeeded"
        assert event["data"]["previous_attributes"] == {"status": "pending", "pending_reason": "processing"}
    api.ok("post", "test_helpers/sandbox_clock/advance", {"seconds": 301})
    assert len(_events(api, "refund.updated")) == 1


def test_refund_of_the_failing_test_card_fails_later(client, api, link):
    intent = _pay(client, link, {**CARD, "card_number": "4000 0000 0000 5126"})
    refund = api.ok("post", "refunds", {"payment_intent": intent, "amount": 600})
    assert refund["status"] == "succeeded"
    assert api.ok("get", f"charges/{refund['charge']}")["amount_refunded"] == 600
    api.ok("post", "test_helpers/sandbox_clock/advance", {"seconds": 61})
    failed = api.ok("get", f"refunds/{refund['id']}")
    assert (failed["status"], failed["failure_reason"]) == ("failed", "expired_or_canceled_card")
    charge = api.ok("get", f"charges/{refund['charge']}")
    assert (charge["amount_refunded"], charge["refunded"]) == (0, False)
    assert _event_types(api)[-3:] == ["refund.updated", "charge.refund.updated", "refund.failed"]
    [event] = _events(api, "refund.failed")
    assert event["data"]["object"]["status"] == "failed"
    assert _events(api, "refund.updated")[0]["data"]["previous_attributes"] == {
        "status": "succeeded",
        "failure_reason": None,
    }
    # The amount can be refunded again.
    assert api.ok("post", "refunds", {"payment_intent": intent})["amount"] == 1500


@pytest.mark.django_db(transaction=True)
def test_sdk_refunds_round_trip(client, stripe_client, link):
    intent = _pay(client, link, CARD)
    refund = stripe_client.v1.refunds.create(params={"payment_intent": intent, "amount": 300})
    assert isinstance(refund, stripe.Refund)
    assert refund.destination_details.card.reference_type == "acquirer_reference_number"
    updated = stripe_client.v1.refunds.update(refund.id, params={"metadata": {"note": "damaged"}})
    assert updated.metadata["note"] == "damaged"
    listed = stripe_client.v1.refunds.list(params={"charge": refund.charge})
    assert [r.id for r in listed.data] == [refund.id]
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        stripe_client.v1.refunds.create(params={"payment_intent": intent, "amount": 1201})
    assert excinfo.value.code == "amount_too_large"


def test_endpoints_accept_every_refund_event(api):
    events = ["refund.created", "refund.updated", "refund.failed", "charge.refunded", "charge.refund.updated"]
    endpoint = api.ok(
        "post", "webhook_endpoints", {"url": "https://example.com/hook", "enabled_events": events}
    )
    assert endpoint["enabled_events"] == events
    error = api.post(
        "webhook_endpoints", {"url": "https://example.com/hook", "enabled_events": ["refund.done"]}
    )
    assert error.json()["error"]["param"].startswith("enabled_events")
