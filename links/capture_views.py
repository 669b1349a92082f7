"""The order page's capture and cancel actions (editors and admins: the role middleware refuses a viewer's
POST). Each is confirmed before it runs, with htmx (the panel is swapped in place) and without JavaScript
(the same panel on a page of its own)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from catalog.money import format_money
from config.http import UNPROCESSABLE, HtmxHttpRequest, add_service_errors, redirect_after_post, render_page
from links import capture
from links.capture_forms import CancelAuthorizationForm, CaptureForm
from links.models import Order

PAGE = "links/order_capture_page.html"


def _order(public_id) -> Order:
    return get_object_or_404(Order.objects.select_related("payment_link"), public_id=public_id)


def _panel(
    request: HtmxHttpRequest, order: Order, *, step: str, form=None, status: int = 200
) -> HttpResponse:
    """The capture panel at ``step`` ("capture": the amount; "confirm_capture"; "cancel"), or, without
    htmx, the page that holds it."""
    context = {"order": order, "capture_step": step, "capture_form": form}
    return render_page(request, PAGE, context, partial="order-capture", status=status)


@require_http_methods(["GET", "POST"])
def order_capture(request: HtmxHttpRequest, public_id) -> HttpResponse:
    """GET: the amount, prefilled with all that is authorised; POST: what will be captured, to confirm;
    POST with ``confirm``: capture it."""
    order = _order(public_id)
    if request.method == "GET" or not capture.order_is_capturable(order):
        return _panel(request, order, step="capture", form=CaptureForm(order=order))
    form = CaptureForm(request.POST, order=order)
    if not form.is_valid():
        return _panel(request, order, step="capture", form=form, status=UNPROCESSABLE)
    if not form.cleaned_data["confirm"]:
        return _panel(request, order, step="confirm_capture", form=form)
    amount = form.cleaned_data["amount_minor"]
    try:
        capture.order_capture(
            order=order, amount=amount, user=request.user, request_token=form.cleaned_data["request_token"]
        )
    except ValidationError as error:
        add_service_errors(form, error)
        order.refresh_from_db()
        return _panel(request, order, step="capture", form=form, status=UNPROCESSABLE)
    messages.success(request, _("%(amount)s captured.") % {"amount": format_money(amount, order.currency)})
    return redirect_after_post(request, reverse("orders:detail", args=[order.public_id]))


@require_http_methods(["GET", "POST"])
def order_cancel_authorization(request: HtmxHttpRequest, public_id) -> HttpResponse:
    """GET: what canceling means, to confirm; POST: cancel the authorisation."""
    order = _order(public_id)
    if request.method == "GET" or not capture.order_is_capturable(order):
        return _panel(request, order, step="cancel", form=CancelAuthorizationForm())
    form = CancelAuthorizationForm(request.POST)
    if form.is_valid():
        try:
            capture.order_cancel_authorization(
                order=order, user=request.user, request_token=form.cleaned_data["request_token"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The authorisation is canceled: the customer will not be charged."))
            return redirect_after_post(request, reverse("orders:detail", args=[order.public_id]))
    order.refresh_from_db()
    return _panel(request, order, step="cancel", form=form, status=UNPROCESSABLE)
