"""A payment through the sandbox's hosted page reaches the overview: its day's figures and the home page's
chart, top links and total, through the webhook and fulfilment as in production."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from links.daily_revenue import link_daily_net, shop_daily_net, shop_day
from links.models import Order, PaymentLink
from tests.webhooks.test_end_to_end import _pay
from webhooks.endpoints import webhook_endpoint_register
from webhooks.models import WebhookEvent
from webhooks.tasks import process_webhook_event


@pytest.mark.django_db(transaction=True)
def test_a_sandbox_payment_shows_in_the_overview(sandbox, stripe_client, settings, staff_client):
    settings.STRIPE_WEBHOOK_SECRETS = []
    webhook_endpoint_register(url=f"{sandbox.base_url}/webhooks/stripe/")
    price = stripe_client.v1.prices.create(
        params={"product_data": {"name": "Book"}, "currency": "jpy", "unit_amount": 1200}
    )
    stripe_link = stripe_client.v1.payment_links.create(
        params={"line_items": [{"price": price.id, "quantity": 3}]}
    )
    link = PaymentLink.objects.create(
        stripe_id=stripe_link.id, name="Books in yen", url=stripe_link.url, currency="jpy"
    )

    assert _pay(sandbox, stripe_link.url, "reader@example.com").status_code in (200, 302)
    event = WebhookEvent.objects.get(type="checkout.session.completed")
    assert process_webhook_event(event.id) == WebhookEvent.Status.PROCESSED
    assert process_webhook_event(event.id) is None  # a redelivered task counts nothing twice

    order = Order.objects.get()
    day = shop_day(order.paid_at)
    figures = {"received": 3600, "refunded": 0, "net": 3600, "orders": 1}
    assert shop_daily_net(start=day, end=day) == {"jpy": {day: figures}}
    assert link_daily_net(link_id=link.id, start=day, end=day) == {"jpy": {day: figures}}

    html = staff_client.get(reverse("home"), {"currency": "jpy"}).content.decode()
    revenue = html[
        html.index('<section id="revenue"') : html.index("</section>", html.index('<section id="revenue"'))
    ]
    assert "<strong>3,600 JPY</strong>" in revenue
    assert re.search(r"Books in yen</a></td>\s*<td[^>]*>3,600 JPY", revenue)
    assert re.search(r'class="bar-value"[^>]*>3,600 JPY</text>', revenue)
