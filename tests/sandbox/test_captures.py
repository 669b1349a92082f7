"""Manual capture: authorise on the hosted page, then capture in full or in part, cancel, or let the
authorisation expire after 7 days on the sandbox clock; each with Stripe's events and errors."""

from __future__ import annotations

import pytest
import stripe

from sandbox.models import ApiObject

pytestmark = pytest.mark.django_db

CARD = {
    "email": "a@example.com",
    "card_number": "4242424242424242",
    "card_expiry": "12/34",
    "card_cvc": "123",
    "cardholder_name": "Ada",
}
WEEK = 7 * 24 * 3600


@pytest.fixture
def manual_link(api, price) -> dict:
    return api.ok(
        "post",
        "payment_links",
        {
            "line_items": [{"price": price["id"], "quantity": 1}],
            "payment_intent_data": {"capture_method": "manual"},
        },
    )


@pytest.fixture
def authorised(client, api, manual_link) -> dict:
    """The PaymentIntent of a manual-capture payment of 15.00 USD, authorised."""
    client.post(manual_link["url"].removeprefix("http://testserver"), CARD)
    intent_id = ApiObject.objects.get(type="checkout.session").data["payment_intent"]
    return api.ok("get", f"payment_intents/{intent_id}")


def _event_types(api) -> list[str]:
    return [event["type"] for event in reversed(api.ok("get", "events", {"limit": 100})["data"])]


def _events(api, event_type: str) -> list[dict]:
    return api.ok("get", "events", {"type": event_type})["data"]


def test_authorisation_is_capturable_for_seven_days(api, authorised):
    assert (authorised["status"], authorised["amount_capturable"], authorised["amount_received"]) == (
        "requires_capture",
        1500,
        0,
    )
    charge = api.ok("get", f"charges/{authorised['latest_charge']}")
    assert (charge["status"], charge["captured"], charge["amount_captured"]) == ("succeeded", False, 0)
    assert charge["payment_method_details"]["card"]["capture_before"] == charge["created"] + WEEK
    [event] = _events(api, "payment_intent.amount_capturable_updated")
    assert event["data"]["object"]["id"] == authorised["id"]
    assert event["data"]["object"]["amount_capturable"] == 1500
    assert "previous_attributes" not in event["data"]
    assert not _events(api, "payment_intent.succeeded")


def test_an_automatic_capture_charge_has_no_capture_before(client, api, link):
    client.post(link["url"].removeprefix("http://testserver"), CARD)
    charge = api.ok("get", "charges")["data"][0]
    assert "capture_before" not in charge["payment_method_details"]["card"]


def test_capture_for_less_releases_the_rest_without_a_refund(api, authorised):
    captured = api.ok("post", f"payment_intents/{authorised['id']}/capture", {"amount_to_capture": 1000})
    assert (captured["status"], captured["amount_received"], captured["amount_capturable"]) == (
        "succeeded",
        1000,
        0,
    )
    charge = api.ok("get", f"charges/{captured['latest_charge']}")
    # Since 2025-03-31.basil the uncaptured 5.00 is released, not refunded.
    assert (charge["captured"], charge["amount"], charge["amount_captured"]) == (True, 1500, 1000)
    assert (charge["amount_refunded"], charge["refunded"]) == (0, False)
    assert api.ok("get", "refunds")["data"] == []
    assert _event_types(api)[-2:] == ["charge.captured", "payment_intent.succeeded"]
    assert not _events(api, "charge.refunded")
    assert _events(api, "charge.captured")[0]["data"]["object"]["amount_captured"] == 1000


def test_capture_in_full_by_default(api, authorised):
    captured = api.ok("post", f"payment_intents/{authorised['id']}/capture", {})
    assert captured["amount_received"] == 1500
    assert api.ok("get", f"charges/{captured['latest_charge']}")["amount_captured"] == 1500


def test_capture_more_than_authorised_is_refused(api, authorised):
    response = api.post(f"payment_intents/{authorised['id']}/capture", {"amount_to_capture": 1501})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "amount_too_large",
        "amount_to_capture",
    )
    assert "greater than the amount you can capture" in error["message"]
    zero = api.post(f"payment_intents/{authorised['id']}/capture", {"amount_to_capture": 0}).json()
    assert zero["error"]["param"] == "amount_to_capture"
    assert api.ok("get", f"payment_intents/{authorised['id']}")["status"] == "requires_capture"


def test_capturing_twice_is_an_unexpected_state(api, authorised):
    api.ok("post", f"payment_intents/{authorised['id']}/capture", {})
    error = api.post(f"payment_intents/{authorised['id']}/capture", {}).json()["error"]
    assert error["code"] == "payment_intent_unexpected_state"
    assert error["message"].startswith(
        "This PaymentIntent could not be captured because it has a status of succeeded."
    )
    assert error["payment_intent"]["status"] == "succeeded"


