"""The order page's refund panel (``links/_order_refund.html``): "Refund…", its form, its confirmation.

One view for the three steps, each an HTMX swap of the panel, or without JavaScript the whole order page
with the panel in that step. Viewers see the panel without its button; their POST is refused by the role
middleware (config/roles.py) before it reaches the view.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from catalog.money import format_money
from config.http import UNPROCESSABLE, HtmxHttpRequest, add_service_errors, redirect_after_post
from config.roles import user_can_edit
from links import refunds
from links.forms import OrderRefundForm
from links.models import Order
from links.order_summary import order_refund_panel, refund_status_badge
from links.order_views import order_page_context


@require_http_methods(["GET", "POST"])
def order_refund(request: HtmxHttpRequest, public_id) -> HttpResponse:
    """GET: the form, the amount prefilled with what remains. POST: the form checked, then shown back
    for confirmation ("Refund 12.50 EUR to jane@example.com?"); POST with ``confirm``: the refund."""
    order = get_object_or_404(Order.objects.select_related("payment_link"), public_id=public_id)
    detail_url = reverse("orders:detail", args=[order.public_id])
    refusal = refunds.order_refund_refusal(order=order)
    if refusal and request.method == "POST":
        messages.error(request, refusal)
        return redirect_after_post(request, detail_url)
    if refusal or not user_can_edit(request.user):
        return _panel(request, order)  # the panel says why, or (a viewer) shows the refunds alone
    form = OrderRefundForm(
        request.POST or None, currency=order.currency, remaining=refunds.order_amount_refundable(order)
    )
    confirming = False
    if request.method == "POST" and form.is_valid() and not request.POST.get("edit"):
        if form.cleaned_data["confirm"]:
            try:
                refund = refunds.order_refund(order=order, user=request.user, **form.service_kwargs())
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                amount = format_money(refund.amount, refund.currency)
                if refund.status == refund.Status.SUCCEEDED:
                    messages.success(request, _("%(amount)s refunded.") % {"amount": amount})
                else:
                    messages.info(
                        request,
                        _("Refund of %(amount)s asked for: Stripe says it is %(status)s.")
                        % {"amount": amount, "status": refund_status_badge(refund).label},
                    )
                return redirect_after_post(request, detail_url)
        else:
            confirming = True
    status = UNPROCESSABLE if form.errors else 200
    return _panel(request, order, form=form, confirming=confirming, status=status)


def _panel(
    request: HtmxHttpRequest,
    order: Order,
    *,
    form: OrderRefundForm | None = None,
    confirming: bool = False,
    status: int = 200,
) -> HttpResponse:
    refund_state = {"refund_form": form, "refund_confirming": confirming}
    if request.htmx:
        context = {"order": order, "refund_panel": order_refund_panel(order), **refund_state}
        return render(request, "links/_order_refund.html", context, status=status)
    return render(
        request, "links/order_detail.html", {**order_page_context(order), **refund_state}, status=status
    )
