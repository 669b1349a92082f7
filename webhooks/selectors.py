"""Reading the stored events and endpoints for other apps' pages (the settings page, the order page)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from webhooks.models import WebhookEndpoint, WebhookEvent


def webhook_endpoint_list() -> list[WebhookEndpoint]:
    """Our registered endpoints, the newest first."""
    return list(WebhookEndpoint.objects.order_by("-registered_at"))


def webhook_event_last_received() -> WebhookEvent | None:
    return WebhookEvent.objects.order_by("-received_at").first()


def webhook_events_about(*, object_ids: list[str], limit: int) -> list[WebhookEvent]:
    """The events about these Stripe objects, newest first, without their payloads."""
    return list(WebhookEvent.objects.filter(object_id__in=object_ids).defer("payload")[:limit])


def webhook_event_list(
    *,
    query: str = "",
    status: str = "",
    event_type: str = "",
    order_by: tuple[str, ...] = ("-received_at", "-id"),
) -> QuerySet[WebhookEvent]:
    """The event log's events, without their payloads; the search is an event's or its object's whole id
    (unique index, event_object)."""
    events = WebhookEvent.objects.defer("payload")
    if query:
        events = events.filter(Q(stripe_event_id=query) | Q(object_id=query))
    if status:
        events = events.filter(status=status)
    if event_type:
        events = events.filter(type=event_type)
    return events.order_by(*order_by)
