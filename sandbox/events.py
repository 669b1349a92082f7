"""Events: stored like any object, and one delivery row per matching enabled endpoint."""

from __future__ import annotations

from django.db import transaction

from sandbox import objects, store
from sandbox.context import RequestInfo, current_request
from sandbox.models import ApiObject, WebhookDelivery


def endpoint_matches(endpoint: dict, event_type: str) -> bool:
    enabled = endpoint.get("enabled_events") or []
    return endpoint.get("status") == "enabled" and ("*" in enabled or event_type in enabled)


def previous_attributes(before: dict, after: dict) -> dict:
    """Top-level fields whose value changed, with their old value (whole arrays, as Stripe does); a field
    the object no longer has (``name_collection`` unset) changed too."""
    return {
        k: before.get(k)
        for k in {**before, **after}
        if not k.startswith("_") and before.get(k) != after.get(k)
    }


def event_emit(*, type: str, obj: dict, previous: dict | None = None, deliver_now: bool = False) -> ApiObject:
    """Store the event and queue its deliveries once the surrounding transaction commits.

    ``deliver_now`` leaves the deliveries for the caller to send synchronously after commit (the hosted
    page waits for ``checkout.session.completed`` like Stripe); everything else goes through Celery.
    """
    info = current_request.get() or RequestInfo()
    endpoints = [
        endpoint
        for endpoint in ApiObject.objects.filter(type="webhook_endpoint").order_by("seq")
        if endpoint_matches(endpoint.data, type)
    ]
    data = objects.event(
        type=type,
        obj=store.public(obj),
        previous_attributes=previous,
        request_id=info.id,
        idempotency_key=info.idempotency_key,
        pending_webhooks=len(endpoints),
    )
    event = store.create(object_id=data["id"], type="event", data=data, key=type)
    deliveries = [
        WebhookDelivery.objects.create(event_id=event.stripe_id, endpoint_id=endpoint.stripe_id)
        for endpoint in endpoints
    ]
    if deliveries and not deliver_now:
        from sandbox.delivery import delivery_enqueue

        for delivery in deliveries:
            transaction.on_commit(lambda pk=delivery.pk: delivery_enqueue(delivery_id=pk))
    return event
