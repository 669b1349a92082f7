"""Receiving a Stripe event: its size, signature and shape checked before anything is stored.

Anything not signed by an accepted secret, or not shaped like an event, raises ``WebhookRejected`` (the
view answers 400). The endpoints' secrets are cached per process.
"""

from __future__ import annotations

import json
import threading
import time

import stripe
from django.conf import settings

from webhooks.models import WebhookEndpoint

# How long a worker process trusts its copy of the endpoint secrets.
SECRETS_TTL = 30.0
# At most one refresh of the secrets per second when a signature matches none (a flood of forged
# requests must not become a flood of queries).
SECRETS_REFRESH_MIN_INTERVAL = 1.0

# Request headers never written to the delivery log.
_SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "x-api-key", "x-csrftoken"})

REJECT_NO_SIGNATURE = "missing Stripe-Signature header"
REJECT_TOO_LARGE = "body too large"
REJECT_BAD_SIGNATURE = "signature does not match, or timestamp outside the tolerance"
REJECT_MALFORMED = "malformed event JSON"
REJECT_NOT_UTF8 = "body is not UTF-8"
REJECT_TOO_DEEP = "event JSON nested too deep"
# Stripe's events nest about a dozen levels. Far deeper JSON is not an event: json.loads gives up past
# about 1,500 levels (RecursionError), and below that Python's own encoder (the event page prints the
# payload indented) gives up near 1,000.
MAX_JSON_DEPTH = 256


class WebhookRejected(Exception):
    """The request is not a valid Stripe event: answer 400 and store nothing."""


# SECRETS -------------------------------------------------------------------------------------------

_secrets_lock = threading.Lock()
_secrets_cache: dict[str, object] = {"secrets": (), "loaded_at": 0.0}


def _endpoint_secrets(*, refresh: bool = False) -> tuple[str, ...]:
    """The secrets of our registered endpoints, cached per process for SECRETS_TTL seconds."""
    now = time.monotonic()
    with _secrets_lock:
        age = now - float(_secrets_cache["loaded_at"])  # type: ignore[arg-type]
        stale = age > SECRETS_TTL or (refresh and age > SECRETS_REFRESH_MIN_INTERVAL)
        if not stale:
            return _secrets_cache["secrets"]  # type: ignore[return-value]
    secrets = tuple(WebhookEndpoint.objects.exclude(secret="").values_list("secret", flat=True))
    with _secrets_lock:
        _secrets_cache.update(secrets=secrets, loaded_at=time.monotonic())
    return secrets


def webhook_secrets_invalidate() -> None:
    """Forget this process's cached secrets (after a registration, and between tests)."""
    with _secrets_lock:
        _secrets_cache.update(secrets=(), loaded_at=0.0)


def _verify(payload: str, signature: str, secrets: tuple[str, ...]) -> bool:
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(
                payload, signature, secret, settings.STRIPE_WEBHOOK_TOLERANCE
            )
        except stripe.SignatureVerificationError:
            continue
        return True
    return False


def webhook_signature_verify(*, payload: bytes, signature: str) -> None:
    """Raise WebhookRejected unless one of the accepted secrets signed ``payload`` recently enough.

    Accepted: every secret in STRIPE_WEBHOOK_SECRETS plus every registered endpoint's secret, so a secret
    can be rotated without dropping events.
    """
    if not signature:
        raise WebhookRejected(REJECT_NO_SIGNATURE)
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookRejected(REJECT_NOT_UTF8) from None
    configured = tuple(s.strip() for s in settings.STRIPE_WEBHOOK_SECRETS if s.strip())
    if _verify(text, signature, configured + _endpoint_secrets()):
        return
    # A secret registered by another process since we cached: look again, at most once a second.
    if not _verify(text, signature, _endpoint_secrets(refresh=True)):
        raise WebhookRejected(REJECT_BAD_SIGNATURE)


# PARSING -------------------------------------------------------------------------------------------


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _deeper_than(value: dict | list, limit: int) -> bool:
    """Whether containers nest in ``value`` more than ``limit`` levels (a walk with a stack, no recursion)."""
    stack = [(value, 1)]
    while stack:
        container, depth = stack.pop()
        if depth > limit:
            return True
        children = container.values() if isinstance(container, dict) else container
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _parse_event(payload: bytes) -> dict:
    # NUL and NaN/Infinity: Python's json reads them, jsonb refuses them, Stripe never sends them.
    if b"\\u0000" in payload:
        raise WebhookRejected(REJECT_MALFORMED)
    try:
        event = json.loads(payload, parse_constant=_reject_constant)
    except ValueError:
        raise WebhookRejected(REJECT_MALFORMED) from None
    except RecursionError:
        raise WebhookRejected(REJECT_TOO_DEEP) from None
    if not isinstance(event, dict):
        raise WebhookRejected(REJECT_MALFORMED)
    # Nesting cannot exceed the number of brackets: counting them (in C) spares nearly every event the walk.
    if payload.count(b"{") + payload.count(b"[") > MAX_JSON_DEPTH and _deeper_than(event, MAX_JSON_DEPTH):
        raise WebhookRejected(REJECT_TOO_DEEP)
    event_id, event_type, created = event.get("id"), event.get("type"), event.get("created")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 255:
        raise WebhookRejected(REJECT_MALFORMED)
    if not isinstance(event_type, str) or not event_type or len(event_type) > 100:
        raise WebhookRejected(REJECT_MALFORMED)
    if not isinstance(created, int) or isinstance(created, bool) or created < 0:
        raise WebhookRejected(REJECT_MALFORMED)
    if not isinstance(event.get("data"), dict) or not isinstance(event["data"].get("object"), dict):
        raise WebhookRejected(REJECT_MALFORMED)
    return event


def delivery_headers_clean(headers: dict[str, str]) -> dict[str, str]:
    """Headers worth keeping for the delivery log: no credentials, the signature reduced to its time."""
    clean = {}
    for name, value in headers.items():
        if name.lower() in _SECRET_HEADERS:
            continue
        if name.lower() == "stripe-signature":
            value = ",".join(part for part in value.split(",") if part.startswith("t="))
        clean[name] = value[:500]
    return clean


def webhook_event_verify_and_parse(*, payload: bytes, signature: str) -> dict:
    """The event in ``payload``, once its size, signature and shape are checked; WebhookRejected if not."""
    if len(payload) > settings.WEBHOOK_MAX_BODY_BYTES:
        raise WebhookRejected(REJECT_TOO_LARGE)
    webhook_signature_verify(payload=payload, signature=signature)
    return _parse_event(payload)
