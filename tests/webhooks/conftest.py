"""Fixtures for webhook tests: signed Stripe payloads, as the SDK verifies them (reference §6)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time

import pytest

from webhooks.services import webhook_secrets_invalidate

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
