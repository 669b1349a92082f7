"""The sandbox clock: session expiry, SEPA settlement, trial ends and renewals happen when it reaches them."""

from __future__ import annotations

import datetime
import json
import time

import pytest
import stripe
from django.core.cache import cache
from django.db import connection

from sandbox import billing, clock, clock_tick
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
    clock_tick.clock_advance(seconds=2 * DAY)
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
    clock_tick.clock_advance(seconds=301)
    settled = _last_session(api)
    assert settled["payment_status"] == "paid"
    assert api.ok("get", f"payment_intents/{session['payment_intent']}")["status"] == "succeeded"
    assert api.ok("get", "events", {"type": "checkout.session.async_payment_succeeded"})["data"]


def test_sepa_failing_iban_sends_async_payment_failed(client, api, sepa_link):
    client.post(_path(sepa_link), {**PAYER, "payment_method": "sepa_debit", "iban": "AT861904300235473202"})
    clock_tick.clock_advance(seconds=3600)
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
    clock_tick.clock_advance(seconds=7 * DAY + 1)
    subscription = api.ok("get", f"subscriptions/{subscription_id}", {"expand": ["latest_invoice"]})
    assert subscription["status"] == "active"
    assert subscription["latest_invoice"]["amount_paid"] == 1800
    assert subscription["latest_invoice"]["billing_reason"] == "subscription_cycle"
    # The first paid period begins when the trial ends, and its invoice bills that period.
    item = subscription["items"]["data"][0]
    trial_end = subscription["trial_end"]
    assert item["current_period_start"] == trial_end == subscription["latest_invoice"]["period_start"]
    assert item["current_period_end"] == billing.period_boundary(
        anchor=trial_end, recurring=monthly["recurring"], periods=1
    )


def _trial_without_payment_method(client, api, product, behavior: str) -> dict:
    """A 7-day trial taken without giving a card (``payment_method_collection=if_required``)."""
    monthly = api.ok(
        "post",
        "prices",
        {"product": product["id"], "currency": "usd", "unit_amount": 900, "recurring": {"interval": "month"}},
    )
    link = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [{"price": monthly["id"], "quantity": 1}],
            "payment_method_collection": "if_required",
            "subscription_data": {
                "trial_period_days": 7,
                "trial_settings": {"end_behavior": {"missing_payment_method": behavior}},
            },
        },
    )
    assert b'name="card_number"' not in client.get(_path(link)).content
    client.post(_path(link), {"email": "a@example.com"})
    subscription = api.ok("get", f"subscriptions/{_last_session(api)['subscription']}")
    assert (subscription["status"], subscription["default_payment_method"]) == ("trialing", None)
    return subscription


def _subscription_events(api, subscription_id: str) -> list[str]:
    events = api.ok("get", "events", {"limit": 100})["data"]
    return [
        e["type"]
        for e in reversed(events)
        if e["type"].startswith("customer.subscription.") and e["data"]["object"]["id"] == subscription_id
    ]


def test_a_trial_ended_without_payment_method_pauses_when_asked(client, api, product):
    subscription = _trial_without_payment_method(client, api, product, "pause")
    clock_tick.clock_advance(seconds=7 * DAY + 1)
    paused = api.ok("get", f"subscriptions/{subscription['id']}")
    assert paused["status"] == "paused"
    assert paused["status_details"]["paused"]["subscription"]["type"] == "trial_end_without_payment_method"
    # No invoice for the period: a paused subscription bills nothing.
    assert paused["latest_invoice"] == subscription["latest_invoice"]
    assert _subscription_events(api, subscription["id"]) == [
        "customer.subscription.created",
        "customer.subscription.paused",
        "customer.subscription.updated",
    ]


def test_a_trial_ended_without_payment_method_is_canceled_when_asked(client, api, product):
    subscription = _trial_without_payment_method(client, api, product, "cancel")
    clock_tick.clock_advance(seconds=7 * DAY + 1)
    canceled = api.ok("get", f"subscriptions/{subscription['id']}")
    assert canceled["status"] == "canceled"
    assert canceled["ended_at"] == canceled["canceled_at"] >= subscription["trial_end"]
    assert _subscription_events(api, subscription["id"])[-1] == "customer.subscription.deleted"
    clock_tick.clock_advance(seconds=40 * DAY)
    assert (
        api.ok("get", f"subscriptions/{subscription['id']}")["latest_invoice"]
        == subscription["latest_invoice"]
    )


