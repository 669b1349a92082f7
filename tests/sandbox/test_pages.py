"""The sandbox's developer pages: events with deliveries and resend; staff only."""

from __future__ import annotations

import pytest

from sandbox import delivery
from sandbox.models import WebhookDelivery

pytestmark = pytest.mark.django_db


def test_anonymous_is_sent_to_login(client):
    response = client.get("/sandbox/events/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_non_staff_is_refused(client, other_user):
    client.force_login(other_user)
    assert client.get("/sandbox/events/").status_code == 403


def test_staff_sees_events_and_deliveries(staff_client, api, receiver):
    api.ok("post", "webhook_endpoints", {"url": receiver.url, "enabled_events": ["product.created"]})
    api.ok("post", "products", {"name": "Lamp"})
    delivery.delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk)
    response = staff_client.get("/sandbox/events/")
    assert response.status_code == 200
    assert b"product.created" in response.content
    assert b"HTTP 200" in response.content


def test_resend_sends_the_event_again(staff_client, api, receiver, django_capture_on_commit_callbacks):
    api.ok("post", "webhook_endpoints", {"url": receiver.url, "enabled_events": ["product.created"]})
    api.ok("post", "products", {"name": "Lamp"})
    row = WebhookDelivery.objects.get()
    delivery.delivery_attempt(delivery_id=row.pk)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = staff_client.post(f"/sandbox/deliveries/{row.pk}/resend")
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.status == WebhookDelivery.Status.PENDING
    assert len(callbacks) == 1
    delivery.delivery_attempt(delivery_id=row.pk)
    assert len(receiver.requests) == 2
    assert receiver.events()[0]["id"] == receiver.events()[1]["id"]


def test_clock_form_advances_the_clock(staff_client, api):
    before = api.ok("get", "test_helpers/sandbox_clock")["now"]
    staff_client.post("/sandbox/clock/advance", {"seconds": 3600})
    assert api.ok("get", "test_helpers/sandbox_clock")["now"] >= before + 3600
