"""Recurring links make a customer, a subscription and its invoice; invoice_creation; 3-D Secure."""

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


def _path(link: dict) -> str:
    return link["url"].removeprefix("http://testserver")


def _last_session(api) -> dict:
    session = ApiObject.objects.filter(type="checkout.session").order_by("-seq").first()
    return api.ok("get", f"checkout/sessions/{session.stripe_id}")


@pytest.fixture
def monthly(api, product) -> dict:
    return api.ok(
        "post",
        "prices",
        {"product": product["id"], "currency": "usd", "unit_amount": 900, "recurring": {"interval": "month"}},
    )


def test_recurring_link_creates_customer_subscription_and_invoice(client, api, monthly):
    link = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [{"price": monthly["id"], "quantity": 1}],
            "subscription_data": {"metadata": {"plan": "pro"}},
        },
    )
    client.post(_path(link), CARD)
    session = _last_session(api)
    assert session["mode"] == "subscription"
    assert session["payment_intent"] is None
    subscription = api.ok("get", f"subscriptions/{session['subscription']}")
    assert subscription["status"] == "active"
    assert subscription["customer"] == session["customer"]
    assert subscription["metadata"] == {"plan": "pro"}
    assert subscription["items"]["data"][0]["price"]["id"] == monthly["id"]
    # presentment_details is left out unless it applies (stripe-node: ``presentment_details?:``).
    assert set(subscription) == set(field_names(stripe.Subscription)) - {"deleted", "presentment_details"}
    invoice = api.ok("get", f"invoices/{session['invoice']}")
    assert (invoice["status"], invoice["amount_paid"], invoice["billing_reason"]) == (
        "paid",
        900,
        "subscription_create",
    )
    assert invoice["parent"]["subscription_details"]["subscription"] == subscription["id"]
    types = {e["type"] for e in api.ok("get", "events", {"limit": 100})["data"]}
    assert {
        "customer.created",
        "customer.subscription.created",
        "invoice.paid",
        "checkout.session.completed",
    } <= types


def test_trial_days_make_a_trialing_subscription_with_a_zero_invoice(client, api, monthly):
    link = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [{"price": monthly["id"], "quantity": 1}],
            "subscription_data": {"trial_period_days": 14},
        },
    )
    client.post(_path(link), CARD)
    session = _last_session(api)
    assert session["payment_status"] == "no_payment_required"
    subscription = api.ok("get", f"subscriptions/{session['subscription']}")
    assert subscription["status"] == "trialing"
    assert subscription["trial_end"] - subscription["trial_start"] == 14 * 24 * 3600
    assert api.ok("get", f"invoices/{session['invoice']}")["amount_paid"] == 0


def test_cancel_subscription(client, api, monthly):
    link = api.ok("post", "payment_links", {"line_items": [{"price": monthly["id"], "quantity": 1}]})
    client.post(_path(link), CARD)
    subscription_id = _last_session(api)["subscription"]
    canceled = api.delete(f"subscriptions/{subscription_id}").json()
    assert canceled["status"] == "canceled"
    assert api.ok("get", "subscriptions")["data"] == []
    assert len(api.ok("get", "subscriptions", {"status": "canceled"})["data"]) == 1


def test_invoice_creation_gives_a_paid_invoice_with_receipt_and_pdf(client, api, price):
    link = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [{"price": price["id"], "quantity": 1}],
            "invoice_creation": {"enabled": True, "invoice_data": {"footer": "Thanks"}},
        },
    )
    client.post(_path(link), CARD)
    invoice = api.ok("get", f"invoices/{_last_session(api)['invoice']}")
    assert (invoice["status"], invoice["amount_paid"], invoice["footer"]) == ("paid", 1500, "Thanks")
    page = client.get(invoice["hosted_invoice_url"].removeprefix("http://testserver"))
    assert page.status_code == 200
    assert invoice["number"].encode() in page.content
    pdf = client.get(invoice["invoice_pdf"].removeprefix("http://testserver"))
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_no_invoice_without_invoice_creation(client, api, link):
    client.post(_path(link), CARD)
    assert _last_session(api)["invoice"] is None


def test_three_d_secure_approved(client, api, link):
    response = client.post(_path(link), {**CARD, "card_number": "4000002500003155"})
    session = _last_session(api)
    assert response["Location"] == f"/sandbox/checkout/{session['id']}/authenticate"
    intent = api.ok("get", f"payment_intents/{session['payment_intent']}")
    assert intent["status"] == "requires_action"
    assert intent["next_action"]["type"] == "redirect_to_url"
    assert client.get(response["Location"]).status_code == 200
    client.post(response["Location"], {"outcome": "approve"})
    assert _last_session(api)["status"] == "complete"
    assert api.ok("get", f"payment_intents/{session['payment_intent']}")["status"] == "succeeded"


def test_three_d_secure_failed_leaves_the_session_open(client, api, link):
    response = client.post(_path(link), {**CARD, "card_number": "4000002500003155"})
    failed = client.post(response["Location"], {"outcome": "fail"})
    assert failed.status_code == 402
    assert b"unable to authenticate" in failed.content
    session = _last_session(api)
    assert session["status"] == "open"
    error = api.ok("get", f"payment_intents/{session['payment_intent']}")["last_payment_error"]
    assert error["code"] == "payment_intent_authentication_failure"


def test_three_d_secure_then_declined(client, api, link):
    response = client.post(_path(link), {**CARD, "card_number": "4000008260003178"})
    declined = client.post(response["Location"], {"outcome": "approve"})
    assert b"insufficient funds" in declined.content
    assert _last_session(api)["status"] == "open"


def test_unknown_card_number_is_declined_in_test_mode(client, api, link):
    response = client.post(_path(link), {**CARD, "card_number": "4111111111111111"})
    assert b"non test card" in response.content


def test_customer_only_when_stripe_needs_one(client, api, price):
    plain = api.ok("post", "payment_links", {"line_items": [{"price": price["id"], "quantity": 1}]})
    client.post(_path(plain), CARD)
    assert _last_session(api)["customer"] is None
    invoiced = api.ok(
        "post",
        "payment_links",
        {"line_items": [{"price": price["id"], "quantity": 1}], "invoice_creation": {"enabled": True}},
    )
    client.post(_path(invoiced), CARD)
    session = _last_session(api)
    assert session["customer"].startswith("cus_")
    assert api.ok("get", f"invoices/{session['invoice']}")["customer"] == session["customer"]
