"""The Stripe events about an order, on the order's page.

The page is links', the events are ours: links' template loads this library, so that the Python imports
still run webhooks → links.
"""

from __future__ import annotations

from django import template

from webhooks.selectors import webhook_events_about

register = template.Library()

ORDER_EVENTS_SHOWN = 20


@register.inclusion_tag("webhooks/_order_events.html")
def order_events(order) -> dict:
    """The events about the order's checkout session, invoice and subscription (newest first)."""
    ids = [i for i in (order.checkout_session_id, order.invoice_id, order.subscription_id) if i]
    return {"events": webhook_events_about(object_ids=ids, limit=ORDER_EVENTS_SHOWN)}
