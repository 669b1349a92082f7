"""Payment Links parameters from creation to the order page: each link is created with the stripe SDK against
the sandbox, paid on its hosted page as a customer would (a form POST), fulfilled, and its order read back
from the database and from the dashboard's order page."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import pytest
import requests
from django.urls import reverse

from links import fulfilment
from links.models import Order, OutboundEmail, PaymentLink
from links.totals import link_totals
from webhooks.endpoints import webhook_endpoint_register
from webhooks.models import WebhookEvent
from webhooks.tasks import process_webhook_event

pytestmark = pytest.mark.django_db(transaction=True)

CARD = {
    "email": "ada@example.com",
    "card_number": "4242424242424242",
    "card_expiry": "12/34",
    "card_cvc": "123",
    "cardholder_name": "Ada Lovelace",
}
DAY = 24 * 3600


@dataclass
class Visit:
    """One customer on one hosted page: the page as first shown, and what each submit answered."""

    sandbox: object
    browser: requests.Session
    page: str
    action: str
    token: str

    @property
    def session_id(self) -> str:
        return self.action.rsplit("/", 1)[1]

    def submit(self, data: dict) -> requests.Response:
        return self.browser.post(
            self.sandbox.base_url + self.action,
            data={"csrfmiddlewaretoken": self.token, **data},
            allow_redirects=False,
            timeout=30,
        )


def visit(sandbox, link) -> Visit:
    browser = requests.Session()
    page = browser.get(link.url, timeout=10).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    action = re.search(r'<form method="post" action="([^"]+)"', page).group(1)
    return Visit(sandbox=sandbox, browser=browser, page=page, action=action, token=token)


def paid(response: requests.Response) -> None:
    """The submit completed the session (a redirect to the confirmation), or fail with the page's errors."""
    assert response.status_code == 302, field_errors(response)


def field_errors(response: requests.Response) -> dict[str, str]:
    """Each error shown at its field, by field name (``<small class="error" id="NAME-error">``)."""
    found = re.findall(r'<small class="error" id="([^"]+)-error">([^<]+)</small>', response.text)
    return {name: html.unescape(message) for name, message in found}


def error_summary(response: requests.Response) -> list[str]:
    summary = re.search(r"<div class=\"error-summary\".*?</ul>", response.text, re.S)
    assert summary, "no error summary at the top of the page"
    return [html.unescape(item) for item in re.findall(r"<li><a [^>]+>([^<]+)</a></li>", summary.group(0))]


def total_due(page: str) -> tuple[str, str]:
    """The summary's headline amount and its label ("Total due", or "Total due today" for a trial)."""
    found = re.search(
        r'<p class="amount-due"><span>([^<]+)</span> <strong id="total-due">([^<]+)</strong>', page
    )
    assert found, "no total due on the page"
    return found.group(1), found.group(2)


def dashboard_link(stripe_link) -> PaymentLink:
    """The dashboard's row for a link made straight in Stripe (its orders count in its revenue)."""
    return PaymentLink.objects.create(
        stripe_id=stripe_link.id, name="Link", url=stripe_link.url, currency="eur", is_recurring=True
    )


def fulfil(session_id: str) -> Order:
    order = fulfilment.checkout_session_fulfil(session_id=session_id, actor="test")
    assert order is not None
    return order


def order_page(staff_client, order: Order) -> str:
    response = staff_client.get(reverse("orders:detail", args=[order.public_id]))
    assert response.status_code == 200
    return html.unescape(response.content.decode())


@pytest.fixture
def lamp(stripe_client):
    return stripe_client.v1.prices.create(
        params={"product_data": {"name": "Lamp"}, "currency": "eur", "unit_amount": 4000}
    )


@pytest.fixture
def monthly(stripe_client):
    return stripe_client.v1.prices.create(
        params={
            "product_data": {"name": "Lamp club"},
            "currency": "eur",
            "unit_amount": 900,
            "recurring": {"interval": "month"},
        }
    )


# PAYMENT INTENT DATA -------------------------------------------------------------------------------


