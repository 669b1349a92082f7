"""Registering our webhook endpoint with Stripe, keeping the signing secret it returns."""

from __future__ import annotations

import stripe
from django.conf import settings

from config.stripe_client import get_stripe_client
from webhooks.models import WebhookEndpoint
from webhooks.receiving import webhook_secrets_invalidate


def handled_event_types() -> list[str]:
    from webhooks.handlers import HANDLERS

    return sorted(HANDLERS)


def _api_base() -> str:
    return settings.STRIPE_API_BASE if settings.STRIPE_SANDBOX_MODE else "https://api.stripe.com"


def webhook_endpoint_register(*, url: str) -> WebhookEndpoint:
    """Register ``url`` with Stripe for the events we handle, keeping the returned signing secret.

    Reuses an existing registration for the same URL and API base: Stripe returns the secret only at
    creation, and a second endpoint would deliver every event twice.
    """
    api_base = _api_base()
    existing = WebhookEndpoint.objects.filter(url=url, api_base=api_base).first()
    if existing is not None and _endpoint_still_registered(existing):
        return existing
    enabled_events = handled_event_types()
    created = get_stripe_client().v1.webhook_endpoints.create(
        params={"url": url, "enabled_events": enabled_events}
    )
    created = created.to_dict()
    endpoint = WebhookEndpoint(
        stripe_id=created["id"],
        url=url,
        api_base=api_base,
        secret=created["secret"],
        enabled_events=list(created.get("enabled_events") or enabled_events),
    )
    # Not the URL: an internal host name without a dot (docker, CI) is fine for delivery.
    endpoint.full_clean(exclude=["url"])
    endpoint.save()
    webhook_secrets_invalidate()
    return endpoint


def _endpoint_still_registered(endpoint: WebhookEndpoint) -> bool:
    """False only if Stripe says the endpoint is gone (deleted in its dashboard); the row is then dropped."""
    try:
        get_stripe_client().v1.webhook_endpoints.retrieve(endpoint.stripe_id)
    except stripe.InvalidRequestError as exc:
        if exc.http_status != 404:
            raise
        endpoint.delete()
        webhook_secrets_invalidate()
        return False
    except stripe.APIConnectionError:
        # Offline: keep what we have rather than fail start-up.
        return True
    return True


def webhook_endpoint_url() -> str:
    """The address Stripe should deliver to: this install's public base URL plus the view's path."""
    from django.urls import reverse

    return settings.PAYLINKS_BASE_URL + reverse("webhooks:stripe")
