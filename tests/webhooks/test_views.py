from __future__ import annotations

import json
import logging
import time
from unittest import mock

import pytest
from django.db import connection
from django.urls import reverse

from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db


def _nothing_stored() -> bool:
    return not WebhookEvent.objects.exists() and not WebhookDelivery.objects.exists()


def test_url_name():
    assert reverse("webhooks:stripe") == "/webhooks/stripe/"


def test_signed_event_is_stored_and_answered_200(
    post_event, stripe_event, django_capture_on_commit_callbacks
):
    event = stripe_event()
    with mock.patch("webhooks.tasks.process_webhook_event.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = post_event(event)
    assert response.status_code == 200
    stored = WebhookEvent.objects.get()
    assert stored.stripe_event_id == event["id"]
    assert stored.type == "checkout.session.completed"
    assert stored.object_id == event["data"]["object"]["id"]
    assert stored.status == WebhookEvent.Status.PENDING
    assert len(callbacks) == 1
    delay.assert_called_once_with(stored.id)


def test_enqueue_waits_for_commit(post_event, stripe_event, django_capture_on_commit_callbacks):
    with mock.patch("webhooks.tasks.process_webhook_event.delay") as delay:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            post_event(stripe_event())
        assert delay.call_count == 0
        callbacks[0]()
    assert delay.call_count == 1


def test_duplicate_delivery_stores_one_event_and_two_deliveries(
    post_event, stripe_event, django_capture_on_commit_callbacks
):
    event = stripe_event()
    with django_capture_on_commit_callbacks() as callbacks:
        first = post_event(event)
        second = post_event(event)
    assert (first.status_code, second.status_code) == (200, 200)
    assert WebhookEvent.objects.count() == 1
    results = sorted(WebhookDelivery.objects.values_list("result", flat=True))
    assert results == [WebhookDelivery.Result.ACCEPTED, WebhookDelivery.Result.DUPLICATE]
    # Only the first delivery enqueues processing.
    assert len(callbacks) == 1


def test_bad_signature_is_400_and_stores_nothing(post_event, stripe_event):
    response = post_event(stripe_event(), secret="whsec_someone_else")
    assert response.status_code == 400
    assert _nothing_stored()


def test_a_refused_delivery_is_a_notice_for_a_person_watching(post_event, stripe_event, caplog):
    caplog.set_level(logging.INFO, logger="paylinks.notices")
    post_event(stripe_event(), secret="whsec_someone_else")
    notices = [r.getMessage() for r in caplog.records if r.name == "paylinks.notices"]
    assert len(notices) == 1 and notices[0].startswith("Webhook refused from 127.0.0.1: ")


def test_missing_signature_header_is_400(post_event, stripe_event):
    response = post_event(stripe_event(), signature="")
    assert response.status_code == 400
    assert _nothing_stored()


def test_garbage_signature_header_is_400(post_event, stripe_event):
    assert post_event(stripe_event(), signature="nonsense").status_code == 400
    assert _nothing_stored()


def test_old_timestamp_is_400(post_event, stripe_event, settings):
    old = int(time.time()) - settings.STRIPE_WEBHOOK_TOLERANCE - 10
    assert post_event(stripe_event(), timestamp=old).status_code == 400
    assert _nothing_stored()


def test_timestamp_within_tolerance_is_accepted(post_event, stripe_event, settings):
    recent = int(time.time()) - settings.STRIPE_WEBHOOK_TOLERANCE + 30
    assert post_event(stripe_event(), timestamp=recent).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        "[]",
        '"text"',
        json.dumps({"id": "evt_1", "type": "x"}),
        json.dumps({"type": "x", "created": 1, "data": {"object": {}}}),
    ],
)
def test_malformed_event_is_400(post_event, body):
    assert post_event(body).status_code == 400
    assert _nothing_stored()


@pytest.mark.parametrize("value", ["NaN", "Infinity", '"nul \\u0000 inside"'])
def test_json_no_database_can_store_is_400(post_event, stripe_event, value):
    body = json.dumps(stripe_event()).replace('"livemode": false', f'"livemode": false, "odd": {value}')
    assert value in body
    assert post_event(body).status_code == 400
    assert _nothing_stored()


