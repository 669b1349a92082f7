"""Delayed payments (SEPA Direct Debit in the sandbox): the order waits, then is paid or failed,
whichever order the events arrive in."""

from __future__ import annotations

import re

import pytest
import requests

from links.models import Order, OutboundEmail, PaymentLink
from tests.webhooks.test_billing_end_to_end import _deliver_all_events
from webhooks.endpoints import webhook_endpoint_register
from webhooks.models import WebhookEvent
from webhooks.tasks import process_webhook_event

GOOD_IBAN = "DE89370400440532013000"
FAILING_IBAN = "DE62370400440532013001"


def _pay_by_debit(sandbox, url: str, iban: str) -> None:
    browser = requests.Session()
    page = browser.get(url, timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    data = {
        "csrfmiddlewaretoken": token,
        "email": "debit@example.com",
        "payment_method": "sepa_debit",
        "iban": iban,
        "cardholder_name": "Ada",
    }
    paid = browser.post(
        sandbox.base_url + action, data=data, headers={"Referer": url}, allow_redirects=False, timeout=20
    )
    assert paid.status_code in (200, 302), paid.text[:500]


def _advance_clock(stripe_client, seconds: int) -> None:
    stripe_client.raw_request("post", "/v1/test_helpers/sandbox_clock/advance", seconds=seconds)


@pytest.fixture
def debit_link(sandbox, stripe_client, settings):
    settings.STRIPE_WEBHOOK_SECRETS = []
    endpoint = webhook_endpoint_register(url=f"{sandbox.base_url}/webhooks/stripe/")
    price = stripe_client.v1.prices.create(
        params={"product_data": {"name": "Bike"}, "currency": "eur", "unit_amount": 25000}
    )
    link = stripe_client.v1.payment_links.create(
        params={
            "line_items": [{"price": price.id, "quantity": 1}],
            "payment_method_types": ["card", "sepa_debit"],
        }
    )
    return link, endpoint


def _events_then_process(stripe_client, sandbox, endpoint, *, reverse: bool) -> None:
    WebhookEvent.objects.all().delete()
    _deliver_all_events(stripe_client, sandbox, endpoint.secret)
    events = list(WebhookEvent.objects.order_by("created", "id"))
    for event in reversed(events) if reverse else events:
        process_webhook_event(event.id)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("reverse", [False, True])
def test_debit_that_settles(sandbox, stripe_client, debit_link, reverse):
    link, endpoint = debit_link
    _pay_by_debit(sandbox, link.url, GOOD_IBAN)
    completed = WebhookEvent.objects.get(type="checkout.session.completed")
    process_webhook_event(completed.id)
    order = Order.objects.get()
    assert order.status == Order.Status.AWAITING_PAYMENT
    assert not order.emails.exists()

    _advance_clock(stripe_client, 30 * 24 * 3600)
    _events_then_process(stripe_client, sandbox, endpoint, reverse=reverse)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.payment_status == "paid"
    assert list(order.emails.values_list("kind", flat=True)) == [OutboundEmail.Kind.ORDER_CONFIRMATION]


@pytest.mark.django_db(transaction=True)
def test_debit_that_fails(sandbox, stripe_client, debit_link, settings):
    settings.PAYLINKS_STAFF_EMAIL = "staff@example.com"
    link, endpoint = debit_link
    _pay_by_debit(sandbox, link.url, FAILING_IBAN)
    _advance_clock(stripe_client, 30 * 24 * 3600)
    _events_then_process(stripe_client, sandbox, endpoint, reverse=True)
    order = Order.objects.get()
    assert order.status == Order.Status.PAYMENT_FAILED
    kinds = set(order.emails.values_list("kind", flat=True))
    assert kinds == {OutboundEmail.Kind.PAYMENT_FAILED, OutboundEmail.Kind.STAFF_NOTIFICATION}


@pytest.mark.django_db(transaction=True)
def test_reconciler_settles_an_order_whose_success_event_was_lost(sandbox, stripe_client, debit_link):
    from links.tasks import reconcile_checkout_sessions

    link, _endpoint = debit_link
    PaymentLink.objects.create(stripe_id=link.id, name="Bikes", url=link.url, currency="eur")
    _pay_by_debit(sandbox, link.url, GOOD_IBAN)
    process_webhook_event(WebhookEvent.objects.get(type="checkout.session.completed").id)
    assert Order.objects.get().status == Order.Status.AWAITING_PAYMENT
    assert reconcile_checkout_sessions() == 0

    _advance_clock(stripe_client, 30 * 24 * 3600)  # settles; its event is never delivered here
    assert reconcile_checkout_sessions() == 1
    assert Order.objects.get().status == Order.Status.PAID
    assert reconcile_checkout_sessions() == 0
