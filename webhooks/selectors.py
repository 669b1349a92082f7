"""Reading the stored events and endpoints for other apps' pages (the settings page, the order page)."""

from __future__ import annotations

from webhooks.models import WebhookEndpoint, WebhookEvent


def webhook_endpoint_list() -> list[WebhookEndpoint]:
    """Our registered endpoints, the newest first."""
    return list(WebhookEndpoint.objects.order_by("-registered_at"))


def webhook_event_last_received() -> WebhookEvent | None:
    return WebhookEvent.objects.order_by("-received_at").first()


def webhook_events_about(*, object_ids: list[str], limit: int) -> list[WebhookEvent]:
    """The events about these Stripe objects, newest first, without their payloads."""
    return list(WebhookEvent.objects.filter(object_id__in=object_ids).defer("payload")[:limit])