def test_payment_intent_data_reaches_the_payment_intent_and_a_manual_capture_awaits_it(
    sandbox, stripe_client, staff_client, lamp, settings
):
    settings.STRIPE_WEBHOOK_SECRETS = []
    webhook_endpoint_register(url=f"{sandbox.base_url}/webhooks/stripe/")
    link = stripe_client.v1.payment_links.create(
        params={
            "line_items": [{"price": lamp.id, "quantity": 1}],
            "payment_intent_data": {
                "capture_method": "manual",
                "setup_future_usage": "off_session",
                "description": "Lamp, hand-made",
                "statement_descriptor_suffix": "LAMP",
                "metadata": {"workshop": "north"},
            },
        }
    )
    customer = visit(sandbox, link)
    # The card is kept for later payments: the reuse agreement is shown (consent_collection not set: auto).
    assert 'id="reuse-agreement"' in customer.page
    paid(customer.submit(CARD))

    session = stripe_client.v1.checkout.sessions.retrieve(customer.session_id)
    assert (session.status, session.payment_status) == ("complete", "unpaid")
    intent = stripe_client.v1.payment_intents.retrieve(session.payment_intent)
    assert intent.status == "requires_capture"
    assert (intent.amount_capturable, intent.amount_received) == (4000, 0)
    assert intent.setup_future_usage == "off_session"
    assert intent.description == "Lamp, hand-made"
    assert intent.statement_descriptor_suffix == "LAMP"
    assert intent.metadata.to_dict() == {"workshop": "north"}

    process_webhook_event(WebhookEvent.objects.get(type="checkout.session.completed").id)
    order = Order.objects.get()
    # Authorised only: not paid (no revenue, no confirmation) until the merchant captures.
    assert order.status == Order.Status.AWAITING_PAYMENT
    assert not order.emails.filter(kind=OutboundEmail.Kind.ORDER_CONFIRMATION).exists()
    assert (order.capture_method, order.payment_intent_status) == ("manual", "requires_capture")
    assert order.setup_future_usage == "off_session"
    assert order.reuse_agreement == "shown"
    page = order_page(staff_client, order)
    assert "Authorised to capture" in " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "Off session (charged without the customer)" in page
    assert "Payment details saved; the customer was shown the reuse agreement" in page

    stripe_client.v1.payment_intents.capture(intent.id)
    # The capture's charge.captured reaches the app's endpoint like any event (here sent at once).
    from sandbox import delivery

    captured = stripe_client.v1.events.list(params={"type": "charge.captured"}).data[0]
    delivery.deliver_now(event_id=captured.id)
    process_webhook_event(WebhookEvent.objects.get(type="charge.captured").id)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.payment_intent_status == "succeeded"
    assert order.paid_at is not None
    assert order.emails.filter(kind=OutboundEmail.Kind.ORDER_CONFIRMATION).exists()
    assert "Captured" in order_page(staff_client, order)


def test_the_reconciler_catches_a_capture_whose_event_was_lost(sandbox, stripe_client, lamp):
    stripe_link = stripe_client.v1.payment_links.create(
        params={
            "line_items": [{"price": lamp.id, "quantity": 1}],
            "payment_intent_data": {"capture_method": "manual"},
        }
    )
    link = dashboard_link(stripe_link)
    customer = visit(sandbox, stripe_link)
    paid(customer.submit(CARD))
    order = fulfil(customer.session_id)
    assert (order.status, order.payment_intent_status) == (Order.Status.AWAITING_PAYMENT, "requires_capture")
    assert fulfilment.checkout_sessions_reconcile() == 0  # authorised only: nothing to catch up on

    stripe_client.v1.payment_intents.capture(order.payment_intent_id)  # its charge.captured never arrives
    # The session still says unpaid (a manual capture's does): the PaymentIntent says captured.
    assert stripe_client.v1.checkout.sessions.retrieve(customer.session_id).payment_status == "unpaid"
    assert fulfilment.checkout_sessions_reconcile() == 1
    order.refresh_from_db()
    assert (order.status, order.payment_intent_status) == (Order.Status.PAID, "succeeded")
    assert order.emails.filter(kind=OutboundEmail.Kind.ORDER_CONFIRMATION).exists()
    link.refresh_from_db()
    assert (link.orders_count, link.revenue) == (1, 4000)
    assert fulfilment.checkout_sessions_reconcile() == 0