def test_cancel_an_authorisation(api, authorised):
    canceled = api.ok(
        "post", f"payment_intents/{authorised['id']}/cancel", {"cancellation_reason": "requested_by_customer"}
    )
    assert (canceled["status"], canceled["cancellation_reason"], canceled["amount_capturable"]) == (
        "canceled",
        "requested_by_customer",
        0,
    )
    assert canceled["canceled_at"] is not None
    [event] = _events(api, "payment_intent.canceled")
    assert event["data"]["object"]["status"] == "canceled"
    # Released without a Refund (basil): the charge is unchanged, uncaptured.
    charge = api.ok("get", f"charges/{authorised['latest_charge']}")
    assert (charge["captured"], charge["amount_refunded"], charge["refunded"]) == (False, 0, False)
    assert not _events(api, "charge.refunded")
    error = api.post(f"payment_intents/{authorised['id']}/capture", {}).json()["error"]
    assert error["code"] == "payment_intent_unexpected_state"
    assert "status of canceled" in error["message"]


def test_cancel_without_a_reason_and_twice(api, authorised):
    assert api.ok("post", f"payment_intents/{authorised['id']}/cancel", {})["cancellation_reason"] is None
    error = api.post(f"payment_intents/{authorised['id']}/cancel", {}).json()["error"]
    assert error["code"] == "payment_intent_unexpected_state"
    assert error["message"] == (
        "You cannot cancel this PaymentIntent because it has a status of canceled. Only a PaymentIntent "
        "with one of the following statuses may be canceled: requires_payment_method, requires_capture, "
        "requires_confirmation, requires_action, processing."
    )


def test_cancel_reasons_are_stripes(api, authorised):
    error = api.post(f"payment_intents/{authorised['id']}/cancel", {"cancellation_reason": "bored"}).json()
    assert error["error"]["param"] == "cancellation_reason"


def test_a_succeeded_payment_cannot_be_canceled(client, api, link):
    client.post(link["url"].removeprefix("http://testserver"), CARD)
    intent = api.ok("get", "payment_intents")["data"][0]
    error = api.post(f"payment_intents/{intent['id']}/cancel", {}).json()["error"]
    assert "status of succeeded" in error["message"]


def test_an_open_sessions_intent_is_canceled_by_expiring_the_session(client, api, link):
    declined = {**CARD, "card_number": "4000000000000002"}
    client.post(link["url"].removeprefix("http://testserver"), declined)
    intent = api.ok("get", "payment_intents")["data"][0]
    assert intent["status"] == "requires_payment_method"
    error = api.post(f"payment_intents/{intent['id']}/cancel", {}).json()["error"]
    assert error["code"] == "payment_intent_unexpected_state"
    assert "Expire the Checkout Session instead" in error["message"]


def test_uncaptured_authorisation_expires_after_seven_days(api, authorised):
    api.ok("post", "test_helpers/sandbox_clock/advance", {"seconds": WEEK - 60})
    assert api.ok("get", f"payment_intents/{authorised['id']}")["status"] == "requires_capture"
    api.ok("post", "test_helpers/sandbox_clock/advance", {"seconds": 120})
    intent = api.ok("get", f"payment_intents/{authorised['id']}")
    # "expired" replaced "automatic" for authorisation expiry in 2025-03-31.basil.
    assert (intent["status"], intent["cancellation_reason"], intent["amount_capturable"]) == (
        "canceled",
        "expired",
        0,
    )
    assert _event_types(api)[-2:] == ["charge.expired", "payment_intent.canceled"]
    [expired] = _events(api, "charge.expired")
    assert expired["data"]["object"]["id"] == authorised["latest_charge"]
    api.ok("post", "test_helpers/sandbox_clock/advance", {"seconds": WEEK})
    assert len(_events(api, "payment_intent.canceled")) == 1


def test_a_captured_payment_does_not_expire(api, authorised):
    api.ok("post", f"payment_intents/{authorised['id']}/capture", {})
    api.ok("post", "test_helpers/sandbox_clock/advance", {"seconds": 2 * WEEK})
    assert api.ok("get", f"payment_intents/{authorised['id']}")["status"] == "succeeded"
    assert not _events(api, "charge.expired")


@pytest.mark.django_db(transaction=True)
def test_sdk_captures_and_cancels(client, stripe_client, api, manual_link):
    for _ in range(2):
        client.post(manual_link["url"].removeprefix("http://testserver"), CARD)
    first, second = (s.data["payment_intent"] for s in ApiObject.objects.filter(type="checkout.session"))
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        stripe_client.v1.payment_intents.capture(first, params={"amount_to_capture": 99999})
    assert excinfo.value.code == "amount_too_large"
    captured = stripe_client.v1.payment_intents.capture(first, params={"amount_to_capture": 700})
    assert (captured.status, captured.amount_received) == ("succeeded", 700)
    canceled = stripe_client.v1.payment_intents.cancel(second, params={"cancellation_reason": "abandoned"})
    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "abandoned")


def test_endpoints_subscribe_to_the_capture_events(api, authorised):
    from sandbox.models import WebhookDelivery

    endpoint = api.ok(
        "post",
        "webhook_endpoints",
        {"url": "https://example.com/hook", "enabled_events": ["payment_intent.canceled", "charge.expired"]},
    )
    api.ok("post", "test_helpers/sandbox_clock/advance", {"seconds": WEEK + 60})
    delivered = WebhookDelivery.objects.filter(endpoint_id=endpoint["id"]).values_list("event_id", flat=True)
    types = {api.ok("get", f"events/{event_id}")["type"] for event_id in delivered}
    assert types == {"payment_intent.canceled", "charge.expired"}
