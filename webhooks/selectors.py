"""Reading the stored events and endpoints, for the pages of other apps (the settings page)."""

from __future__ import annotations

from webhooks.models import WebhookEndpoint, WebhookEvent


def webhook_endpoint_list() -> list[WebhookEndpoint]:
    """Our registered endpoints, the newest first."""
    return list(WebhookEndpoint.objects.order_by("-registered_at"))


def webhook_event_last_received() -> WebhookEvent | None:
    return WebhookEvent.objects.order_by("-received_at").first()
