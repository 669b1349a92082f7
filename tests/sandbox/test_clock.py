"""The sandbox clock: session expiry, SEPA settlement and trial ends happen when it reaches them."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection

from sandbox import clock
from sandbox.models import ApiObject

pytestmark = pytest.mark.django_db

PAYER = {"email": "a@example.com", "cardholder_name": "Ada"}
CARD = {**PAYER, "card_number": "4242424242424242", "card_expiry": "12/34", "card_cvc": "123"}
DAY = 24 * 3600


def _path(link: dict) -> str:
    return link["url"].removeprefix("http://testserver")


def _last_session(api) -> dict:
    session = ApiObject.objects.filter(type="checkout.session").order_by("-seq").first()
    return api.ok("get", f"checkout/sessions/{session.stripe_id}")


def test_open_sessions_expire_after_24_hours(client, api, link):
    client.get(_path(link))
    session = _last_session(api)
    assert session["expires_at"] - session["created"] == DAY
    api.ok("post", "test_helpers/sandbox_clock/advance", {"seconds": DAY - 60})
    assert _last_session(api)["status"] == "open"
    api.ok("post", "test_helpers/sandbox_clock/advance", {"seconds": 120})
    expired = _last_session(api)
    assert expired["status"] == "expired"
    assert (
        api.ok("get", "events", {"type": "checkout.session.expired"})["data"][0]["data"]["object"]["id"]
        == expired["id"]
    )


def test_completed_sessions_do_not_expire(client, api, link):
    client.post(_path(link), CARD)
    clock.clock_advance(seconds=2 * DAY)
    assert _last_session(api)["status"] == "complete"


def test_clock_only_moves_forward(api):
    assert api.post("test_helpers/sandbox_clock/advance", {"seconds": -1}).status_code == 400


@pytest.fixture
def sepa_link(api, price) -> dict:
    return api.ok(
        "post",
        "payment_links",
        {
            "line_items": [{"price": price["id"], "quantity": 1}],
            "payment_method_types": ["card", "sepa_debit"],
        },
    )


def test_sepa_debit_completes_unpaid_then_succeeds(client, api, sepa_link, settings):
    settings.SANDBOX_SEPA_SETTLEMENT_SECONDS = 300
    response = client.post(
        _path(sepa_link), {**PAYER, "payment_method": "sepa_debit", "iban": "DE89 3704 0044 0532 0130 00"}
    )
    assert response.status_code == 302
    session = _last_session(api)
    assert (session["status"], session["payment_status"]) == ("complete", "unpaid")
    assert api.ok("get", f"payment_intents/{session['payment_intent']}")["status"] == "processing"
    clock.clock_advance(seconds=301)
    settled = _last_session(api)
    assert settled["payment_status"] == "paid"
    assert api.ok("get", f"payment_intents/{session['payment_intent']}")["status"] == "succeeded"
    assert api.ok("get", "events", {"type": "checkout.session.async_payment_succeeded"})["data"]


def test_sepa_failing_iban_sends_async_payment_failed(client, api, sepa_link):
    client.post(_path(sepa_link), {**PAYER, "payment_method": "sepa_debit", "iban": "AT861904300235473202"})
    clock.clock_advance(seconds=3600)
    session = _last_session(api)
    assert session["payment_status"] == "unpaid"
    assert api.ok("get", "events", {"type": "checkout.session.async_payment_failed"})["data"]
    assert (
        api.ok("get", f"payment_intents/{session['payment_intent']}")["status"] == "requires_payment_method"
    )


def test_invalid_iban_is_refused_at_the_field(client, api, sepa_link):
    response = client.post(_path(sepa_link), {**PAYER, "payment_method": "sepa_debit", "iban": "DE00123"})
    assert b"Your IBAN is invalid." in response.content


def test_card_still_works_on_a_sepa_link(client, api, sepa_link):
    client.post(_path(sepa_link), {**CARD, "payment_method": "card"})
    assert _last_session(api)["payment_status"] == "paid"


def test_trial_end_activates_the_subscription_with_a_charged_invoice(client, api, product):
    monthly = api.ok(
        "post",
        "prices",
        {
            "product": product["id"],
            "currency": "usd",
            "unit_amount": 900,
            "recurring": {"interval": "month", "trial_period_days": 7},
        },
    )
    link = api.ok("post", "payment_links", {"line_items": [{"price": monthly["id"], "quantity": 2}]})
    client.post(_path(link), CARD)
    subscription_id = _last_session(api)["subscription"]
    assert api.ok("get", f"subscriptions/{subscription_id}")["status"] == "trialing"
    clock.clock_advance(seconds=7 * DAY + 1)
    subscription = api.ok("get", f"subscriptions/{subscription_id}", {"expand": ["latest_invoice"]})
    assert subscription["status"] == "active"
    assert subscription["latest_invoice"]["amount_paid"] == 1800
    assert subscription["latest_invoice"]["billing_reason"] == "subscription_cycle"


def _open_session(client, api, link) -> dict:
    client.get(_path(link))
    return _last_session(api)


def _expiry_passed(session: dict) -> None:
    """As if the sandbox clock had passed the session's expiry with no tick since (no beat running)."""
    row = ApiObject.objects.get(stripe_id=session["id"])
    row.data["expires_at"] = clock.now() - 1
    row.save(update_fields=["data"])


