"""Fault injection (SANDBOX_FAULTS): API errors and delays, dropped, duplicated and delayed deliveries."""

from __future__ import annotations

import time

import pytest
import stripe

from sandbox import delivery, faults
from sandbox.models import WebhookDelivery

pytestmark = pytest.mark.django_db


def test_parse_spec():
    parsed = faults.parse("api_500=0.1, api_delay=0.5:2.5,webhook_drop=1")
    assert parsed["api_500"].rate == 0.1
    assert (parsed["api_delay"].rate, parsed["api_delay"].seconds) == (0.5, 2.5)
    assert parsed["webhook_drop"].rate == 1


def test_no_faults_by_default(api):
    assert all(api.get("products").status_code == 200 for _ in range(20))


def test_api_500(api, settings):
    settings.SANDBOX_FAULTS = "api_500=1"
    response = api.get("products")
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "api_error"


def test_api_429(api, settings):
    settings.SANDBOX_FAULTS = "api_429=1"
    response = api.post("products", {"name": "x"})
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limit"


def test_api_delay(api, settings):
    settings.SANDBOX_FAULTS = "api_delay=1:0.3"
    started = time.monotonic()
    api.get("products")
    assert time.monotonic() - started >= 0.3


@pytest.mark.django_db(transaction=True)
def test_sdk_sees_injected_500_after_its_retries(stripe_client, settings):
    settings.SANDBOX_FAULTS = "api_500=1"
    with pytest.raises(stripe.APIError):
        stripe_client.v1.products.list()


def _one_delivery(api, receiver) -> WebhookDelivery:
    api.ok("post", "webhook_endpoints", {"url": receiver.url, "enabled_events": ["product.created"]})
    api.ok("post", "products", {"name": "Lamp"})
    return WebhookDelivery.objects.get()


def test_webhook_drop(api, receiver, settings):
    row = _one_delivery(api, receiver)
    settings.SANDBOX_FAULTS = "webhook_drop=1"
    assert delivery.delivery_attempt(delivery_id=row.pk) is not None
    assert receiver.requests == []
    assert "SANDBOX_FAULTS" in row.attempt_rows.get().error


def test_webhook_duplicate(api, receiver, settings):
    row = _one_delivery(api, receiver)
    settings.SANDBOX_FAULTS = "webhook_duplicate=1"
    delivery.delivery_attempt(delivery_id=row.pk)
    assert len(receiver.requests) == 2
    assert receiver.events()[0]["id"] == receiver.events()[1]["id"]


def test_webhook_delay(api, receiver, settings):
    row = _one_delivery(api, receiver)
    settings.SANDBOX_FAULTS = "webhook_delay=1:0.3"
    started = time.monotonic()
    delivery.delivery_attempt(delivery_id=row.pk)
    assert time.monotonic() - started >= 0.3
    assert len(receiver.requests) == 1
