"""One payment over real HTTP: the sandbox signs and delivers, we verify, store, process and fulfil."""

from __future__ import annotations

import re

import pytest
import requests
from django.core import mail

from links.models import Order, OutboundEmail, PaymentLink
from links.tasks import send_outbound_email
from webhooks.endpoints import webhook_endpoint_register
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.tasks import process_webhook_event

CARD = {
    "card_number": "4242424242424242",
    "card_expiry": "12/34",
    "card_cvc": "123",
    "cardholder_name": "Ada",
}


def _pay(sandbox, url: str, email: str) -> requests.Response:
    browser = requests.Session()
    page = browser.get(url, timeout=10)
    assert page.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    return browser.post(
        sandbox.base_url + action,
        data={"csrfmiddlewaretoken": token, "email": email, **CARD},
        headers={"Referer": url},
        allow_redirects=False,
        timeout=20,
    )


@pytest.mark.django_db(transaction=True)
def test_payment_through_the_sandbox_gives_one_order_and_one_email(sandbox, stripe_client, settings):
    settings.STRIPE_WEBHOOK_SECRETS = []
    endpoint = webhook_endpoint_register(url=f"{sandbox.base_url}/webhooks/stripe/")
    assert endpoint.secret.startswith("whsec_")
    price = stripe_client.v1.prices.create(
        params={"product_data": {"name": "Book"}, "currency": "eur", "unit_amount": 900}
    )
    stripe_link = stripe_client.v1.payment_links.create(
        params={"line_items": [{"price": price.id, "quantity": 2}]}
    )
    link = PaymentLink.objects.create(
        stripe_id=stripe_link.id, name="Books", url=stripe_link.url, currency="eur"
    )

    assert _pay(sandbox, stripe_link.url, "reader@example.com").status_code in (200, 302)

    event = WebhookEvent.objects.get(type="checkout.session.completed")
    assert WebhookDelivery.objects.get(event=event).result == WebhookDelivery.Result.ACCEPTED
    assert process_webhook_event(event.id) == WebhookEvent.Status.PROCESSED
    # A second run of the same event (a redelivered task) changes nothing.
    assert process_webhook_event(event.id) is None

    order = Order.objects.get()
    assert order.checkout_session_id == event.object_id
    assert order.status == Order.Status.PAID
    assert order.payment_link == link
    assert order.customer_email == "reader@example.com"
    assert order.amount_total == 1800
    assert order.line_items.get().quantity == 2
    link.refresh_from_db()
    assert (link.orders_count, link.revenue) == (1, 1800)

    # The worker sent the confirmation itself, right after the order's commit; the task finds it sent.
    confirmation = order.emails.get(kind=OutboundEmail.Kind.ORDER_CONFIRMATION)
    assert confirmation.status == OutboundEmail.Status.SENT
    assert send_outbound_email(confirmation.id) == OutboundEmail.Status.SENT
    assert len(mail.outbox) == 1
    assert settings.PAYLINKS_MERCHANT_NAME in mail.outbox[0].subject


@pytest.mark.django_db(transaction=True)
def test_success_page_behind_a_redirect_link_shows_the_paid_order(sandbox, stripe_client, settings):
    from links.fulfilment import order_success_url_template

    price = stripe_client.v1.prices.create(
        params={"product_data": {"name": "Pen"}, "currency": "eur", "unit_amount": 300}
    )
    stripe_link = stripe_client.v1.payment_links.create(
        params={
            "line_items": [{"price": price.id, "quantity": 1}],
            "after_completion": {"type": "redirect", "redirect": {"url": order_success_url_template()}},
        }
    )
    paid = _pay(sandbox, stripe_link.url, "pen@example.com")
    assert paid.status_code == 302
    assert "/orders/success/?session_id=cs_" in paid.headers["Location"]
    # No webhook endpoint registered: the page fetches the session itself, anonymously.
    page = requests.get(paid.headers["Location"], timeout=20)
    assert page.status_code == 200
    assert "Payment received" in page.text
    assert Order.objects.get().customer_email == "pen@example.com"


@pytest.mark.django_db(transaction=True)
def test_all_line_items_of_a_large_session_reach_the_order(sandbox, stripe_client, settings):
    # Twelve items: more than the ten an expanded line_items list holds, so fulfilment pages the rest.
    settings.STRIPE_WEBHOOK_SECRETS = []
    webhook_endpoint_register(url=f"{sandbox.base_url}/webhooks/stripe/")
    prices = [
        stripe_client.v1.prices.create(
            params={"product_data": {"name": f"Item {n}"}, "currency": "eur", "unit_amount": 100 * n}
        )
        for n in range(1, 13)
    ]
    stripe_link = stripe_client.v1.payment_links.create(
        params={"line_items": [{"price": price.id, "quantity": 1} for price in prices]}
    )
    assert _pay(sandbox, stripe_link.url, "many@example.com").status_code in (200, 302)

    event = WebhookEvent.objects.get(type="checkout.session.completed")
    assert process_webhook_event(event.id) == WebhookEvent.Status.PROCESSED
    order = Order.objects.get()
    assert order.line_items.count() == 12
    assert sum(order.line_items.values_list("amount_total", flat=True)) == order.amount_total == 7800
    assert len(set(order.line_items.values_list("stripe_id", flat=True))) == 12
