"""The Stripe webhook receiver, and the dashboard's event log."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from config.pagination import COUNT_CAP, CappedPaginator
from webhooks.forms import EventFilterForm
from webhooks.models import WebhookEvent
from webhooks.processing import webhook_event_replay
from webhooks.receiving import REJECT_TOO_LARGE, WebhookRejected
from webhooks.selectors import webhook_event_list
from webhooks.storing import webhook_event_record

# A refused delivery, for a person watching too (``manage.py demo`` prints it): nothing comes of that
# event (no order, no update) until a delivery of it is accepted.
notices = logging.getLogger("paylinks.notices")

EVENTS_PER_PAGE = 50

# RECEIVER ------------------------------------------------------------------------------------------


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


@csrf_exempt  # authenticated by the Stripe-Signature HMAC instead
@login_not_required
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Verify, store, enqueue, answer: 200 only once the event is committed, 400 (storing nothing) otherwise.

    No Stripe API call and no event handling here: Stripe waits on this answer.
    """
    # Refused before the body is read: a large body costs nothing but this header.
    if _declared_length(request) > settings.WEBHOOK_MAX_BODY_BYTES:
        return HttpResponseBadRequest(REJECT_TOO_LARGE)
    try:
        webhook_event_record(
            payload=request.body,
            signature=request.headers.get("Stripe-Signature", ""),
            headers=dict(request.headers),
            remote_addr=request.META.get("REMOTE_ADDR"),
        )
    except WebhookRejected as exc:
        notices.warning("Webhook refused from %s: %s", request.META.get("REMOTE_ADDR"), exc)
        return HttpResponseBadRequest(str(exc))
    return HttpResponse(status=200)


# EVENT LOG -----------------------------------------------------------------------------------------


@require_GET
def event_list(request: HttpRequest) -> HttpResponse:
    filters = EventFilterForm(request.GET)
    page = CappedPaginator(webhook_event_list(**filters.filters()), EVENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    template = "webhooks/event_list.html" + ("#event-table" if request.htmx else "")
    context = {
        "page": page,
        "filters": filters,
        "query": filters.query(),
        "status_counts": _status_counts(),
        "count_cap": COUNT_CAP,
        "types": sorted(_known_types()),
    }
    return render(request, template, context)


def _status_counts() -> list[tuple[str, str, int]]:
    """The counts above the table (failed events stand out), each read from the status index and capped
    like the pager's: a grouped count would read every event, a million after a few years."""
    return [
        (value, label, WebhookEvent.objects.filter(status=value).order_by()[: COUNT_CAP + 1].count())
        for value, label in WebhookEvent.Status.choices
    ]


def _known_types() -> set[str]:
    from webhooks.handlers import HANDLERS

    return set(HANDLERS)


@require_GET
def event_detail(request: HttpRequest, stripe_event_id: str) -> HttpResponse:
    event = get_object_or_404(WebhookEvent, stripe_event_id=stripe_event_id)
    context = {
        "event": event,
        "payload_json": json.dumps(event.payload, indent=2, sort_keys=True),
        "deliveries": [(d, d.headers.get("User-Agent", "")) for d in event.deliveries.all()[:50]],
    }
    return render(request, "webhooks/event_detail.html", context)


@require_POST
def event_replay(request: HttpRequest, stripe_event_id: str) -> HttpResponse:
    event = get_object_or_404(WebhookEvent, stripe_event_id=stripe_event_id)
    if event.status == WebhookEvent.Status.PROCESSING:
        messages.error(request, _("This event is being processed; try again in a moment."))
    else:
        webhook_event_replay(event=event)
        messages.success(request, _("The event will be processed again."))
    return redirect("webhooks:event-detail", stripe_event_id=event.stripe_event_id)