def test_an_automatic_capture_is_paid_at_once_and_saves_nothing(sandbox, stripe_client, lamp):
    link = stripe_client.v1.payment_links.create(params={"line_items": [{"price": lamp.id, "quantity": 1}]})
    customer = visit(sandbox, link)
    assert 'id="reuse-agreement"' not in customer.page
    paid(customer.submit(CARD))
    order = fulfil(customer.session_id)
    assert order.status == Order.Status.PAID
    assert (order.capture_method, order.payment_intent_status) == ("automatic", "succeeded")
    assert (order.setup_future_usage, order.reuse_agreement) == ("", "")


# OPTIONAL ITEMS ------------------------------------------------------------------------------------


def test_optional_items_the_customer_adds_are_charged_and_become_order_lines(
    sandbox, stripe_client, staff_client, lamp
):
    bulb = stripe_client.v1.prices.create(
        params={"product_data": {"name": "Bulb"}, "currency": "eur", "unit_amount": 300}
    )
    shade = stripe_client.v1.prices.create(
        params={"product_data": {"name": "Shade"}, "currency": "eur", "unit_amount": 1200}
    )
    cable = stripe_client.v1.prices.create(
        params={"product_data": {"name": "Cable"}, "currency": "eur", "unit_amount": 500}
    )
    link = stripe_client.v1.payment_links.create(
        params={
            "line_items": [{"price": lamp.id, "quantity": 1}],
            "optional_items": [
                {
                    "price": bulb.id,
                    "quantity": 2,
                    "adjustable_quantity": {"enabled": True, "minimum": 2, "maximum": 6},
                },
                {"price": shade.id, "quantity": 1},
                {"price": cable.id, "quantity": 1},
            ],
        }
    )
    customer = visit(sandbox, link)
    assert "Add Bulb (3.00 EUR each)" in html.unescape(customer.page)

    below = customer.submit({**CARD, f"optional_{bulb.id}": "1"})
    assert below.status_code == 200
    assert field_errors(below) == {f"optional_{bulb.id}": "Choose at least 2, or 0 to leave it out."}
    assert stripe_client.v1.checkout.sessions.retrieve(customer.session_id).status == "open"
    above = customer.submit({**CARD, f"optional_{bulb.id}": "7"})
    assert f"optional_{bulb.id}" in field_errors(above)

    # The cable is left out; the page's total (server-computed) is what is charged.
    priced = customer.submit(
        {**CARD, "update": "1", f"optional_{bulb.id}": "3", f"optional_{shade.id}": "on"}
    )
    assert "61.00 EUR" in html.unescape(priced.text)
    paid(
        customer.submit(
            {**CARD, f"optional_{bulb.id}": "3", f"optional_{shade.id}": "on", "shown_total": "6100"}
        )
    )

    session = stripe_client.v1.checkout.sessions.retrieve(
        customer.session_id, params={"expand": ["line_items"]}
    )
    assert [(li.description, li.quantity) for li in session.line_items.data] == [
        ("Lamp", 1),
        ("Bulb", 3),
        ("Shade", 1),
    ]
    assert session.amount_total == 4000 + 900 + 1200
    assert stripe_client.v1.payment_intents.retrieve(session.payment_intent).amount == 6100

    order = fulfil(customer.session_id)
    lines = [(li.description, li.quantity, li.amount_total, li.optional) for li in order.line_items.all()]
    assert lines == [("Lamp", 1, 4000, False), ("Bulb", 3, 900, True), ("Shade", 1, 1200, True)]
    assert order.amount_total == 6100
    page = order_page(staff_client, order)
    assert page.count("added by the customer") == 2


