"""Sandbox pages for the merchant's developers (staff only, like the rest of the app): events and
their deliveries with a resend button, and the sandbox clock."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sandbox import account, clock, clock_tick, delivery, limits
from sandbox.models import ApiObject, WebhookDelivery

EVENTS_SHOWN = 50
CLOCK_PAST_MAX_TIMESTAMP = gettext_lazy("The sandbox clock cannot go past the year 9999.")


class AccountForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Business name"), max_length=100)
    support_email = forms.EmailField(label=gettext_lazy("Support e-mail"), required=False)
    country = forms.RegexField(label=gettext_lazy("Country (ISO code)"), regex=r"^[A-Za-z]{2}$", max_length=2)
    default_currency = forms.RegexField(
        label=gettext_lazy("Default currency"), regex=r"^[A-Za-z]{3}$", max_length=3
    )
    terms_url = forms.RegexField(
        label=gettext_lazy("Terms of service URL"),
        regex=r"^(https?://|/)\S*$",
        max_length=500,
        required=False,
    )
    privacy_url = forms.RegexField(
        label=gettext_lazy("Privacy policy URL"), regex=r"^(https?://|/)\S*$", max_length=500, required=False
    )


class ClockForm(forms.Form):
    seconds = forms.IntegerField(
        label=gettext_lazy("Advance the sandbox clock by (seconds)"),
        min_value=1,
        max_value=limits.MAX_CLOCK_ADVANCE,
    )

    def clean_seconds(self) -> int:
        seconds = self.cleaned_data["seconds"]
        if clock.now() + seconds > limits.MAX_TIMESTAMP:
            raise forms.ValidationError(CLOCK_PAST_MAX_TIMESTAMP)
        return seconds


@require_GET
def event_list(request: HttpRequest) -> HttpResponse:
    return _events_page(request, clock_form=ClockForm())


def _events_page(request: HttpRequest, *, clock_form: ClockForm, status: int = 200) -> HttpResponse:
    events = list(ApiObject.objects.filter(type="event").order_by("-seq")[:EVENTS_SHOWN])
    deliveries = WebhookDelivery.objects.filter(event_id__in=[e.stripe_id for e in events]).prefetch_related(
        "attempt_rows"
    )
    by_event: dict[str, list[WebhookDelivery]] = {}
    for row in deliveries:
        by_event.setdefault(row.event_id, []).append(row)
    rows = [{"event": e.data, "deliveries": by_event.get(e.stripe_id, [])} for e in events]
    endpoints = [e.data for e in ApiObject.objects.filter(type="webhook_endpoint").order_by("-seq")]
    context = {"rows": rows, "endpoints": endpoints, "clock_form": clock_form, "now": clock.now()}
    return render(request, "sandbox/events.html", context, status=status)


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
    if not form.is_valid():
        # The page again, with the error next to the field (nothing moved).
        return _events_page(request, clock_form=form, status=400)
    clock_tick.clock_advance(seconds=form.cleaned_data["seconds"])
    messages.success(request, _("The sandbox clock moved forward."))
    return redirect("sandbox:events")


@require_http_methods(["GET", "POST"])
def account_settings(request: HttpRequest) -> HttpResponse:
    """The sandbox account's public details (what ``GET /v1/account`` and the hosted page show)."""
    data = account.account_get().data
    if request.method == "POST":
        form = AccountForm(request.POST)
        if form.is_valid():
            account.account_update(**form.cleaned_data)
            messages.success(request, _("The sandbox account was saved."))
            return redirect("sandbox:settings")
    else:
        form = AccountForm(
            initial={
                "name": data["business_profile"]["name"],
                "support_email": data["business_profile"]["support_email"],
                "country": data["country"],
                "default_currency": data["default_currency"],
                "terms_url": data.get("_terms_url"),
                "privacy_url": data.get("_privacy_url"),
            }
        )
    return render(request, "sandbox/settings.html", {"form": form})


@login_not_required
@require_GET
def legal(request: HttpRequest, page: str) -> HttpResponse:
    """Placeholder terms and privacy pages for the sandbox merchant."""
    name = account.account_get().data["business_profile"]["name"]
    return render(request, "sandbox/legal.html", {"page": page, "merchant": name})