def test_a_trial_ended_without_payment_method_gets_an_open_invoice_by_default(client, api, product):
    subscription = _trial_without_payment_method(client, api, product, "create_invoice")
    clock_tick.clock_advance(seconds=7 * DAY + 1)
    due = api.ok("get", f"subscriptions/{subscription['id']}", {"expand": ["latest_invoice"]})
    assert due["status"] == "past_due"
    invoice = due["latest_invoice"]
    assert (invoice["status"], invoice["amount_due"], invoice["amount_paid"]) == ("open", 900, 0)
    assert invoice["amount_remaining"] == 900
    assert invoice["status_transitions"]["paid_at"] is None
    paid_events = api.ok("get", "events", {"type": "invoice.paid"})["data"]
    assert invoice["id"] not in [e["data"]["object"]["id"] for e in paid_events]
    # Nothing is charged later either: no renewal while the invoice is unpaid.
    clock_tick.clock_advance(seconds=40 * DAY)
    assert api.ok("get", f"subscriptions/{subscription['id']}")["latest_invoice"] == invoice["id"]


def test_a_trial_with_a_card_bills_it_when_it_ends(client, api, product):
    monthly = api.ok(
        "post",
        "prices",
        {"product": product["id"], "currency": "usd", "unit_amount": 900, "recurring": {"interval": "month"}},
    )
    link = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [{"price": monthly["id"], "quantity": 1}],
            "subscription_data": {
                "trial_period_days": 7,
                "trial_settings": {"end_behavior": {"missing_payment_method": "cancel"}},
            },
        },
    )
    client.post(_path(link), CARD)
    subscription = api.ok("get", f"subscriptions/{_last_session(api)['subscription']}")
    assert subscription["default_payment_method"].startswith("pm_")
    clock_tick.clock_advance(seconds=7 * DAY + 1)
    assert api.ok("get", f"subscriptions/{subscription['id']}")["status"] == "active"


def _monthly_subscription(client, api, product, *, quantity: int = 1) -> dict:
    monthly = api.ok(
        "post",
        "prices",
        {
            "product": product["id"],
            "currency": "eur",
            "unit_amount": 1200,
            "recurring": {"interval": "month"},
        },
    )
    link = api.ok("post", "payment_links", {"line_items": [{"price": monthly["id"], "quantity": quantity}]})
    client.post(_path(link), CARD)
    return api.ok("get", f"subscriptions/{_last_session(api)['subscription']}")


def _invoices(api, subscription_id: str) -> list[dict]:
    invoices = api.ok("get", "invoices", {"subscription": subscription_id, "limit": 100})["data"]
    return sorted(invoices, key=lambda invoice: invoice["period_start"])


def _events(api, event_type: str) -> list[dict]:
    return api.ok("get", "events", {"type": event_type, "limit": 100})["data"]


def test_an_active_subscription_renews_at_each_period_end(client, api, product):
    subscription = _monthly_subscription(client, api, product, quantity=2)
    first_end = subscription["items"]["data"][0]["current_period_end"]
    clock_tick.clock_advance(seconds=first_end - clock.now() - 60)
    assert len(_invoices(api, subscription["id"])) == 1  # not yet due

    clock_tick.clock_advance(seconds=61)
    renewed = api.ok("get", f"subscriptions/{subscription['id']}", {"expand": ["latest_invoice"]})
    invoice = renewed["latest_invoice"]
    assert (invoice["billing_reason"], invoice["status"], invoice["amount_paid"]) == (
        "subscription_cycle",
        "paid",
        2400,
    )
    assert invoice["customer_email"] == "a@example.com"
    second_end = billing.period_boundary(
        anchor=subscription["billing_cycle_anchor"],
        recurring={"interval": "month", "interval_count": 1},
        periods=2,
    )
    assert (invoice["period_start"], invoice["period_end"]) == (first_end, second_end)
    item = renewed["items"]["data"][0]
    assert (item["current_period_start"], item["current_period_end"]) == (first_end, second_end)
    assert renewed["status"] == "active"
    updated = _events(api, "customer.subscription.updated")
    assert len(updated) == 1
    assert updated[0]["data"]["previous_attributes"]["latest_invoice"] == subscription["latest_invoice"]
    assert [e["data"]["object"]["id"] for e in _events(api, "invoice.paid")][0] == invoice["id"]

    # A clock moved three periods ahead renews three times, once per period, as a test clock does.
    clock_tick.clock_advance(seconds=95 * DAY)
    invoices = _invoices(api, subscription["id"])
    assert [i["billing_reason"] for i in invoices] == ["subscription_create"] + ["subscription_cycle"] * 4
    assert [i["period_start"] for i in invoices[2:]] == [i["period_end"] for i in invoices[1:-1]]
    assert len({i["id"] for i in invoices}) == 5
    # The tick that did it runs again with nothing due: no sixth invoice.
    assert clock_tick.sandbox_tick()["subscriptions_renewed"] == 0