def test_an_optional_item_set_in_the_editor_becomes_an_order_line(sandbox, stripe_client, staff_client):
    from catalog import services as catalog_services

    lamp, bulb = (
        catalog_services.product_create_with_price(
            name=name, currency="eur", unit_amount=amount, request_token=token * 32
        ).prices.get()
        for name, amount, token in (("Lamp", 4000, "1"), ("Bulb", 300, "2"))
    )
    editor = {
        "name": "Lamp link",
        "notes": "",
        "request_token": "3" * 32,
        "line_items-TOTAL_FORMS": "1",
        "line_items-INITIAL_FORMS": "0",
        "line_items-0-price": lamp.stripe_id,
        "line_items-0-quantity": "1",
        "optional_items-TOTAL_FORMS": "1",
        "optional_items-INITIAL_FORMS": "0",
        "optional_items-0-price": bulb.stripe_id,
        "optional_items-0-quantity": "2",
        "optional_items-0-adjustable": "on",
        "optional_items-0-maximum": "4",
    }
    assert staff_client.post(reverse("links:create"), editor).status_code == 302
    link = PaymentLink.objects.get()
    # The link's page lists what it offers besides its line items.
    link_page = staff_client.get(reverse("links:detail", args=[link.public_id])).text
    offered = link_page[link_page.index('id="optional-items-heading"') :]
    assert "Bulb" in offered and "3.00 EUR" in offered and "(adjustable)" in offered

    customer = visit(sandbox, link)
    assert "Add Bulb (3.00 EUR each)" in html.unescape(customer.page)
    paid(customer.submit({**CARD, f"optional_{bulb.stripe_id}": "3", "shown_total": "4900"}))

    order = fulfil(customer.session_id)
    lines = [(li.description, li.quantity, li.amount_total, li.optional) for li in order.line_items.all()]
    assert lines == [("Lamp", 1, 4000, False), ("Bulb", 3, 900, True)]
    assert "added by the customer" in order_page(staff_client, order)


def test_a_custom_fields_lengths_set_in_the_editor_hold_on_the_hosted_page(sandbox, staff_client):
    from catalog import services as catalog_services

    lamp = catalog_services.product_create_with_price(
        name="Lamp", currency="eur", unit_amount=4000, request_token="4" * 32
    ).prices.get()
    editor = {
        "name": "Lamp link",
        "notes": "",
        "request_token": "5" * 32,
        "line_items-TOTAL_FORMS": "1",
        "line_items-INITIAL_FORMS": "0",
        "line_items-0-price": lamp.stripe_id,
        "line_items-0-quantity": "1",
        "custom_fields-TOTAL_FORMS": "1",
        "custom_fields-INITIAL_FORMS": "0",
        "custom_fields-0-key": "member",
        "custom_fields-0-label": "Member number",
        "custom_fields-0-type": "numeric",
        "custom_fields-0-minimum_length": "4",
        "custom_fields-0-maximum_length": "6",
    }
    assert staff_client.post(reverse("links:create"), editor).status_code == 302
    customer = visit(sandbox, PaymentLink.objects.get())

    assert "custom_member" in field_errors(customer.submit({**CARD, "custom_member": "123"}))
    assert "custom_member" in field_errors(customer.submit({**CARD, "custom_member": "1234567"}))
    paid(customer.submit({**CARD, "custom_member": "12345"}))
    order = fulfil(customer.session_id)
    assert "12345" in order_page(staff_client, order)


# NAME COLLECTION -----------------------------------------------------------------------------------


def test_name_collection_asks_for_the_names_requires_the_required_one_and_reaches_the_order(
    sandbox, stripe_client, staff_client, lamp
):
    link = stripe_client.v1.payment_links.create(
        params={
            "line_items": [{"price": lamp.id, "quantity": 1}],
            "name_collection": {
                "individual": {"enabled": True},
                "business": {"enabled": True, "optional": True},
            },
        }
    )
    customer = visit(sandbox, link)
    assert 'name="individual_name"' in customer.page and 'name="business_name"' in customer.page

    missing = customer.submit(CARD)
    assert missing.status_code == 200
    assert field_errors(missing) == {"individual_name": "This field is required."}
    assert "Full name: This field is required." in error_summary(missing)

    paid(customer.submit({**CARD, "individual_name": "Ada King", "business_name": "Analytical Engines Ltd"}))
    session = stripe_client.v1.checkout.sessions.retrieve(customer.session_id)
    assert session.collected_information.individual_name == "Ada King"
    assert session.collected_information.business_name == "Analytical Engines Ltd"
    assert session.customer_details.individual_name == "Ada King"
    assert session.name_collection.business.optional is True

    order = fulfil(customer.session_id)
    assert (order.individual_name, order.business_name) == ("Ada King", "Analytical Engines Ltd")
    page = order_page(staff_client, order)
    assert "Ada King" in page and "Analytical Engines Ltd" in page


