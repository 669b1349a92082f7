"""The event log: staff only, filters, the payload viewer, replay."""

from __future__ import annotations

from unittest import mock

import pytest
from django.urls import reverse

from tests.webhooks.conftest import make_event
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    data = make_event("checkout.session.completed")
    return WebhookEvent.objects.create(
        stripe_event_id=data["id"],
        type=data["type"],
        created=data["created"],
        payload=data,
        status=WebhookEvent.Status.FAILED,
        attempts=3,
        last_error="RuntimeError: boom",
    )


def _pages(event):
    return [reverse("webhooks:event-list"), reverse("webhooks:event-detail", args=[event.stripe_event_id])]


def test_anonymous_is_sent_to_login(client, event):
    for url in _pages(event):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_non_staff_is_forbidden(client, other_user, event):
    client.force_login(other_user)
    for url in _pages(event):
        assert client.get(url).status_code == 403
    assert client.post(reverse("webhooks:event-replay", args=[event.stripe_event_id])).status_code == 403


def test_staff_sees_the_list(staff_client, event):
    response = staff_client.get(reverse("webhooks:event-list"))
    assert response.status_code == 200
    assert event.stripe_event_id in response.text
    assert "RuntimeError: boom" in response.text


def test_list_queries_do_not_grow_with_events(staff_client, event):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        staff_client.get(reverse("webhooks:event-list"))
    for _ in range(5):
        data = make_event("product.updated", {"id": "prod_x"})
        WebhookEvent.objects.create(stripe_event_id=data["id"], type=data["type"], created=1, payload=data)
    with CaptureQueriesContext(connection) as six:
        staff_client.get(reverse("webhooks:event-list"))
    assert len(six) == len(one)


def test_list_filters_by_status(staff_client, event):
    response = staff_client.get(reverse("webhooks:event-list"), {"status": "processed"})
    assert event.stripe_event_id not in response.text
    response = staff_client.get(reverse("webhooks:event-list"), {"status": "failed", "type": event.type})
    assert event.stripe_event_id in response.text


def test_htmx_gets_only_the_table(staff_client, event):
    response = staff_client.get(reverse("webhooks:event-list"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'id="event-table"' in response.text


def test_staff_sees_the_payload(staff_client, event):
    response = staff_client.get(reverse("webhooks:event-detail", args=[event.stripe_event_id]))
    assert response.status_code == 200
    assert "&quot;checkout.session.completed&quot;" in response.text


def test_unknown_event_is_404(staff_client):
    assert staff_client.get(reverse("webhooks:event-detail", args=["evt_nope"])).status_code == 404


def test_replay(staff_client, event, django_capture_on_commit_callbacks):
    with mock.patch("webhooks.tasks.process_webhook_event.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            response = staff_client.post(reverse("webhooks:event-replay", args=[event.stripe_event_id]))
    assert response.status_code == 302
    delay.assert_called_once_with(event.id)
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.PENDING


def test_list_pages(staff_client):
    for i in range(55):
        data = make_event("product.updated", {"id": f"prod_{i}"})
        WebhookEvent.objects.create(stripe_event_id=data["id"], type=data["type"], created=1, payload=data)
    response = staff_client.get(reverse("webhooks:event-list"))
    assert "Page 1 of 2" in response.text
    assert staff_client.get(reverse("webhooks:event-list"), {"page": 2}).status_code == 200


def test_status_counts_are_exact_below_the_cap_and_capped_above(staff_client, event, monkeypatch):
    monkeypatch.setattr("webhooks.views.COUNT_CAP", 2)
    for _ in range(3):
        data = make_event("product.updated", {"id": "prod_x"})
        WebhookEvent.objects.create(
            stripe_event_id=data["id"], type=data["type"], created=1, payload=data, status="processed"
        )
    response = staff_client.get(reverse("webhooks:event-list"))
    assert "Processed: 2+" in response.text
    assert "Failed: 1<" in response.text
    assert "Pending: 0<" in response.text
