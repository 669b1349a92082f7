"""Coupons' and promotion codes' redemption counts stay current after a checkout redeems a code: the
sandbox sends ``promotion_code.updated`` as Stripe does, and its handler re-fetches the code with its
coupon (issue 26: "Redeemed 0" after redemptions)."""

from __future__ import annotations

import re

import pytest
import requests
from django.urls import reverse

from catalog.models import Coupon, PromotionCode
from catalog.services import coupon_create, product_create_with_price, promotion_code_create
from links.services import payment_link_create
from sandbox.delivery import delivery_attempt
from sandbox.models import WebhookDelivery as SandboxDelivery
from webhooks.endpoints import webhook_endpoint_register
from webhooks.models import WebhookEvent
from webhooks.receiving import webhook_secrets_invalidate
from webhooks.tasks import process_webhook_event

pytestmark = pytest.mark.django_db(transaction=True)

CARD = {
    "card_number": "4242424242424242",
    "card_expiry": "12/34",
    "card_cvc": "123",
    "cardholder_name": "Ada",
}


def _pay(base_url: str, url: str, **fields) -> None:
    browser = requests.Session()
    page = browser.get(url, timeout=20).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    action = re.search(r'<form method="post" action="([^"]+)"', page).group(1)
    paid = browser.post(
        base_url + action,
        data={"csrfmiddlewaretoken": token, **CARD, **fields},
        headers={"Referer": url},
        allow_redirects=False,
        timeout=30,
    )
    assert paid.status_code == 302, paid.text


def _deliver_and_process(event_type: str) -> list[WebhookEvent]:
    """The sandbox's deliveries of ``event_type`` (its worker's job), then our worker's processing."""
    for delivery in SandboxDelivery.objects.filter(event_id__in=_sandbox_event_ids(event_type)):
        delivery_attempt(delivery_id=delivery.pk)
    events = list(WebhookEvent.objects.filter(type=event_type).order_by("id"))
    for event in events:
        process_webhook_event(event.id)
        event.refresh_from_db()
    return events


def _sandbox_event_ids(event_type: str) -> list[str]:
    from sandbox.models import ApiObject

    return list(ApiObject.objects.filter(type="event", key=event_type).values_list("stripe_id", flat=True))


def test_a_paid_checkout_with_a_promotion_code_counts_on_the_code_and_its_coupon(
    sandbox, stripe_client, settings, staff_client
):
    settings.STRIPE_WEBHOOK_SECRETS = []
    webhook_secrets_invalidate()
    endpoint = webhook_endpoint_register(url=f"{sandbox.base_url}/webhooks/stripe/")
    assert "promotion_code.updated" in endpoint.enabled_events
    product = product_create_with_price(
        name="Poster", currency="eur", unit_amount=2000, request_token="p" * 32
    )
    coupon = coupon_create(name="Spring sale", percent_off=10, request_token="c" * 32)
    code = promotion_code_create(coupon=coupon, code="SPRING", request_token="s" * 32)
    link = payment_link_create(
        name="Poster",
        line_items=[{"price": product.prices.get(), "quantity": 1}],
        options={"allow_promotion_codes": True},
        request_token="l" * 32,
    )

    _pay(sandbox.base_url, link.url, email="ann@example.com", promotion_code="SPRING")
    _pay(sandbox.base_url, link.url, email="bob@example.com", promotion_code="spring")
    _pay(sandbox.base_url, link.url, email="cy@example.com")  # no code: counts nowhere

    events = _deliver_and_process("promotion_code.updated")
    assert len(events) == 2
    assert [(e.status, e.last_error) for e in events] == [(WebhookEvent.Status.PROCESSED, "")] * 2
    # In whatever order they arrive, each says the count it moved from.
    previous = sorted(e.payload["data"]["previous_attributes"]["times_redeemed"] for e in events)
    assert previous == [0, 1]
    assert PromotionCode.objects.get(pk=code.pk).times_redeemed == 2
    assert Coupon.objects.get(pk=coupon.pk).times_redeemed == 2
    # What staff read.
    coupons = staff_client.get(reverse("catalog:coupon-list"))
    assert [c.times_redeemed for c in coupons.context["page"].object_list] == [2]
    codes = staff_client.get(reverse("catalog:coupon-detail", args=[coupon.stripe_id]))
    assert [c.times_redeemed for c in codes.context["codes"]] == [2]


def test_an_event_about_a_code_paylinks_does_not_have_changes_nothing(sandbox, stripe_client, settings):
    from tests.webhooks.conftest import make_event

    stripe_coupon = stripe_client.v1.coupons.create(params={"percent_off": 5, "duration": "once"})
    stripe_code = stripe_client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": stripe_coupon.id}, "code": "ELSEWHERE"}
    )
    event = WebhookEvent.objects.create(
        stripe_event_id="evt_elsewhere",
        type="promotion_code.updated",
        created=1,
        object_id=stripe_code.id,
        payload=make_event("promotion_code.updated", {"id": stripe_code.id, "object": "promotion_code"}),
    )
    assert process_webhook_event(event.id) == WebhookEvent.Status.PROCESSED
    assert not PromotionCode.objects.exists() and not Coupon.objects.exists()


def test_coupon_updated_refetches_the_coupon(sandbox, stripe_client):
    from sandbox.models import ApiObject
    from tests.webhooks.conftest import make_event

    coupon = coupon_create(name="Autumn", percent_off=15, request_token="a" * 32)
    # Redeemed elsewhere (a subscription in Stripe's Dashboard, say): the count moved in Stripe.
    stored = ApiObject.objects.get(type="coupon", stripe_id=coupon.stripe_id)
    stored.data["times_redeemed"] = 7
    stored.save(update_fields=["data"])
    # An older payload (0 redemptions) in the event: the handler reads Stripe's current object instead.
    payload = make_event("coupon.updated", {"id": coupon.stripe_id, "object": "coupon", "times_redeemed": 0})
    event = WebhookEvent.objects.create(
        stripe_event_id=payload["id"],
        type="coupon.updated",
        created=payload["created"],
        object_id=coupon.stripe_id,
        payload=payload,
    )
    assert process_webhook_event(event.id) == WebhookEvent.Status.PROCESSED
    assert Coupon.objects.get(pk=coupon.pk).times_redeemed == 7