def test_an_optional_business_name_may_be_left_empty(sandbox, stripe_client, lamp):
    link = stripe_client.v1.payment_links.create(
        params={
            "line_items": [{"price": lamp.id, "quantity": 1}],
            "name_collection": {"business": {"enabled": True, "optional": True}},
        }
    )
    customer = visit(sandbox, link)
    paid(customer.submit(CARD))
    order = fulfil(customer.session_id)
    assert (order.individual_name, order.business_name) == ("", "")


# CUSTOMER CREATION ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("creation", "creates"), [("always", True), ("if_required", False)])
def test_customer_creation_always_makes_a_customer_for_a_one_time_payment(
    sandbox, stripe_client, staff_client, lamp, creation, creates
):
    link = stripe_client.v1.payment_links.create(
        params={"line_items": [{"price": lamp.id, "quantity": 1}], "customer_creation": creation}
    )
    customer = visit(sandbox, link)
    paid(customer.submit(CARD))
    session = stripe_client.v1.checkout.sessions.retrieve(customer.session_id)
    order = fulfil(customer.session_id)
    if not creates:
        assert session.customer is None and order.customer_id == ""
        return
    made = stripe_client.v1.customers.retrieve(session.customer)
    assert (made.email, made.name) == ("ada@example.com", "Ada Lovelace")
    assert stripe_client.v1.payment_intents.retrieve(session.payment_intent).customer == made.id
    assert order.customer_id == made.id
    assert made.id in order_page(staff_client, order)


# SUBSCRIPTIONS -------------------------------------------------------------------------------------


def test_payment_method_collection_if_required_asks_no_card_for_a_free_trial(
    sandbox, stripe_client, staff_client, monthly
):
    link = stripe_client.v1.payment_links.create(
        params={
            "line_items": [{"price": monthly.id, "quantity": 1}],
            "payment_method_collection": "if_required",
            "subscription_data": {
                "trial_period_days": 14,
                "trial_settings": {"end_behavior": {"missing_payment_method": "pause"}},
            },
        }
    )
    customer = visit(sandbox, link)
    assert 'name="card_number"' not in customer.page
    assert "14 days free" in customer.page
    assert total_due(customer.page) == ("Total due today", "0.00 EUR")
    # No card saved: no reuse agreement either.
    assert 'id="reuse-agreement"' not in customer.page
    paid(customer.submit({"email": "trial@example.com"}))

    session = stripe_client.v1.checkout.sessions.retrieve(customer.session_id)
    assert session.payment_status == "no_payment_required"
    subscription = stripe_client.v1.subscriptions.retrieve(session.subscription)
    assert subscription.status == "trialing"
    assert subscription.default_payment_method is None
    order = fulfil(customer.session_id)
    assert order.status == Order.Status.PAID
    assert (order.subscription_status, order.reuse_agreement) == ("trialing", "")

    # The trial ends without a payment method: end_behavior pauses the subscription, as Stripe does.
    stripe_client.raw_request("post", "/v1/test_helpers/sandbox_clock/advance", seconds=14 * DAY + 1)
    assert stripe_client.v1.subscriptions.retrieve(subscription.id).status == "paused"
    fulfilment.subscription_sync(subscription_id=subscription.id)
    order.refresh_from_db()
    assert order.subscription_status == "paused"


def test_a_free_trial_shows_charges_and_records_what_is_due_today(sandbox, stripe_client, monthly):
    stripe_link = stripe_client.v1.payment_links.create(
        params={
            "line_items": [{"price": monthly.id, "quantity": 2}],
            "subscription_data": {"trial_period_days": 14},
        }
    )
    link = dashboard_link(stripe_link)
    customer = visit(sandbox, stripe_link)
    # As on Stripe's page: the free days, the price after them, and nothing due today.
    assert "14 days free" in customer.page
    assert "Then 18.00 EUR per month after the trial" in customer.page
    assert total_due(customer.page) == ("Total due today", "0.00 EUR")
    assert re.search(r'<dd id="total" tabindex="-1">0.00 EUR</dd>', customer.page)
    paid(customer.submit({**CARD, "shown_total": "0"}))

    session = stripe_client.v1.checkout.sessions.retrieve(
        customer.session_id, params={"expand": ["line_items"]}
    )
    assert (session.amount_subtotal, session.amount_total, session.payment_status) == (
        0,
        0,
        "no_payment_required",
    )
    assert [(item.amount_subtotal, item.amount_total) for item in session.line_items.data] == [(0, 0)]
    assert stripe_client.v1.invoices.retrieve(session.invoice).amount_paid == 0
    order = fulfil(customer.session_id)
    assert (order.status, order.amount_subtotal, order.amount_total) == (Order.Status.PAID, 0, 0)
    assert list(order.line_items.values_list("quantity", "amount_total")) == [(2, 0)]
    # Nothing was paid: the trial adds nothing to the link's revenue or to the home page's total.
    link.refresh_from_db()
    assert (link.orders_count, link.revenue) == (1, 0)
    assert [row["total"] for row in link_totals()["orders_paid"]] == [0]

    # The trial ends: the first period is billed at the full price.
    stripe_client.raw_request("post", "/v1/test_helpers/sandbox_clock/advance", seconds=14 * DAY + 1)
    subscription = stripe_client.v1.subscriptions.retrieve(
        session.subscription, params={"expand": ["latest_invoice"]}
    )
    assert (subscription.status, subscription.latest_invoice.amount_paid) == ("active", 1800)


