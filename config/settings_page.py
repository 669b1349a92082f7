"""The settings page (admins only): Stripe mode, webhook endpoint registration, the last event received,
"sync from Stripe", staff roles and sign-in lockouts.

In the project layer: it shows and changes what several apps own (links, webhooks, the staff roles), so it
lives above them, not in one of them.
"""

from __future__ import annotations

from dataclasses import asdict

import stripe
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from catalog.services import SyncReport
from config.forms import LockoutUnlockForm, StaffRoleForm
from config.http import HtmxHttpRequest, redirect_after_post
from config.lockouts import lockout_lift, lockouts_active
from config.roles import settings_required, staff_role_set, staff_with_roles
from config.stripe_client import stripe_mode
from links.services import stripe_import_all
from webhooks.endpoints import (
    Registration,
    webhook_endpoint_ensure,
    webhook_endpoint_events_missing,
    webhook_endpoint_url,
)
from webhooks.selectors import webhook_endpoint_list, webhook_event_last_received

# The last sync's report, kept in the session from the sync's POST to the page it redirects to.
SYNC_REPORT_KEY = "links:sync-report"


@require_GET
@settings_required
def settings_page(request: HtmxHttpRequest) -> HttpResponse:
    context = {
        # Each with the event types we handle that it does not receive (registered before they were added).
        "endpoints": [
            {"endpoint": endpoint, "missing": webhook_endpoint_events_missing(endpoint)}
            for endpoint in webhook_endpoint_list()
        ],
        "last_event": webhook_event_last_received(),
        "staff": staff_with_roles(),
        "stripe_mode": stripe_mode(),
        "role_form": StaffRoleForm(),
        # Shown once, after the sync that made it.
        "sync_report": _sync_report_pop(request),
        "lockouts": lockouts_active(),
        "webhook_url": webhook_endpoint_url(),
        "api_base": settings.STRIPE_API_BASE,
        "key_hint": f"{settings.STRIPE_SECRET_KEY[:8]}…{settings.STRIPE_SECRET_KEY[-4:]}",
    }
    return render(request, "settings.html", context)


@require_POST
@settings_required
def settings_webhook_register(request: HtmxHttpRequest) -> HttpResponse:
    """Register this install's webhook endpoint with Stripe (kept if it is already registered, its event
    types brought up to date)."""
    try:
        registration = webhook_endpoint_ensure(url=webhook_endpoint_url())
    except stripe.StripeError as error:
        messages.error(
            request, _("Stripe refused the registration: %(error)s") % {"error": error.user_message or error}
        )
    else:
        message = {
            Registration.CREATED: _("Webhook endpoint %(id)s registered."),
            Registration.EVENTS_UPDATED: _(
                "Webhook endpoint %(id)s was already registered: its event types are now the ones Paylinks "
                "handles."
            ),
            Registration.KEPT: _(
                "Webhook endpoint %(id)s is already registered for the event types Paylinks handles."
            ),
        }[registration.outcome]
        messages.success(request, message % {"id": registration.endpoint.stripe_id})
    return redirect_after_post(request, reverse("settings"))


@require_POST
@settings_required
def settings_sync(request: HtmxHttpRequest) -> HttpResponse:
    """Import what already exists in the Stripe account: catalog, discounts and payment links."""
    try:
        report = stripe_import_all()
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        request.session[SYNC_REPORT_KEY] = asdict(report)
        if report.skipped:
            messages.warning(request, _("Sync from Stripe done; some objects were skipped (see below)."))
        else:
            messages.success(request, _("Sync from Stripe done."))
    return redirect_after_post(request, reverse("settings"))


def _sync_report_pop(request: HtmxHttpRequest) -> SyncReport | None:
    data = request.session.pop(SYNC_REPORT_KEY, None)
    return SyncReport(**data) if data else None


@require_POST
@settings_required
def settings_unlock(request: HtmxHttpRequest) -> HttpResponse:
    """Lift a sign-in lockout (django-axes) before its wait is over."""
    form = LockoutUnlockForm(request.POST)
    if form.is_valid() and lockout_lift(**form.cleaned_data):
        value = form.cleaned_data["value"]
        if form.cleaned_data["parameter"] == "username":
            messages.success(request, _("%(user)s can sign in again.") % {"user": value})
        else:
            messages.success(request, _("Sign-ins from %(address)s are allowed again.") % {"address": value})
    else:
        messages.error(request, _("That lockout has already been lifted."))
    return redirect_after_post(request, reverse("settings"))


@require_POST
@settings_required
def settings_role(request: HtmxHttpRequest) -> HttpResponse:
    form = StaffRoleForm(request.POST)
    if form.is_valid():
        staff_role_set(user=form.cleaned_data["user"], role=form.cleaned_data["role"])
        messages.success(
            request, _("Role of %(user)s saved.") % {"user": form.cleaned_data["user"].get_username()}
        )
    else:
        messages.error(request, _("Choose a staff member and a role."))
    return redirect_after_post(request, reverse("settings"))
