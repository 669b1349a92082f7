"""Manual capture from the order page, against the sandbox over HTTP: a customer authorises on the hosted
page, staff capture all of it or less, or cancel the authorisation; a capture, cancel or expiry made
outside Paylinks (the API directly, as Stripe's Dashboard does) reaches the order through its events."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client
from django.urls import reverse

from config.roles import staff_role_set
from links import capture, fulfilment
from links.models import Order, OrderStatusChange, OutboundEmail, PaymentLink
from sandbox import delivery
from tests.links.test_link_parameters_end_to_end import CARD, paid, visit
from webhooks.endpoints import webhook_endpoint_register
from webhooks.handlers import HANDLERS
from webhooks.models import WebhookEvent
from webhooks.tasks import process_webhook_event

pytestmark = pytest.mark.django_db(transaction=True)
WEEK = 7 * 24 * 3600
Action = OrderStatusChange.Action


def text(response) -> str:
    """The page's words, tags and spacing aside."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def authorised_order(sandbox, stripe_client, *, currency="eur", unit_amount=4000) -> Order:
    """A manual-capture link (the dashboard's row, for its revenue), paid by a customer: authorised only."""
    price = stripe_client.v1.prices.create(
        params={"product_data": {"name": "Lamp"}, "currency": currency, "unit_amount": unit_amount}
    )
    stripe_link = stripe_client.v1.payment_links.create(
        params={
            "line_items": [{"price": price.id, "quantity": 1}],
            "payment_intent_data": {"capture_method": "manual"},
        }
    )
    PaymentLink.objects.create(
        stripe_id=stripe_link.id,
        name="Lamps",
        url=stripe_link.url,
        currency=currency,
        options={"payment_intent_data": {"capture_method": "manual"}},
    )
    customer = visit(sandbox, stripe_link)
    paid(customer.submit(CARD))
    order = fulfilment.checkout_session_fulfil(session_id=customer.session_id, actor="test")
    assert (order.status, order.payment_intent_status) == (Order.Status.AWAITING_PAYMENT, "requires_capture")
    return order


@pytest.fixture
def order(sandbox, stripe_client, endpoint) -> Order:
    return authorised_order(sandbox, stripe_client)


@pytest.fixture
def endpoint(sandbox, settings):
    """The app's endpoint registered with the sandbox, so that its events are delivered to it."""
    settings.STRIPE_WEBHOOK_SECRETS = []
    return webhook_endpoint_register(url=f"{sandbox.base_url}/webhooks/stripe/")


@pytest.fixture
def viewer_client(django_user_model):
    user = django_user_model.objects.create_user(
        username="victor", password="x-long-password-1", is_staff=True
    )
    staff_role_set(user=user, role="Viewers")
    client = Client()
    client.force_login(user)
    return client


def deliver(stripe_client, event_type: str) -> list[WebhookEvent]:
    """Deliver the sandbox's events of this type to the app's endpoint now; the events as stored."""
    for event in stripe_client.v1.events.list(params={"type": event_type}).data:
        delivery.deliver_now(event_id=event.id)
    return list(WebhookEvent.objects.filter(type=event_type))


def capture_url(order: Order) -> str:
    return reverse("orders:capture", args=[order.public_id])


def capture_from_the_page(client, order: Order, amount: str) -> None:
    """Open "Capture…", enter the amount, confirm: as staff do."""
    form = client.get(capture_url(order)).content.decode()
    token = re.search(r'name="request_token" value="([0-9a-f]{32})"', form).group(1)
    confirm = client.post(capture_url(order), {"amount": amount, "request_token": token})
    assert confirm.status_code == 200
    assert 'id="capture-confirm"' in confirm.content.decode()
    done = client.post(capture_url(order), {"amount": amount, "confirm": "True", "request_token": token})
    assert done.status_code == 302, text(done)


def history(order: Order, action: str) -> list[OrderStatusChange]:
    return list(order.status_changes.filter(action=action))


# THE ORDER PAGE ------------------------------------------------------------------------------------


