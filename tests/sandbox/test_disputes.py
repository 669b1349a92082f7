"""Disputes raised by Stripe's test card 4000 0000 0000 0259: opened after the payment, answered with
Stripe's test evidence (won or lost), or closed; each with Stripe's events."""

from __future__ import annotations

import pytest
import stripe

from sandbox.models import ApiObject

pytestmark = pytest.mark.django_db

DISPUTED_CARD = {
    "email": "a@example.com",
    "card_number": "4000 0000 0000 0259",
    "card_expiry": "12/34",
    "card_cvc": "123",
    "cardholder_name": "Ada",
}


def _tick(api) -> None:
    api.ok("post", "test_helpers/sandbox_clock/advance", {"seconds": 1})


def _events(api, event_type: str) -> list[dict]:
    return api.ok("get", "events", {"type": event_type})["data"]


def _event_types(api) -> list[str]:
    return [event["type"] for event in reversed(api.ok("get", "events", {"limit": 100})["data"])]


def _pay(client, link: dict, card: dict) -> dict:
    response = client.post(link["url"].removeprefix("http://testserver"), card)
    assert response.status_code == 302, response.content.decode()[:2000]
    return ApiObject.objects.filter(type="checkout.session").order_by("-seq").first().data


@pytest.fixture
def dispute(client, api, link) -> dict:
    session = _pay(client, link, DISPUTED_CARD)
    assert session["payment_status"] == "paid"
    _tick(api)
    [dispute] = api.ok("get", "disputes")["data"]
    return dispute


def test_the_test_card_is_disputed_after_the_payment(client, api, link):
    session = _pay(client, link, DISPUTED_CARD)
    intent = api.ok("get", f"payment_intents/{session['payment_intent']}")
    assert intent["status"] == "succeeded"
    assert api.ok("get", f"charges/{intent['latest_charge']}")["disputed"] is False
    assert api.ok("get", "disputes")["data"] == []
    _tick(api)
    [dispute] = api.ok("get", "disputes")["data"]
    assert dispute["id"].startswith("du_")
    assert (dispute["amount"], dispute["currency"], dispute["reason"], dispute["status"]) == (
        1500,
        "usd",
        "fraudulent",
        "needs_response",
    )
    assert (dispute["charge"], dispute["payment_intent"]) == (intent["latest_charge"], intent["id"])
    assert dispute["evidence_details"]["due_by"] > dispute["created"] + 7 * 86400 - 86400
    assert dispute["evidence_details"]["submission_count"] == 0
    assert dispute["is_charge_refundable"] is False
    assert dispute["payment_method_details"]["card"]["case_type"] == "chargeback"
    [withdrawal] = dispute["balance_transactions"]
    assert (withdrawal["amount"], withdrawal["source"], withdrawal["reporting_category"]) == (
        -1500,
        dispute["id"],
        "dispute",
    )
    assert api.ok("get", f"charges/{intent['latest_charge']}")["disputed"] is True
    assert _event_types(api)[-2:] == ["charge.dispute.created", "charge.dispute.funds_withdrawn"]
    assert _events(api, "charge.dispute.created")[0]["data"]["object"]["id"] == dispute["id"]
    _tick(api)
    assert len(api.ok("get", "disputes")["data"]) == 1


def test_an_ordinary_card_is_not_disputed(client, api, link):
    _pay(client, link, {**DISPUTED_CARD, "card_number": "4242424242424242"})
    _tick(api)
    assert api.ok("get", "disputes")["data"] == []


def test_manual_capture_is_disputed_once_captured(client, api, price):
    manual = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [{"price": price["id"], "quantity": 1}],
            "payment_intent_data": {"capture_method": "manual"},
        },
    )
    session = _pay(client, manual, DISPUTED_CARD)
    _tick(api)
    assert api.ok("get", "disputes")["data"] == []
    api.ok("post", f"payment_intents/{session['payment_intent']}/capture", {"amount_to_capture": 900})
    _tick(api)
    [dispute] = api.ok("get", "disputes")["data"]
    assert dispute["amount"] == 900


def test_retrieve_and_list_filters(client, api, link, dispute):
    assert api.ok("get", f"disputes/{dispute['id']}") == dispute
    assert [d["id"] for d in api.ok("get", "disputes", {"charge": dispute["charge"]})["data"]] == [
        dispute["id"]
    ]
    by_intent = api.ok("get", "disputes", {"payment_intent": dispute["payment_intent"]})["data"]
    assert [d["id"] for d in by_intent] == [dispute["id"]]
    assert api.ok("get", "disputes", {"charge": "ch_other"})["data"] == []
    missing = api.get("disputes/du_missing")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "No such dispute: 'du_missing'"
    expanded = api.ok("get", f"disputes/{dispute['id']}", {"expand": ["charge"]})
    assert expanded["charge"]["id"] == dispute["charge"]