def test_body_over_the_limit_is_400(post_event, stripe_event, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 200
    event = stripe_event(obj={"id": "cs_test_big", "padding": "x" * 500})
    assert post_event(event).status_code == 400
    assert _nothing_stored()


def test_get_is_not_allowed(client):
    assert client.get("/webhooks/stripe/").status_code == 405


def test_no_login_or_csrf_needed(post_event, stripe_event, client):
    # The test client enforces CSRF only when asked; the view must pass with checks on too.
    client.handler.enforce_csrf_checks = True
    assert post_event(stripe_event()).status_code == 200


def test_registered_endpoint_secret_is_accepted(post_event, stripe_event, settings):
    settings.STRIPE_WEBHOOK_SECRETS = []
    WebhookEndpoint.objects.create(
        stripe_id="we_1", url="http://x/webhooks/stripe/", api_base="b", secret="whsec_db"
    )
    assert post_event(stripe_event(), secret="whsec_db").status_code == 200


def test_several_configured_secrets_are_accepted(post_event, stripe_event, settings):
    settings.STRIPE_WEBHOOK_SECRETS = ["whsec_old", "whsec_new"]
    assert post_event(stripe_event(), secret="whsec_old").status_code == 200
    assert post_event(stripe_event(), secret="whsec_new").status_code == 200
    assert post_event(stripe_event(), secret="whsec_other").status_code == 400


def test_endpoint_secrets_are_cached(post_event, stripe_event, settings, django_assert_max_num_queries):
    WebhookEndpoint.objects.create(
        stripe_id="we_1", url="http://x/webhooks/stripe/", api_base="b", secret="whsec_db"
    )
    post_event(stripe_event(), secret="whsec_db")
    # Steady state: no secrets query, only the store (savepoint, insert/select event, insert delivery).
    with django_assert_max_num_queries(7) as ctx:
        post_event(stripe_event(), secret="whsec_db")
    assert not any("webhooks_webhookendpoint" in q["sql"] for q in ctx.captured_queries)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-statement store is PostgreSQL's")
def test_postgresql_stores_event_and_delivery_in_one_statement(
    post_event, stripe_event, django_assert_num_queries
):
    post_event(stripe_event())  # secrets cached
    event = stripe_event()
    with django_assert_num_queries(1):
        assert post_event(event).status_code == 200
    stored = WebhookEvent.objects.get(stripe_event_id=event["id"])
    # The body as received is the payload, read back as the same JSON.
    assert stored.payload == event
    assert stored.status == WebhookEvent.Status.PENDING and stored.next_attempt_at > stored.received_at
    delivery = WebhookDelivery.objects.get(stripe_event_id=event["id"])
    assert (delivery.event_id, delivery.result) == (stored.id, WebhookDelivery.Result.ACCEPTED)
    with django_assert_num_queries(1):
        assert post_event(event).status_code == 200
    assert WebhookDelivery.objects.filter(event=stored, result=WebhookDelivery.Result.DUPLICATE).count() == 1


def test_delivery_records_headers_without_secrets(post_event, stripe_event, client):
    client.cookies["sessionid"] = "secret-session"
    post_event(stripe_event())
    delivery = WebhookDelivery.objects.get()
    assert delivery.remote_addr == "127.0.0.1"
    assert delivery.result == WebhookDelivery.Result.ACCEPTED
    assert delivery.status_code == 200
    assert "Cookie" not in delivery.headers
    assert delivery.headers["Stripe-Signature"].startswith("t=")
    assert "v1=" not in delivery.headers["Stripe-Signature"]


def test_broker_down_still_answers_200_and_keeps_the_event(
    post_event, stripe_event, django_capture_on_commit_callbacks
):
    with mock.patch("webhooks.tasks.process_webhook_event.delay", side_effect=ConnectionError("broker down")):
        with django_capture_on_commit_callbacks(execute=True):
            response = post_event(stripe_event())
    assert response.status_code == 200
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PENDING


def test_configured_secrets_are_trimmed(post_event, stripe_event, settings):
    settings.STRIPE_WEBHOOK_SECRETS = ["whsec_a", " whsec_b "]
    assert post_event(stripe_event(), secret="whsec_b").status_code == 200