def test_an_authorised_order_says_until_when_it_can_be_captured(staff_client, order, stripe_client):
    intent = stripe_client.v1.payment_intents.retrieve(
        order.payment_intent_id, params={"expand": ["latest_charge"]}
    )
    deadline = intent.latest_charge.payment_method_details.card.capture_before
    assert order.capture_before is not None and int(order.capture_before.timestamp()) == deadline
    assert (order.amount_capturable, order.amount_received) == (4000, 0)

    link_page = staff_client.get(reverse("links:detail", args=[order.payment_link.public_id]))
    assert "Authorise now, capture later: each payment is only authorised" in text(link_page)
    page = staff_client.get(reverse("orders:detail", args=[order.public_id]))
    assert "Authorised to capture before" in text(page)
    assert "Capture…" in text(page) and "Cancel the authorisation…" in text(page)
    listed = staff_client.get(reverse("orders:list"), {"status": "to_capture"})
    assert "Authorised to capture before" in text(listed)
    assert str(order.public_id) in listed.content.decode()
    assert (
        str(order.public_id)
        not in staff_client.get(reverse("orders:list"), {"status": "paid"}).content.decode()
    )


def test_the_capture_form_is_prefilled_with_all_that_is_authorised(staff_client, order):
    form = staff_client.get(capture_url(order)).content.decode()
    assert re.search(r'name="amount" value="40.00"', form)
    # With htmx, only the panel comes back.
    partial = staff_client.get(capture_url(order), headers={"HX-Request": "true"}).content.decode()
    assert partial.lstrip().startswith('<section id="order-capture"') and "<html" not in partial


# CAPTURE -------------------------------------------------------------------------------------------


def test_capturing_in_full_pays_the_order(staff_client, staff_user, order, stripe_client):
    capture_from_the_page(staff_client, order, "40.00")

    intent = stripe_client.v1.payment_intents.retrieve(order.payment_intent_id)
    assert (intent.status, intent.amount_received) == ("succeeded", 4000)
    order.refresh_from_db()
    assert (order.status, order.payment_intent_status, order.amount_received) == (
        Order.Status.PAID,
        "succeeded",
        4000,
    )
    [entry] = history(order, Action.CAPTURE)
    assert (entry.amount, entry.actor) == (4000, staff_user.username)
    assert order.emails.filter(kind=OutboundEmail.Kind.ORDER_CONFIRMATION).exists()
    assert (order.payment_link.revenue, PaymentLink.objects.get().orders_count) == (4000, 1)
    page = text(staff_client.get(reverse("orders:detail", args=[order.public_id])))
    assert "40.00 EUR captured." in page and "Capture…" not in page


def test_capturing_less_than_authorised_counts_what_was_received(
    staff_client, order, stripe_client, endpoint
):
    capture_from_the_page(staff_client, order, "25.50")

    intent = stripe_client.v1.payment_intents.retrieve(order.payment_intent_id)
    assert (intent.status, intent.amount_received, intent.amount_capturable) == ("succeeded", 2550, 0)
    order.refresh_from_db()
    assert (order.status, order.amount_received, order.amount_total) == (Order.Status.PAID, 2550, 4000)
    assert [entry.amount for entry in history(order, Action.CAPTURE)] == [2550]
    link = PaymentLink.objects.get()
    assert (link.revenue, link.orders_count) == (2550, 1)
    page = text(staff_client.get(reverse("orders:detail", args=[order.public_id])))
    assert "25.50 EUR of 40.00 EUR: the rest was released to the customer." in page

    # The capture's own events then arrive: nothing changes.
    for event_type in ("charge.captured", "payment_intent.succeeded"):
        for event in deliver(stripe_client, event_type):
            process_webhook_event(event.id)
    link.refresh_from_db()
    assert (link.revenue, link.orders_count) == (2550, 1)
    assert len(history(order, Action.CAPTURE)) == 1


def test_a_retried_capture_with_the_same_token_captures_once(order, staff_user, stripe_client):
    token = "a" * 32
    capture.order_capture(order=order, amount=1000, user=staff_user, request_token=token)
    # The same request again (a double click, a retry after a timeout) with the order as it was read before.
    capture.order_capture(order=order, amount=1000, user=staff_user, request_token=token)
    order.refresh_from_db()
    assert order.amount_received == 1000
    assert len(history(order, Action.CAPTURE)) == 1
    assert PaymentLink.objects.get().revenue == 1000


# CANCEL --------------------------------------------------------------------------------------------


