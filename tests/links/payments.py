"""A payment link's payment made through the sandbox over HTTP, as a customer makes it, and its order."""

from __future__ import annotations

import re

import requests

from links import fulfilment
from links.models import Order, PaymentLink

CARD = {
    "card_number": "4242424242424242",
    "card_expiry": "12/34",
    "card_cvc": "123",
    "cardholder_name": "Jane",
}


def pay(sandbox, url: str, email: str, card: dict | None = None) -> requests.Response:
    browser = requests.Session()
    page = browser.get(url, timeout=10)
    assert page.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    return browser.post(
        sandbox.base_url + action,
        data={"csrfmiddlewaretoken": token, "email": email, **(card or CARD)},
        headers={"Referer": url},
        allow_redirects=False,
        timeout=20,
    )


def paid_session(
    sandbox,
    stripe_client,
    *,
    currency="eur",
    unit_amount=900,
    quantity=2,
    email="jane@example.com",
    card: dict | None = None,
    link_params: dict | None = None,
):
    """A link (and its local row) paid once: the completed session's id, its order not recorded yet."""
    price = stripe_client.v1.prices.create(
        params={"product_data": {"name": "Book"}, "currency": currency, "unit_amount": unit_amount}
    )
    stripe_link = stripe_client.v1.payment_links.create(
        params={"line_items": [{"price": price.id, "quantity": quantity}], **(link_params or {})}
    )
    PaymentLink.objects.create(stripe_id=stripe_link.id, name="Books", url=stripe_link.url, currency=currency)
    assert pay(sandbox, stripe_link.url, email, card).status_code in (200, 302)
    sessions = stripe_client.v1.checkout.sessions.list(params={"payment_link": stripe_link.id})
    return sessions.data[0].id


def advance_clock(stripe_client, seconds: int) -> None:
    stripe_client.raw_request("post", "/v1/test_helpers/sandbox_clock/advance", seconds=seconds)


def paid_order(sandbox, stripe_client, *, settle_after: int = 0, **kwargs) -> Order:
    """As ``paid_session``, with its order recorded paid; ``settle_after``: seconds of the sandbox clock
    for a delayed payment (SEPA) to settle first."""
    session_id = paid_session(sandbox, stripe_client, **kwargs)
    if settle_after:
        advance_clock(stripe_client, settle_after)
    order = fulfilment.checkout_session_fulfil(session_id=session_id, actor="test")
    assert order is not None and order.status == Order.Status.PAID and order.payment_intent_id
    return order
