"""A catalog event whose object Paylinks cannot store fails for good, with the reason: the same validation
as the sync from Stripe, no 500, no retries, the row left as it was."""

from __future__ import annotations

import pytest

from catalog.models import Price, Product
from catalog.services import StripeObjectInvalid, product_fields_from_stripe
from links.models import PaymentLink
from tests.webhooks.conftest import store
from webhooks.models import WebhookEvent
from webhooks.processing import webhook_events_requeue
from webhooks.tasks import process_webhook_event, process_webhook_events

pytestmark = pytest.mark.django_db


def _product_event(name: str):
    return store("product.updated", {"id": "prod_v", "object": "product", "name": name, "active": True})


def test_product_event_with_a_name_too_long_fails_without_retries():
    product = Product.objects.create(stripe_id="prod_v", name="Mug")
    event = _product_event("x" * 300)
    assert process_webhook_event(event.id) == WebhookEvent.Status.FAILED
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.FAILED and event.next_attempt_at is None
    assert event.last_error.startswith("prod_v was not stored: name: ")
    product.refresh_from_db()
    assert product.name == "Mug"  # not cut to 250 characters, as the handler used to
    assert webhook_events_requeue() == 0


def test_the_handler_refuses_what_the_sync_refuses():
    Product.objects.create(stripe_id="prod_v", name="Mug")
    with pytest.raises(StripeObjectInvalid) as refused:
        product_fields_from_stripe({"id": "prod_v", "name": "x" * 300})
    event = _product_event("x" * 300)
    process_webhook_event(event.id)
    event.refresh_from_db()
    assert refused.value.reason in event.last_error


def test_price_event_with_a_bad_mutable_field_fails():
    product = Product.objects.create(stripe_id="prod_p", name="P")
    Price.objects.create(product=product, stripe_id="price_v", currency="eur", unit_amount=100)
    event = store("price.updated", {"id": "price_v", "object": "price", "tax_behavior": "sometimes"})
    assert process_webhook_event(event.id) == WebhookEvent.Status.FAILED
    event.refresh_from_db()
    assert "price_v" in event.last_error and "tax behaviour" in event.last_error
    assert Price.objects.get().tax_behavior == Price.TaxBehavior.UNSPECIFIED


def test_link_event_with_a_url_that_is_not_one_fails_and_keeps_the_link():
    link = PaymentLink.objects.create(
        stripe_id="plink_v", name="L", url="http://example.com/a", currency="eur"
    )
    event = store("payment_link.updated", {"id": "plink_v", "active": False, "url": "not a URL"})
    assert process_webhook_event(event.id) == WebhookEvent.Status.FAILED
    link.refresh_from_db()
    assert (link.active, link.url) == (True, "http://example.com/a")


def test_a_batch_goes_on_past_an_invalid_object():
    Product.objects.create(stripe_id="prod_v", name="Mug")
    bad, good = _product_event("x" * 300), _product_event("Cup")
    process_webhook_events([bad.id, good.id])
    assert dict(WebhookEvent.objects.values_list("id", "status")) == {
        bad.id: WebhookEvent.Status.FAILED,
        good.id: WebhookEvent.Status.PROCESSED,
    }
    assert Product.objects.get().name == "Cup"