def test_canceling_the_authorisation_is_confirmed_then_releases_it(
    staff_client, staff_user, order, stripe_client
):
    url = reverse("orders:cancel-authorization", args=[order.public_id])
    confirm = staff_client.get(url)
    assert "Cancel the authorisation of 40.00 EUR?" in text(confirm)
    token = re.search(r'name="request_token" value="([0-9a-f]{32})"', confirm.content.decode()).group(1)
    assert stripe_client.v1.payment_intents.retrieve(order.payment_intent_id).status == "requires_capture"

    response = staff_client.post(url, {"request_token": token})
    assert response.status_code == 302
    assert stripe_client.v1.payment_intents.retrieve(order.payment_intent_id).status == "canceled"
    order.refresh_from_db()
    assert (order.status, order.payment_intent_status) == (Order.Status.CANCELED, "canceled")
    [entry] = history(order, Action.AUTHORIZATION_CANCELED)
    assert (entry.amount, entry.actor) == (4000, staff_user.username)
    assert PaymentLink.objects.get().revenue == 0
    assert not order.emails.filter(kind=OutboundEmail.Kind.ORDER_CONFIRMATION).exists()
    page = text(staff_client.get(reverse("orders:detail", args=[order.public_id])))
    assert "Authorisation canceled The customer was not charged." in page


# FROM STRIPE'S EVENTS ------------------------------------------------------------------------------


def test_a_capture_made_in_stripe_reaches_the_order_whatever_the_order_of_its_events(
    order, stripe_client, endpoint
):
    stripe_client.v1.payment_intents.capture(order.payment_intent_id, params={"amount_to_capture": 3000})
    succeeded = deliver(stripe_client, "payment_intent.succeeded")
    captured = deliver(stripe_client, "charge.captured")
    assert succeeded and captured
    # payment_intent.succeeded first, then charge.captured, then both again (a retried delivery).
    for event in [*succeeded, *captured]:
        process_webhook_event(event.id)
    for event in [*captured, *succeeded]:
        HANDLERS[event.type](event)
    order.refresh_from_db()
    assert (order.status, order.amount_received, order.amount_capturable) == (Order.Status.PAID, 3000, 0)
    [entry] = history(order, Action.CAPTURE)
    assert entry.amount == 3000 and entry.actor.startswith("payment_intent.succeeded")
    assert PaymentLink.objects.get().revenue == 3000
    assert order.emails.filter(kind=OutboundEmail.Kind.ORDER_CONFIRMATION).count() == 1


def test_an_old_authorisation_event_after_the_capture_changes_nothing(order, stripe_client, endpoint):
    [authorised] = deliver(stripe_client, "payment_intent.amount_capturable_updated")
    stripe_client.v1.payment_intents.capture(order.payment_intent_id)
    for event in deliver(stripe_client, "charge.captured"):
        process_webhook_event(event.id)
    process_webhook_event(authorised.id)  # delivered late
    order.refresh_from_db()
    assert (order.status, order.payment_intent_status) == (Order.Status.PAID, "succeeded")


def test_an_event_before_the_sessions_completion_records_the_order(sandbox, stripe_client, endpoint):
    order = authorised_order(sandbox, stripe_client)
    Order.objects.all().delete()  # as if checkout.session.completed were still queued
    stripe_client.v1.payment_intents.capture(order.payment_intent_id, params={"amount_to_capture": 1500})
    for event in deliver(stripe_client, "charge.captured"):
        process_webhook_event(event.id)
    order = Order.objects.get()
    assert (order.status, order.amount_received) == (Order.Status.PAID, 1500)
    assert len(history(order, Action.CAPTURE)) == 1
    assert PaymentLink.objects.get().revenue == 1500


def test_a_cancel_made_in_stripe_reaches_the_order(order, stripe_client, endpoint):
    stripe_client.v1.payment_intents.cancel(order.payment_intent_id)
    [event] = deliver(stripe_client, "payment_intent.canceled")
    process_webhook_event(event.id)
    HANDLERS[event.type](event)
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    assert len(history(order, Action.AUTHORIZATION_CANCELED)) == 1


def test_an_authorisation_not_captured_in_seven_days_expires(staff_client, order, stripe_client, endpoint):
    stripe_client.raw_request("post", "/v1/test_helpers/sandbox_clock/advance", seconds=WEEK + 60)
    for event_type in ("charge.expired", "payment_intent.canceled"):
        for event in deliver(stripe_client, event_type):
            process_webhook_event(event.id)
    order.refresh_from_db()
    assert (order.status, order.payment_intent_status) == (Order.Status.EXPIRED, "canceled")
    [entry] = order.status_changes.filter(
        action__in=[Action.AUTHORIZATION_EXPIRED, Action.AUTHORIZATION_CANCELED]
    )
    assert entry.action == Action.AUTHORIZATION_EXPIRED
    assert "Authorisation expired" in text(staff_client.get(reverse("orders:detail", args=[order.public_id])))