def test_winning_evidence_wins(api, dispute):
    won = api.ok(
        "post",
        f"disputes/{dispute['id']}",
        {"evidence": {"uncategorized_text": "winning_evidence", "customer_name": "Ada"}},
    )
    assert won["status"] == "won"
    assert won["evidence"]["customer_name"] == "Ada"
    details = won["evidence_details"]
    assert (details["has_evidence"], details["submission_count"], details["submission_method"]) == (
        True,
        1,
        "manual",
    )
    assert [t["amount"] for t in won["balance_transactions"]] == [-1500, 1500]
    assert _event_types(api)[-3:] == [
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_reinstated",
    ]
    [updated] = _events(api, "charge.dispute.updated")
    assert updated["data"]["object"]["status"] == "under_review"
    assert updated["data"]["previous_attributes"]["status"] == "needs_response"
    assert _events(api, "charge.dispute.closed")[0]["data"]["object"]["status"] == "won"
    error = api.post(f"disputes/{dispute['id']}", {"evidence": {"uncategorized_text": "more"}}).json()
    assert "already closed" in error["error"]["message"]


def test_losing_evidence_loses(api, dispute):
    lost = api.ok(
        "post", f"disputes/{dispute['id']}", {"evidence": {"uncategorized_text": "losing_evidence"}}
    )
    assert lost["status"] == "lost"
    assert len(lost["balance_transactions"]) == 1
    assert _event_types(api)[-2:] == ["charge.dispute.updated", "charge.dispute.closed"]
    assert not _events(api, "charge.dispute.funds_reinstated")


def test_staged_evidence_is_not_submitted(api, dispute):
    staged = api.ok(
        "post",
        f"disputes/{dispute['id']}",
        {"evidence": {"uncategorized_text": "winning_evidence"}, "submit": False},
    )
    assert staged["status"] == "needs_response"
    assert (staged["evidence_details"]["has_evidence"], staged["evidence_details"]["submission_count"]) == (
        True,
        0,
    )
    submitted = api.ok("post", f"disputes/{dispute['id']}", {"submit": True})
    assert submitted["status"] == "won"


def test_other_evidence_stays_under_review(api, dispute):
    review = api.ok("post", f"disputes/{dispute['id']}", {"evidence": {"product_description": "A lamp"}})
    assert review["status"] == "under_review"
    assert not _events(api, "charge.dispute.closed")
    error = api.post(f"disputes/{dispute['id']}/close", {}).json()["error"]
    assert "under_review" in error["message"]


def test_metadata_only_update_submits_nothing(api, dispute):
    updated = api.ok("post", f"disputes/{dispute['id']}", {"metadata": {"case": "42"}})
    assert (updated["status"], updated["metadata"]) == ("needs_response", {"case": "42"})
    assert _events(api, "charge.dispute.updated")[0]["data"]["previous_attributes"] == {"metadata": {}}


def test_close_accepts_the_loss(api, dispute):
    closed = api.ok("post", f"disputes/{dispute['id']}/close", {})
    assert closed["status"] == "lost"
    assert _event_types(api)[-1] == "charge.dispute.closed"
    again = api.post(f"disputes/{dispute['id']}/close", {})
    assert again.status_code == 400
    assert "already closed" in again.json()["error"]["message"]


def test_a_disputed_charge_cannot_be_refunded(api, dispute):
    error = api.post("refunds", {"charge": dispute["charge"]}).json()["error"]
    assert (error["code"], error["param"]) == ("charge_disputed", "charge")
    assert error["message"] == f"Charge {dispute['charge']} has been charged back; cannot issue a refund."


def test_endpoints_subscribe_to_dispute_events(client, api, link):
    from sandbox.models import WebhookDelivery

    endpoint = api.ok(
        "post",
        "webhook_endpoints",
        {
            "url": "https://example.com/hook",
            "enabled_events": ["charge.dispute.created", "charge.dispute.closed"],
        },
    )
    _pay(client, link, DISPUTED_CARD)
    _tick(api)
    dispute = api.ok("get", "disputes")["data"][0]
    api.ok("post", f"disputes/{dispute['id']}/close", {})
    delivered = WebhookDelivery.objects.filter(endpoint_id=endpoint["id"]).values_list("event_id", flat=True)
    assert sorted(api.ok("get", f"events/{event_id}")["type"] for event_id in delivered) == [
        "charge.dispute.closed",
        "charge.dispute.created",
    ]


@pytest.mark.django_db(transaction=True)
def test_sdk_disputes(client, stripe_client, api, link):
    _pay(client, link, DISPUTED_CARD)
    _tick(api)
    [dispute] = stripe_client.v1.disputes.list().data
    assert isinstance(dispute, stripe.Dispute)
    assert dispute.evidence_details.due_by > dispute.created
    assert stripe_client.v1.disputes.retrieve(dispute.id).reason == "fraudulent"
    won = stripe_client.v1.disputes.update(
        dispute.id, params={"evidence": {"uncategorized_text": "winning_evidence"}}
    )
    assert won.status == "won"
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.disputes.close(dispute.id)
