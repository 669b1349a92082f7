"""Sandbox pages for the merchant's developers (staff only, like the rest of the app): events and
their deliveries with a resend button, and the sandbox clock."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from sandbox import clock, delivery
from sandbox.models import ApiObject, WebhookDelivery

EVENTS_SHOWN = 50


class ClockForm(forms.Form):
    seconds = forms.IntegerField(label=gettext_lazy("Advance the sandbox clock by (seconds)"), min_value=1)


@require_GET
def event_list(request: HttpRequest) -> HttpResponse:
    events = list(ApiObject.objects.filter(type="event").order_by("-seq")[:EVENTS_SHOWN])
    deliveries = WebhookDelivery.objects.filter(event_id__in=[e.stripe_id for e in events]).prefetch_related("attempt_rows")
    by_event: dict[str, list[WebhookDelivery]] = {}
    for row in deliveries:
        by_event.setdefault(row.event_id, []).append(row)
    rows = [{"event": e.data, "deliveries": by_event.get(e.stripe_id, [])} for e in events]
    endpoints = [e.data for e in ApiObject.objects.filter(type="webhook_endpoint").order_by("-seq")]
    context = {"rows": rows, "endpoints": endpoints, "clock_form": ClockForm(), "now": clock.now()}
    return render(request, "sandbox/events.html", context)


@require_POST
def delivery_resend_view(request: HttpRequest, delivery_id: int) -> HttpResponse:
    row = get_object_or_404(WebhookDelivery, pk=delivery_id)
    with transaction.atomic():
        delivery.delivery_resend(delivery_id=row.pk)
    messages.success(request, _("The event was queued for delivery again."))
    return redirect("sandbox:events")


@require_POST
def clock_advance_view(request: HttpRequest) -> HttpResponse:
    form = ClockForm(request.POST)
    if form.is_valid():
        clock.clock_advance(seconds=form.cleaned_data["seconds"])
        messages.success(request, _("The sandbox clock moved forward."))
    return redirect("sandbox:events")