def test_the_capture_events_are_registered_with_the_endpoint(endpoint):
    for event_type in (
        "payment_intent.amount_capturable_updated",
        "payment_intent.succeeded",
        "payment_intent.canceled",
        "charge.captured",
        "charge.expired",
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.closed",
    ):
        assert event_type in endpoint.enabled_events


# BAD INPUT -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("0", "Enter an amount of at least 0.01 EUR."),
        ("40.01", "Enter at most 40.00 EUR: that is what the customer authorised."),
        ("forty", "Enter a number."),
        ("", "Enter the amount to capture."),
        ("12.345", "EUR amounts have at most 2 decimal places."),
        ("-5", "Enter an amount of at least 0.01 EUR."),
    ],
)
def test_a_bad_amount_is_shown_at_its_field_and_captures_nothing(
    staff_client, order, stripe_client, amount, error
):
    response = staff_client.post(
        capture_url(order), {"amount": amount, "confirm": "True", "request_token": "b" * 32}
    )
    assert response.status_code == 422
    page = text(response)
    assert "Nothing was saved. Please correct the following:" in page
    assert f"Amount to capture: {error}" in page  # the error summary, linking to the field
    assert re.search(
        r'<ul class="errorlist"[^>]*>\s*<li>' + re.escape(html.escape(error, quote=False)),
        response.content.decode(),
    )
    assert stripe_client.v1.payment_intents.retrieve(order.payment_intent_id).status == "requires_capture"


def test_a_zero_decimal_currency_is_captured_in_whole_units(sandbox, stripe_client, staff_client):
    order = authorised_order(sandbox, stripe_client, currency="jpy", unit_amount=5000)
    form = staff_client.get(capture_url(order)).content.decode()
    assert 'name="amount" value="5000"' in form
    refused = staff_client.post(
        capture_url(order), {"amount": "1000.5", "confirm": "True", "request_token": "c" * 32}
    )
    assert "JPY amounts have no decimals." in text(refused)
    capture_from_the_page(staff_client, order, "3000")
    order.refresh_from_db()
    assert order.amount_received == 3000
    assert PaymentLink.objects.get().revenue == 3000


# ROLES AND CSRF ------------------------------------------------------------------------------------


def test_a_viewer_sees_no_button_and_cannot_capture_or_cancel(viewer_client, order, stripe_client):
    page = text(viewer_client.get(reverse("orders:detail", args=[order.public_id])))
    assert "Authorised to capture before" in page
    assert "Capture…" not in page and "Cancel the authorisation…" not in page
    assert "needs the Editors role" in text(viewer_client.get(capture_url(order)))
    refused = viewer_client.post(
        capture_url(order), {"amount": "40.00", "confirm": "True", "request_token": "d" * 32}
    )
    assert refused.status_code == 403
    url = reverse("orders:cancel-authorization", args=[order.public_id])
    assert viewer_client.post(url, {"request_token": "d" * 32}).status_code == 403
    assert stripe_client.v1.payment_intents.retrieve(order.payment_intent_id).status == "requires_capture"


def test_a_capture_without_the_csrf_token_is_refused(staff_user, order, stripe_client):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    response = client.post(
        capture_url(order), {"amount": "40.00", "confirm": "True", "request_token": "e" * 32}
    )
    assert response.status_code == 403
    url = reverse("orders:cancel-authorization", args=[order.public_id])
    assert client.post(url, {"request_token": "e" * 32}, headers={"HX-Request": "true"}).status_code == 403
    assert stripe_client.v1.payment_intents.retrieve(order.payment_intent_id).status == "requires_capture"


def test_a_capture_already_made_in_stripe_says_so_and_shows_it(staff_client, order, stripe_client):
    stripe_client.v1.payment_intents.capture(order.payment_intent_id)  # in Stripe's Dashboard, meanwhile
    response = staff_client.post(
        capture_url(order), {"amount": "40.00", "confirm": "True", "request_token": "f" * 32}
    )
    assert response.status_code == 422
    assert "captured or canceled elsewhere in the meantime" in text(response)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_the_customers_success_page_says_the_card_is_authorised_and_stops_waiting(order):
    response = Client().get(reverse("orders:success"), {"session_id": order.checkout_session_id})
    page = text(response)
    assert "Your card is authorised for 40.00 EUR: it is charged when your order is confirmed." in page
    assert "hx-trigger" not in response.content.decode()