def _expired_events(api) -> list[str]:
    events = api.ok("get", "events", {"type": "checkout.session.expired"})["data"]
    return [event["data"]["object"]["id"] for event in events]


@pytest.fixture
def page_tick_gate():
    """The hosted pages' tick gate, cleared before and after (it lives in the shared cache)."""
    cache.delete(clock.PAGE_TICK_KEY)
    yield clock.PAGE_TICK_KEY
    cache.delete(clock.PAGE_TICK_KEY)


def test_a_session_past_its_expiry_is_never_payable_between_ticks(client, api, link, page_tick_gate):
    session = _open_session(client, api, link)
    _expiry_passed(session)
    cache.add(page_tick_gate, 1, 60)  # a page ticked a moment ago: the next tick is not due
    path = session["url"].removeprefix("http://testserver")
    assert client.get(path).status_code == 410
    assert client.post(path, CARD).status_code == 410
    assert _last_session(api)["status"] == "expired"
    assert _expired_events(api) == [session["id"]]  # expired once


def test_hosted_pages_tick_at_most_once_per_interval(client, api, link, page_tick_gate):
    visited, first, second = (_open_session(client, api, link) for _ in range(3))
    visited_path = visited["url"].removeprefix("http://testserver")
    _expiry_passed(first)
    client.get(visited_path)  # the page ticks: every due session expires
    assert api.ok("get", f"checkout/sessions/{first['id']}")["status"] == "expired"
    _expiry_passed(second)
    client.get(visited_path)  # within the interval: no tick
    assert api.ok("get", f"checkout/sessions/{second['id']}")["status"] == "open"
    cache.delete(page_tick_gate)  # the interval is over
    client.get(visited_path)
    assert api.ok("get", f"checkout/sessions/{second['id']}")["status"] == "expired"


def test_checkout_pages_work_while_the_cache_is_down(client, api, link, cache_down):
    session, expired = _open_session(client, api, link), _open_session(client, api, link)
    _expiry_passed(expired)
    assert client.get(session["url"].removeprefix("http://testserver")).status_code == 200
    assert client.get(expired["url"].removeprefix("http://testserver")).status_code == 410


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the tick's partial indexes are read on PostgreSQL"
)
def test_the_tick_reads_only_due_rows_through_its_indexes():
    current = clock.now()
    plans = [
        ApiObject.objects.filter(type="checkout.session", data__status="open", data__expires_at__lte=current),
        ApiObject.objects.filter(
            type="checkout.session", data__has_key="_settles_at", data___settles_at__lte=current
        ),
        # Not the tick's, but the same kind: a first-time promotion code's look for an earlier payment.
        ApiObject.objects.filter(
            type="checkout.session", data__status="complete", data__customer_details__email="a@example.com"
        ),
    ]
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # an empty table: the planner would scan it anyway
        try:
            explained = [queryset.explain() for queryset in plans]
        finally:
            cursor.execute("RESET enable_seqscan")
    assert "sandbox_session_open_expiry" in explained[0]
    assert "sandbox_session_settles_at" in explained[1]
    assert "sandbox_session_complete_email" in explained[2]
