"""Fixtures for webhook tests: signed Stripe payloads, as the SDK verifies them (reference §6)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time

import pytest

from tests.webhooks.stripe_objects import checkout_session, line_item
from webhooks.models import WebhookEvent
from webhooks.receiving import webhook_secrets_invalidate

TEST_SECRET = "whsec_test_paylinks"
_ids = itertools.count(1)


@pytest.fixture(autouse=True)
def _webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRETS = [TEST_SECRET]
    # Each test has its own database: forget endpoint secrets cached by an earlier test.
    webhook_secrets_invalidate()
    yield
    webhook_secrets_invalidate()


def sign(body: str, secret: str = TEST_SECRET, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


@pytest.fixture
def sign_stripe_payload():
    """``sign_stripe_payload(body, secret=..., timestamp=...)`` → a Stripe-Signature header value."""
    return sign


def make_event(event_type: str = "checkout.session.completed", obj: dict | None = None, **fields) -> dict:
    n = next(_ids)
    return {
        "id": fields.pop("id", f"evt_test_{n:06d}"),
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": fields.pop("created", int(time.time())),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": {"object": obj or {"id": f"cs_test_{n:06d}", "object": "checkout.session"}},
        **fields,
    }


@pytest.fixture
def stripe_event():
    return make_event


@pytest.fixture
def post_event(client, sign_stripe_payload):
    """POST an event (a dict, or raw body text) to the webhook endpoint, signed unless told otherwise."""

    def post(event, *, secret: str = TEST_SECRET, timestamp: int | None = None, signature: str | None = None):
        body = event if isinstance(event, str) else json.dumps(event)
        headers = {}
        if signature is None:
            signature = sign_stripe_payload(body, secret, timestamp)
        if signature:
            headers["HTTP_STRIPE_SIGNATURE"] = signature
        return client.post("/webhooks/stripe/", data=body, content_type="application/json", **headers)

    return post


def store(event_type="checkout.session.completed", obj=None, **fields) -> WebhookEvent:
    data = make_event(event_type, obj)
    defaults = {
        "type": data["type"],
        "created": data["created"],
        "payload": data,
        "object_id": data["data"]["object"]["id"],
    }
    return WebhookEvent.objects.create(stripe_event_id=data["id"], **{**defaults, **fields})


@pytest.fixture
def stripe_session(monkeypatch):
    """Sessions as Stripe would return them, through fulfilment's one call out (checkout_session_fetch)."""
    sessions = {}

    def fetch(*, session_id):
        return sessions[session_id], [line_item()]

    monkeypatch.setattr("links.fulfilment.checkout_session_fetch", fetch)

    def add(**overrides):
        session = checkout_session(**overrides)
        sessions[session["id"]] = session
        return session

    return add