def test_a_canceled_subscription_does_not_renew(client, api, product):
    subscription = _monthly_subscription(client, api, product)
    api.delete(f"subscriptions/{subscription['id']}")
    clock_tick.clock_advance(seconds=40 * DAY)
    assert len(_invoices(api, subscription["id"])) == 1
    assert api.ok("get", f"subscriptions/{subscription['id']}")["status"] == "canceled"


@pytest.mark.parametrize(
    ("anchor", "interval", "count", "ends"),
    [
        # Renewals on the 31st fall on the last day of shorter months, then on the 31st again.
        ("2027-01-31", "month", 1, ["2027-02-28", "2027-03-31", "2027-04-30"]),
        ("2028-02-29", "year", 1, ["2029-02-28", "2030-02-28", "2031-02-28", "2032-02-29"]),
        ("2027-03-01", "week", 2, ["2027-03-15", "2027-03-29"]),
        ("2027-03-01", "month", 3, ["2027-06-01", "2027-09-01"]),
    ],
)
def test_billing_periods_are_counted_from_the_anchor(anchor, interval, count, ends):
    start = int(datetime.datetime.fromisoformat(anchor).replace(tzinfo=datetime.UTC).timestamp())
    recurring = {"interval": interval, "interval_count": count}
    got = [
        datetime.datetime.fromtimestamp(
            billing.period_boundary(anchor=start, recurring=recurring, periods=n), tz=datetime.UTC
        )
        .date()
        .isoformat()
        for n in range(1, len(ends) + 1)
    ]
    assert got == ends


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
    cache.delete(clock_tick.PAGE_TICK_KEY)
    yield clock_tick.PAGE_TICK_KEY
    cache.delete(clock_tick.PAGE_TICK_KEY)


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
        ApiObject.objects.filter(
            type="subscription", data__has_key="_renews_at", data___renews_at__lte=current
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
    assert "sandbox_subscription_renews_at" in explained[2]
    assert "sandbox_session_complete_email" in explained[3]


# One clock: everything the sandbox writes after an advance carries the advanced time.
AHEAD = 25 * 3600
STAMP_KEYS = frozenset({"created", "updated", "start", "start_date", "billing_cycle_anchor"})


def _stamps(value, key: str = ""):
    """Every (key, timestamp) the object records about when something happened."""
    if isinstance(value, dict):
        for child_key, child in value.items():
            if child_key != "previous_attributes":  # an event's record of the values before it
                yield from _stamps(child, child_key)
    elif isinstance(value, list):
        for item in value:
            yield from _stamps(item, key)
    elif isinstance(value, int) and not isinstance(value, bool):
        if key in STAMP_KEYS or (key.endswith(("_at", "_start")) and not key.startswith("_")):
            yield key, value


def test_a_new_checkout_is_paid_after_the_clock_moves_25_hours(client, api, link):
    # Before the one clock, expires_at came from wall time and expiry from the sandbox clock: a session
    # opened after this advance was born expired and its page answered 410.
    advanced = api.ok("post", "test_helpers/sandbox_clock/advance", {"seconds": AHEAD})["now"]
    assert client.get(_path(link)).status_code == 200
    session = _last_session(api)
    paid = client.post(session["url"].removeprefix("http://testserver"), CARD)
    assert paid.status_code == 302
    assert advanced <= session["created"] <= clock.now()
    assert session["expires_at"] == session["created"] + DAY
    done = api.ok("get", f"checkout/sessions/{session['id']}", {"expand": ["payment_intent.latest_charge"]})
    assert (done["status"], done["payment_status"]) == ("complete", "paid")
    assert done["payment_intent"]["status"] == "succeeded"
    assert done["payment_intent"]["created"] >= advanced
    assert done["payment_intent"]["latest_charge"]["created"] >= advanced
    completed = api.ok("get", "events", {"type": "checkout.session.completed"})["data"]
    assert [event["data"]["object"]["id"] for event in completed] == [session["id"]]
    assert completed[0]["created"] >= advanced
    # A day later (sandbox time) a session opened after the advance expires like any other.
    clock_tick.clock_advance(seconds=DAY)
    client.get(_path(link))
    assert _last_session(api)["status"] == "open"
    clock_tick.clock_advance(seconds=DAY + 1)
    assert _last_session(api)["status"] == "expired"


def test_a_checkout_opened_after_the_developer_page_advances_is_payable(staff_client, api, link):
    staff_client.post("/sandbox/clock/advance", {"seconds": AHEAD})
    staff_client.get(_path(link))
    opened = _last_session(api)
    response = staff_client.post(opened["url"].removeprefix("http://testserver"), CARD)
    assert response.status_code == 302
    session = _last_session(api)
    assert (session["status"], session["payment_status"]) == ("complete", "paid")
    assert session["expires_at"] == session["created"] + DAY
    assert session["created"] >= clock.now() - 60 > int(time.time()) + AHEAD - 120


def test_every_object_written_after_an_advance_carries_the_sandbox_time(client, api):
    clock_tick.clock_advance(seconds=AHEAD)
    advanced = clock.now()
    first = ApiObject.objects.order_by("-seq").values_list("seq", flat=True).first()
    product = api.ok("post", "products", {"name": "T-shirt"})
    assert product["created"] >= advanced
    api.ok("post", f"products/{product['id']}", {"name": "T-shirt, blue"})
    price = api.ok("post", "prices", {"product": product["id"], "currency": "usd", "unit_amount": 1500})
    coupon = api.ok("post", "coupons", {"percent_off": 10})
    api.ok(
        "post", "promotion_codes", {"promotion": {"type": "coupon", "coupon": coupon["id"]}, "code": "LATER"}
    )
    api.ok("post", "tax_rates", {"display_name": "VAT", "percentage": 20, "inclusive": False})
    api.ok(
        "post",
        "shipping_rates",
        {"display_name": "Post", "type": "fixed_amount", "fixed_amount": {"amount": 500, "currency": "usd"}},
    )
    link = api.ok(
        "post",
        "payment_links",
        {"line_items": [{"price": price["id"], "quantity": 1}], "allow_promotion_codes": True},
    )
    client.post(_path(link), {**CARD, "promotion_code": "LATER"})
    paid = _last_session(api)
    assert paid["payment_status"] == "paid"
    api.ok("post", "refunds", {"payment_intent": paid["payment_intent"], "amount": 100})
    subscription = _monthly_subscription(client, api, product)
    api.delete(f"subscriptions/{subscription['id']}")

    rows = list(ApiObject.objects.filter(seq__gt=first or 0))
    assert {"payment_intent", "charge", "refund", "event", "subscription", "invoice"} <= {
        r.type for r in rows
    }
    late = [
        (row.type, row.stripe_id, key, stamp)
        for row in rows
        for key, stamp in [("row.created", row.created), *_stamps(row.data)]
        if stamp < advanced
    ]
    assert late == []
    canceled = api.ok("get", f"subscriptions/{subscription['id']}")
    assert canceled["canceled_at"] >= advanced
    assert api.ok("get", f"products/{product['id']}")["updated"] >= advanced


def test_a_card_expiring_this_month_is_expired_once_the_clock_passes_the_month(client, link):
    today = datetime.datetime.now(datetime.UTC).date()
    this_month = f"{today.month:02d}/{today.year % 100:02d}"
    clock_tick.clock_advance(seconds=32 * DAY)
    response = client.post(_path(link), {**CARD, "card_expiry": this_month})
    assert response.status_code == 200
    assert b"expir" in response.content.lower()
    assert ApiObject.objects.filter(type="checkout.session", data__status="open").exists()


def test_webhook_signatures_stay_on_wall_time_while_events_follow_the_sandbox(client, api, link, receiver):
    endpoint = api.ok(
        "post", "webhook_endpoints", {"url": receiver.url, "enabled_events": ["checkout.session.completed"]}
    )
    advanced = clock_tick.clock_advance(seconds=AHEAD)
    assert client.post(_path(link), CARD).status_code == 302
    sent = receiver.requests[0]
    # The receiver checks ``t`` against its own clock (300 s tolerance), as with Stripe's real deliveries.
    assert stripe.WebhookSignature.verify_header(
        sent.body, sent.headers["Stripe-Signature"], endpoint["secret"], 300
    )
    assert json.loads(sent.body)["created"] >= advanced