def test_a_trial_with_a_one_time_item_charges_the_item_today(sandbox, stripe_client, monthly, lamp):
    stripe_link = stripe_client.v1.payment_links.create(
        params={
            "line_items": [{"price": monthly.id, "quantity": 1}, {"price": lamp.id, "quantity": 1}],
            "payment_method_collection": "if_required",
            "subscription_data": {"trial_period_days": 7},
        }
    )
    link = dashboard_link(stripe_link)
    customer = visit(sandbox, stripe_link)
    assert "Then 9.00 EUR per month after the trial" in customer.page
    assert total_due(customer.page) == ("Total due today", "40.00 EUR")
    # Something is due today: the card is asked for even with payment_method_collection=if_required.
    assert 'name="card_number"' in customer.page
    paid(customer.submit({**CARD, "shown_total": "4000"}))

    session = stripe_client.v1.checkout.sessions.retrieve(customer.session_id)
    assert (session.amount_total, session.payment_status) == (4000, "paid")
    assert stripe_client.v1.invoices.retrieve(session.invoice).amount_paid == 4000
    assert stripe_client.v1.subscriptions.retrieve(session.subscription).status == "trialing"
    order = fulfil(customer.session_id)
    assert order.amount_total == 4000
    link.refresh_from_db()
    assert link.revenue == 4000


def test_with_payment_method_collection_always_a_trial_still_asks_for_the_card(
    sandbox, stripe_client, monthly
):
    link = stripe_client.v1.payment_links.create(
        params={
            "line_items": [{"price": monthly.id, "quantity": 1}],
            "subscription_data": {"trial_period_days": 14},
        }
    )
    customer = visit(sandbox, link)
    assert 'name="card_number"' in customer.page
    assert 'id="reuse-agreement"' in customer.page
    refused = customer.submit({"email": "trial@example.com"})
    assert field_errors(refused)["card_number"] == "This field is required."
    paid(customer.submit(CARD))
    session = stripe_client.v1.checkout.sessions.retrieve(customer.session_id)
    subscription = stripe_client.v1.subscriptions.retrieve(session.subscription)
    assert subscription.default_payment_method.startswith("pm_")
    assert fulfil(customer.session_id).reuse_agreement == "shown"


def test_subscription_data_reaches_the_subscription_and_its_invoice(sandbox, stripe_client, monthly):
    issuer = stripe_client.v1.accounts.create(params={"type": "express", "email": "issuer@example.com"})
    link = stripe_client.v1.payment_links.create(
        params={
            "line_items": [{"price": monthly.id, "quantity": 1}],
            "subscription_data": {
                "invoice_settings": {"issuer": {"type": "account", "account": issuer.id}},
                "metadata": {"plan": "pro"},
                "trial_settings": {"end_behavior": {"missing_payment_method": "cancel"}},
            },
        }
    )
    customer = visit(sandbox, link)
    paid(customer.submit(CARD))
    session = stripe_client.v1.checkout.sessions.retrieve(customer.session_id)
    subscription = stripe_client.v1.subscriptions.retrieve(session.subscription)
    assert subscription.invoice_settings.issuer.to_dict() == {"type": "account", "account": issuer.id}
    assert subscription.metadata.to_dict() == {"plan": "pro"}
    assert subscription.trial_settings.end_behavior.missing_payment_method == "cancel"
    invoice = stripe_client.v1.invoices.retrieve(session.invoice)
    assert invoice.issuer.to_dict() == {"type": "account", "account": issuer.id}
    assert invoice.parent.subscription_details.metadata.to_dict() == {"plan": "pro"}
    order = fulfil(customer.session_id)
    assert (order.subscription_id, order.subscription_status) == (subscription.id, "active")


