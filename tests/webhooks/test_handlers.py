"""Handlers for billing and catalog events: current state from the API, newest event wins."""

from __future__ import annotations

from unittest import mock

import pytest
import stripe

from catalog.models import Price, Product
from links import fulfilment
from links.models import Order, OutboundEmail, PaymentLink
from tests.webhooks.conftest import store
from tests.webhooks.stripe_objects import checkout_session, line_item
from webhooks.models import WebhookEvent
from webhooks.tasks import process_webhook_event

pytestmark = pytest.mark.django_db


def _stripe_object(data: dict):
    obj = mock.Mock()
    obj.to_dict.return_value = data
    return obj


@pytest.fixture
def stripe_api():
    api = mock.Mock()
    with mock.patch("links.fulfilment.get_stripe_client", return_value=api):
        yield api


@pytest.fixture
def subscription_order(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        return fulfilment.order_record_session(
            session=checkout_session(mode="subscription", subscription="sub_1"),
            line_items=[line_item()],
            actor="t",
        )


def test_subscription_status_comes_from_the_api(stripe_api, subscription_order):
    # The event says "incomplete" but it is old: Stripe now says active.
    stripe_api.v1.subscriptions.retrieve.return_value = _stripe_object({"id": "sub_1", "status": "active"})
    event = store(
        "customer.subscription.updated", {"id": "sub_1", "object": "subscription", "status": "incomplete"}
    )
    assert process_webhook_event(event.id) == WebhookEvent.Status.PROCESSED
    subscription_order.refresh_from_db()
    assert subscription_order.subscription_status == "active"


def test_deleted_subscription_falls_back_to_the_event(stripe_api, subscription_order):
    stripe_api.v1.subscriptions.retrieve.side_effect = stripe.InvalidRequestError(
        "No such subscription", "id"
    )
    event = store(
        "customer.subscription.deleted", {"id": "sub_1", "object": "subscription", "status": "canceled"}
    )
    process_webhook_event(event.id)
    subscription_order.refresh_from_db()
    assert subscription_order.subscription_status == "canceled"


def test_subscription_event_before_the_order_is_not_an_error(stripe_api):
    stripe_api.v1.subscriptions.retrieve.return_value = _stripe_object({"id": "sub_9", "status": "active"})
    event = store("customer.subscription.created", {"id": "sub_9", "object": "subscription"})
    assert process_webhook_event(event.id) == WebhookEvent.Status.PROCESSED
    assert not Order.objects.exists()


def test_invoice_paid_queues_one_invoice_email(
    stripe_api, subscription_order, django_capture_on_commit_callbacks
):
    stripe_api.v1.invoices.retrieve.return_value = _stripe_object(
        {"id": "in_1", "status": "paid", "parent": {"subscription_details": {"subscription": "sub_1"}}}
    )
    first = store("invoice.paid", {"id": "in_1", "object": "invoice"})
    second = store("invoice.paid", {"id": "in_1", "object": "invoice"})
    with django_capture_on_commit_callbacks():
        process_webhook_event(first.id)
        process_webhook_event(second.id)
    subscription_order.refresh_from_db()
    assert subscription_order.invoice_id == "in_1"
    assert subscription_order.emails.filter(kind=OutboundEmail.Kind.INVOICE).count() == 1


def test_each_renewal_invoice_gets_its_own_email_once(
    stripe_api, subscription_order, django_capture_on_commit_callbacks
):
    invoices = {
        invoice_id: _stripe_object(
            {
                "id": invoice_id,
                "status": "paid",
                "parent": {"subscription_details": {"subscription": "sub_1"}},
            }
        )
        for invoice_id in ("in_first", "in_renewal")
    }
    stripe_api.v1.invoices.retrieve.side_effect = invoices.__getitem__
    events = [store("invoice.paid", {"id": invoice_id, "object": "invoice"}) for invoice_id in invoices]
    events.append(store("invoice.paid", {"id": "in_renewal", "object": "invoice"}))  # redelivered
    with django_capture_on_commit_callbacks():
        for event in events:
            assert process_webhook_event(event.id) == WebhookEvent.Status.PROCESSED
    subscription_order.refresh_from_db()
    assert subscription_order.invoice_id == "in_first"  # the order's own invoice stays the first
    invoice_emails = subscription_order.emails.filter(kind=OutboundEmail.Kind.INVOICE)
    assert sorted(invoice_emails.values_list("stripe_object_id", flat=True)) == ["in_first", "in_renewal"]


def test_price_and_link_events_update_known_rows():
    product = Product.objects.create(stripe_id="prod_h", name="P")
    price = Price.objects.create(product=product, stripe_id="price_h", currency="eur", unit_amount=100)
    link = PaymentLink.objects.create(
        stripe_id="plink_h", name="L", url="http://example.com/a", currency="eur"
    )
    for event in (
        store("price.updated", {"id": "price_h", "object": "price", "active": False, "nickname": "Old"}),
        store(
            "payment_link.updated",
            {"id": "plink_h", "object": "payment_link", "active": False, "url": "http://example.com/b"},
        ),
    ):
        assert process_webhook_event(event.id) == WebhookEvent.Status.PROCESSED
    price.refresh_from_db()
    link.refresh_from_db()
    assert (price.active, price.nickname) == (False, "Old")
    assert (link.active, link.url) == (False, "http://example.com/b")


def test_older_link_event_does_not_reactivate(db):
    link = PaymentLink.objects.create(
        stripe_id="plink_o", name="L", url="http://example.com/a", currency="eur"
    )
    newer = store("payment_link.updated", {"id": "plink_o", "active": False}, created=2000)
    older = store("payment_link.updated", {"id": "plink_o", "active": True}, created=1000)
    process_webhook_event(newer.id)
    process_webhook_event(older.id)
    link.refresh_from_db()
    assert link.active is False


def test_product_deleted_deactivates():
    product = Product.objects.create(stripe_id="prod_d", name="P")
    process_webhook_event(store("product.deleted", {"id": "prod_d", "object": "product", "deleted": True}).id)
    product.refresh_from_db()
    assert product.active is False
