"""Registering our webhook endpoint with Stripe, keeping the signing secret it returns."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

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


class Registration(StrEnum):
    """What registering did: made the endpoint, brought its event types up to date, or kept it as it was."""

    CREATED = "created"
    EVENTS_UPDATED = "events_updated"
    KEPT = "kept"


@dataclass(frozen=True)
class EndpointRegistration:
    endpoint: WebhookEndpoint
    outcome: Registration


def webhook_endpoint_register(*, url: str) -> WebhookEndpoint:
    """Register ``url`` with Stripe for the events we handle, keeping the returned signing secret (see
    ``webhook_endpoint_ensure``)."""
    return webhook_endpoint_ensure(url=url).endpoint


def webhook_endpoint_ensure(*, url: str) -> EndpointRegistration:
    """Make sure Stripe delivers the events we handle to ``url``, and say what it took.

    Reuses an existing registration for the same URL and API base: Stripe returns the secret only at
    creation, and a second endpoint would deliver every event twice. A registration made before a handler
    was added (``charge.captured``) has its ``enabled_events`` updated, or it would never receive them.
    """
    api_base = _api_base()
    enabled_events = handled_event_types()
    existing = WebhookEndpoint.objects.filter(url=url, api_base=api_base).first()
    if existing is not None:
        try:
            registered = _endpoint_registered(existing)
        except stripe.APIConnectionError:
            # Offline: keep what we have rather than fail start-up.
            return EndpointRegistration(endpoint=existing, outcome=Registration.KEPT)
        if registered is not None:
            return _endpoint_events_update(existing, registered=registered, enabled_events=enabled_events)
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
    return EndpointRegistration(endpoint=endpoint, outcome=Registration.CREATED)


def _endpoint_events_update(
    endpoint: WebhookEndpoint, *, registered: dict, enabled_events: list[str]
) -> EndpointRegistration:
    """Give the registered endpoint exactly the event types we handle, if Stripe has others for it."""
    outcome = Registration.KEPT
    events = list(registered.get("enabled_events") or [])
    if sorted(events) != enabled_events:
        updated = get_stripe_client().v1.webhook_endpoints.update(
            endpoint.stripe_id, params={"enabled_events": enabled_events}
        )
        events = list(updated.to_dict().get("enabled_events") or enabled_events)
        outcome = Registration.EVENTS_UPDATED
    if endpoint.enabled_events != events:
        # Also when only our copy was behind (updated in Stripe's dashboard).
        endpoint.enabled_events = events
        endpoint.save(update_fields=["enabled_events"])
    return EndpointRegistration(endpoint=endpoint, outcome=outcome)


def _endpoint_registered(endpoint: WebhookEndpoint) -> dict | None:
    """The endpoint as Stripe has it; None only if Stripe says it is gone (deleted in its dashboard), the row
    then dropped."""
    try:
        registered = get_stripe_client().v1.webhook_endpoints.retrieve(endpoint.stripe_id)
    except stripe.InvalidRequestError as exc:
        if exc.http_status != 404:
            raise
        endpoint.delete()
        webhook_secrets_invalidate()
        return None
    return registered.to_dict()


def webhook_endpoint_events_missing(endpoint: WebhookEndpoint) -> list[str]:
    """The event types we handle that this registration (as last seen) does not receive."""
    return sorted(set(handled_event_types()) - set(endpoint.enabled_events))


def webhook_endpoint_url() -> str:
    """The address Stripe should deliver to: this install's public base URL plus the view's path."""
    from django.urls import reverse

    return settings.PAYLINKS_BASE_URL + reverse("webhooks:stripe")