@pytest.mark.parametrize(("position", "shown"), [("auto", True), ("hidden", False)])
def test_reuse_agreement_position_shows_or_hides_the_text(
    sandbox, stripe_client, staff_client, monthly, position, shown
):
    link = stripe_client.v1.payment_links.create(
        params={
            "line_items": [{"price": monthly.id, "quantity": 1}],
            "consent_collection": {"payment_method_reuse_agreement": {"position": position}},
        }
    )
    customer = visit(sandbox, link)
    assert ('id="reuse-agreement"' in customer.page) is shown
    paid(customer.submit(CARD))
    session = stripe_client.v1.checkout.sessions.retrieve(customer.session_id)
    assert session.consent_collection.payment_method_reuse_agreement.position == position
    order = fulfil(customer.session_id)
    assert order.reuse_agreement == ("shown" if shown else "hidden")
    expected = "the customer was shown the reuse agreement" if shown else "the reuse agreement was not shown"
    assert expected in order_page(staff_client, order)


# TAX -----------------------------------------------------------------------------------------------


def test_tax_id_required_if_supported_for_a_business_purchase(sandbox, stripe_client, staff_client, lamp):
    link = stripe_client.v1.payment_links.create(
        params={
            "line_items": [{"price": lamp.id, "quantity": 1}],
            "tax_id_collection": {"enabled": True, "required": "if_supported"},
        }
    )
    customer = visit(sandbox, link)
    assert (
        "I&#x27;m purchasing as a business" in customer.page
        or "I'm purchasing as a business" in customer.page
    )

    refused = customer.submit({**CARD, "business_purchase": "on"})
    assert field_errors(refused) == {
        "business_name": "This field is required.",
        "tax_id_value": "This field is required.",
    }
    assert "Tax ID: This field is required." in error_summary(refused)
    paid(
        customer.submit(
            {
                **CARD,
                "business_purchase": "on",
                "business_name": "Lune SARL",
                "tax_id_type": "eu_vat",
                "tax_id_value": "FR12345678901",
            }
        )
    )
    session = stripe_client.v1.checkout.sessions.retrieve(customer.session_id)
    assert [t.to_dict() for t in session.customer_details.tax_ids] == [
        {"type": "eu_vat", "value": "FR12345678901"}
    ]
    assert session.customer_details.business_name == "Lune SARL"
    order = fulfil(customer.session_id)
    assert order.customer_tax_ids == [{"type": "eu_vat", "value": "FR12345678901"}]
    assert order.business_name == "Lune SARL"
    page = order_page(staff_client, order)
    assert "FR12345678901" in page and "Lune SARL" in page


def test_a_customer_not_buying_as_a_business_gives_no_tax_id(sandbox, stripe_client, lamp):
    link = stripe_client.v1.payment_links.create(
        params={
            "line_items": [{"price": lamp.id, "quantity": 1}],
            "tax_id_collection": {"enabled": True, "required": "if_supported"},
        }
    )
    customer = visit(sandbox, link)
    paid(customer.submit(CARD))
    order = fulfil(customer.session_id)
    assert (order.customer_tax_ids, order.business_name) == ([], "")


def test_a_tax_id_typed_then_hidden_by_unticking_the_business_box_is_not_recorded(
    sandbox, stripe_client, staff_client, lamp
):
    link = stripe_client.v1.payment_links.create(
        params={
            "line_items": [{"price": lamp.id, "quantity": 1}],
            "tax_id_collection": {"enabled": True, "required": "if_supported"},
        }
    )
    customer = visit(sandbox, link)
    # Typed with the box ticked, then the box unticked: the fields are hidden, still in the POST. An
    # over-long tax ID, hidden, is not refused either.
    typed = {"business_name": "Lune SARL", "tax_id_type": "eu_vat", "tax_id_value": "FR" + "1" * 120}
    paid(customer.submit({**CARD, **typed}))
    session = stripe_client.v1.checkout.sessions.retrieve(customer.session_id)
    assert (session.customer_details.tax_ids, session.customer_details.business_name) == ([], None)
    assert session.collected_information is None
    order = fulfil(customer.session_id)
    assert (order.customer_tax_ids, order.business_name, order.customer_name) == ([], "", "Ada Lovelace")
    assert "Lune SARL" not in order_page(staff_client, order)


def test_automatic_tax_liability_reaches_the_session_and_the_invoice(sandbox, stripe_client, lamp):
    account = stripe_client.v1.accounts.create(params={"type": "express", "email": "liable@example.com"})
    link = stripe_client.v1.payment_links.create(
        params={
            "line_items": [{"price": lamp.id, "quantity": 1}],
            "automatic_tax": {"enabled": True, "liability": {"type": "account", "account": account.id}},
            "invoice_creation": {"enabled": True},
        }
    )
    customer = visit(sandbox, link)
    billing = {
        "billing_line1": "1 rue A",
        "billing_city": "Paris",
        "billing_postal_code": "75001",
        "billing_country": "FR",
    }
    paid(customer.submit({**CARD, **billing}))
    session = stripe_client.v1.checkout.sessions.retrieve(customer.session_id)
    liability = {"type": "account", "account": account.id}
    assert session.automatic_tax.liability.to_dict() == liability
    invoice = stripe_client.v1.invoices.retrieve(session.invoice)
    assert invoice.automatic_tax.enabled is True
    assert invoice.automatic_tax.liability.to_dict() == liability
    order = fulfil(customer.session_id)
    assert order.amount_tax == 800


# CUSTOM FIELDS AND CONNECT -------------------------------------------------------------------------


def test_custom_field_lengths_are_enforced_at_the_field(sandbox, stripe_client, staff_client, lamp):
    link = stripe_client.v1.payment_links.create(
        params={
            "line_items": [{"price": lamp.id, "quantity": 1}],
            "custom_fields": [
                {
                    "key": "engraving",
                    "label": {"type": "custom", "custom": "Engraving"},
                    "type": "text",
                    "text": {"minimum_length": 3, "maximum_length": 8},
                },
                {
                    "key": "customerno",
                    "label": {"type": "custom", "custom": "Customer number"},
                    "type": "numeric",
                    "numeric": {"minimum_length": 4, "maximum_length": 6},
                },
            ],
        }
    )
    customer = visit(sandbox, link)
    short = customer.submit({**CARD, "custom_engraving": "Al", "custom_customerno": "123"})
    errors = field_errors(short)
    assert errors["custom_engraving"] == "Ensure this value has at least 3 characters (it has 2)."
    assert errors["custom_customerno"] == "Enter at least 4 digits."
    long = customer.submit({**CARD, "custom_engraving": "Ada Lovelace", "custom_customerno": "1234567"})
    errors = field_errors(long)
    assert errors["custom_engraving"] == "Ensure this value has at most 8 characters (it has 12)."
    assert errors["custom_customerno"] == "Enter at most 6 digits."
    assert "Customer number: Enter at most 6 digits." in error_summary(long)

    paid(customer.submit({**CARD, "custom_engraving": "For Ada", "custom_customerno": "12345"}))
    order = fulfil(customer.session_id)
    assert [(f["key"], f["value"]) for f in order.custom_fields] == [
        ("engraving", "For Ada"),
        ("customerno", "12345"),
    ]
    assert "For Ada" in order_page(staff_client, order)


def test_transfer_data_amount_reaches_the_payment_intent(sandbox, stripe_client, lamp):
    seller = stripe_client.v1.accounts.create(params={"type": "express", "email": "seller@example.com"})
    link = stripe_client.v1.payment_links.create(
        params={
            "line_items": [{"price": lamp.id, "quantity": 1}],
            "transfer_data": {"destination": seller.id, "amount": 3000},
        }
    )
    customer = visit(sandbox, link)
    paid(customer.submit(CARD))
    session = stripe_client.v1.checkout.sessions.retrieve(customer.session_id)
    intent = stripe_client.v1.payment_intents.retrieve(session.payment_intent)
    assert (intent.transfer_data.amount, intent.transfer_data.destination) == (3000, seller.id)
    assert fulfil(customer.session_id).status == Order.Status.PAID
