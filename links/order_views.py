"""Orders in the dashboard (staff only), and the customer's success page (public)."""

from __future__ import annotations

import logging
import re
import time

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from config.bulk import (
    BulkSelectionForm,
    bulk_confirm_context,
    bulk_report_messages,
    bulk_selected_rows,
    row_id,
)
from config.http import HtmxHttpRequest, render_page
from config.pagination import SEARCH_COUNT_CAP, CappedPaginator
from config.spreadsheets import csv_download
from config.stripe_dashboard import stripe_dashboard_url
from links import disputes, fulfilment, order_summary, refunds, selectors
from links.customers import customer_of_order, orders_customer_ids
from links.emails import (
    outbound_email_resend,
    outbound_email_resend_refusal,
    outbound_emails_resend_failed,
)
from links.forms import EmailFilterForm, OrderFilterForm
from links.models import Dispute, Order, OutboundEmail
from links.totals import order_amount_paid_expression

logger = logging.getLogger(__name__)

ORDERS_PER_PAGE = 50
EMAILS_PER_PAGE = 50
EXPORT_CHUNK = 2000
SESSION_ID_RE = re.compile(r"^cs_[A-Za-z0-9_]{1,250}$")
# The success page fetches a session whose webhook is late at most this often (seconds).
SUCCESS_FETCH_INTERVAL = 10
SUCCESS_FETCH_BUDGET_PER_MINUTE = 120
SUCCESS_MAX_POLLS = 150
# States after which the success page stops polling.
SETTLED_STATUSES = frozenset(
    {
        Order.Status.PAID,
        Order.Status.FULFILLED,
        Order.Status.PAYMENT_FAILED,
        Order.Status.EXPIRED,
        Order.Status.CANCELED,
    }
)


def _order_for_staff(public_id) -> Order:
    """The order or a 404; staff see every order (the middleware keeps everyone else out)."""
    return get_object_or_404(Order.objects.select_related("payment_link"), public_id=public_id)


# LIST AND EXPORT -----------------------------------------------------------------------------------


def _filtered_orders(params) -> tuple[QuerySet[Order], OrderFilterForm]:
    """The orders the list's filters and sort select, and the bound filter form for the template."""
    filters = OrderFilterForm(params)
    return selectors.order_list(**filters.filters()), filters


@require_GET
@vary_on_headers("HX-Request")
def order_list(request: HttpRequest) -> HttpResponse:
    orders, filters = _filtered_orders(request.GET)
    orders = disputes.orders_with_open_dispute(orders.select_related("payment_link"))
    cap = SEARCH_COUNT_CAP if filters.values["q"] else None
    page = CappedPaginator(orders, ORDERS_PER_PAGE, cap=cap).get_page(request.GET.get("page"))
    orders_customer_ids(orders=page.object_list)  # each address links to its customer
    context = {"page": page, "filters": filters, "query": filters.query(), "links": filters.links}
    template = "links/order_list.html" + ("#order-table" if request.htmx else "")
    return render(request, template, context)


EXPORT_COLUMNS = [
    "public_id",
    "created_at",
    "checkout_session_id",
    "status",
    "payment_status",
    "customer_email",
    "customer_name",
    "currency",
    "amount_subtotal",
    "amount_discount",
    "amount_shipping",
    "amount_tax",
    "amount_total",
    "amount_paid",  # what the payment received: the total, or a manual capture's (it may be less)
    "amount_refunded",  # what succeeded refunds gave back (the net is amount_paid less it)
    "payment_link__stripe_id",
    "client_reference_id",
    "promotion_code",
    "promotion_code_text",  # as customers type it, beside its id
    "shipping_rate_name",
    "payment_intent_id",
    "invoice_id",
    "subscription_id",
    "paid_at",
    "fulfilled_at",
    "custom_fields",
]


def _custom_fields_cell(fields: list[dict]) -> str:
    """The customer's answers to the link's custom fields, "Label: answer" separated by semicolons."""
    return "; ".join(
        f"{field.get('label') or field.get('key')}: {field.get('value') or ''}" for field in fields
    )


@require_GET
def order_export(request: HttpRequest) -> StreamingHttpResponse:
    """Every order matching the filters as CSV, streamed: memory stays flat at 100,000 orders."""
    orders, _filters = _filtered_orders(request.GET)
    return _orders_csv(orders)


def _orders_csv(orders: QuerySet[Order]) -> StreamingHttpResponse:
    # In the list's order (its sort), or the model's, newest first.
    rows = orders.annotate(amount_paid=order_amount_paid_expression()).values_list(*EXPORT_COLUMNS)
    return csv_download(
        filename="orders.csv",
        header=[column.removesuffix("__stripe_id") for column in EXPORT_COLUMNS],
        rows=(
            [*row[:-1], _custom_fields_cell(row[-1] or [])] for row in rows.iterator(chunk_size=EXPORT_CHUNK)
        ),
    )


# BULK ACTIONS (the lists' row checkboxes, config/bulk.py) -----------------------------------------


def _order_bulk_actions() -> dict[str, str]:
    return {"fulfil": _("Mark as fulfilled"), "export": _("Export as CSV")}


@require_http_methods(["GET", "POST"])
def order_bulk(request: HtmxHttpRequest) -> HttpResponseBase:
    """GET: the selected orders and what will happen (an export is the CSV itself: it changes nothing);
    POST with ``confirm``: mark them fulfilled and report on the list. Viewers may only export."""
    data = request.POST if request.method == "POST" else request.GET
    selection = BulkSelectionForm(data, actions=_order_bulk_actions().items(), limit=ORDERS_PER_PAGE)
    orders = bulk_selected_rows(Order.objects.select_related("payment_link"), ids=selection.selected())
    action = selection.chosen_action() if orders else ""
    if action == "export":
        return _orders_csv(Order.objects.filter(id__in=[order.id for order in orders]))
    if request.method == "POST" and action and selection.cleaned_data["confirm"]:
        report = fulfilment.orders_mark_fulfilled(orders=orders, actor=request.user.get_username())
        done = ngettext(
            "%(count)d order marked as fulfilled.", "%(count)d orders marked as fulfilled.", len(report.done)
        )
        bulk_report_messages(request, report, done=done % {"count": len(report.done)})
        return redirect(selection.back_url(reverse("orders:list")))
    rows = [(order, fulfilment.order_mark_fulfilled_refusal(order=order)) for order in orders]
    context = bulk_confirm_context(selection=selection, action=action, rows=rows)
    return render_page(request, "links/order_bulk.html", context, partial="bulk-confirm")


# ONE ORDER -----------------------------------------------------------------------------------------


def order_page_context(order: Order) -> dict:
    """What the order page shows (its panels add their own state: the refund form, links/refund_views)."""
    return {
        "order": order,
        "amounts": order_summary.order_amounts(order, order.line_items.all()),
        "names": order_summary.order_names(order),
        "payment_badge": order_summary.order_payment_badge(order),
        "has_open_dispute": order.disputes.exclude(status__in=Dispute.CLOSED_STATUSES).exists(),
        "fulfilment_badge": order_summary.order_fulfilment_badge(order),
        # The payment in Stripe's Dashboard, or its checkout session when nothing was charged.
        "stripe_url": stripe_dashboard_url(order.payment_intent_id or order.checkout_session_id),
        "history": order_summary.order_history(order),
        "customer": customer_of_order(order=order),
        "emails": order.emails.all(),
        "can_fulfil": order.status == Order.Status.PAID,
        "refund_panel": order_summary.order_refund_panel(order),
    }


@require_GET
def order_detail(request: HttpRequest, public_id) -> HttpResponse:
    order = _order_for_staff(public_id)
    return render(request, "links/order_detail.html", order_page_context(order))


@require_POST
def order_fulfil(request: HttpRequest, public_id) -> HttpResponse:
    order = _order_for_staff(public_id)
    if fulfilment.order_mark_fulfilled(order=order, actor=request.user.get_username()):
        messages.success(request, _("The order is marked as fulfilled."))
    else:
        messages.error(request, _("Only a paid order can be marked as fulfilled."))
    return redirect("orders:detail", public_id=order.public_id)


@require_POST
def order_refetch(request: HttpRequest, public_id) -> HttpResponse:
    order = _order_for_staff(public_id)
    try:
        fulfilment.order_refetch(order=order, actor=request.user.get_username())
        refunds.payment_refunds_sync(order=order, actor=request.user.get_username())
    except Exception as exc:
        logger.warning("Refetch of %s failed: %r", order.checkout_session_id, exc)
        messages.error(request, _("Stripe could not be reached; the order is unchanged."))
    else:
        messages.success(request, _("The order is up to date with Stripe."))
    return redirect("orders:detail", public_id=order.public_id)


@require_POST
def order_email_resend(request: HttpRequest, public_id, email_id: int) -> HttpResponse:
    order = _order_for_staff(public_id)
    email = get_object_or_404(OutboundEmail, order=order, id=email_id)
    outbound_email_resend(email=email)
    if request.htmx:
        # Re-render the e-mails section from the database, as the page would show it now.
        context = {"order": order, "emails": order.emails.all(), "resent": email}
        return render(request, "links/order_detail.html#order-emails", context)
    messages.success(request, _("The e-mail will be sent again."))
    # The outbox page and the order page both offer the button; go back where it was pressed.
    if request.POST.get("next") == "outbox":
        return redirect("orders:email-list")
    return redirect("orders:detail", public_id=order.public_id)


# OUTBOX --------------------------------------------------------------------------------------------


@require_GET
@vary_on_headers("HX-Request")
def email_list(request: HttpRequest) -> HttpResponse:
    filters = EmailFilterForm(request.GET)
    emails = selectors.email_list(**filters.filters())
    page = CappedPaginator(emails, EMAILS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "filters": filters, "query": filters.query()}
    template = "links/order_outbox.html" + ("#email-table" if request.htmx else "")
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
def email_bulk(request: HtmxHttpRequest) -> HttpResponse:
    """GET: the selected e-mails and which will be sent again; POST with ``confirm``: resend the failed
    ones through the outbox, and report on the list."""
    data = request.POST if request.method == "POST" else request.GET
    actions = [("resend", _("Resend failed e-mails"))]
    selection = BulkSelectionForm(data, actions=actions, limit=EMAILS_PER_PAGE, parse=row_id)
    emails = bulk_selected_rows(
        OutboundEmail.objects.select_related("order"), ids=selection.selected(), field="id"
    )
    action = selection.chosen_action() if emails else ""
    if request.method == "POST" and action and selection.cleaned_data["confirm"]:
        report = outbound_emails_resend_failed(emails=emails)
        done = ngettext(
            "%(count)d e-mail will be sent again.", "%(count)d e-mails will be sent again.", len(report.done)
        )
        bulk_report_messages(request, report, done=done % {"count": len(report.done)})
        return redirect(selection.back_url(reverse("orders:email-list")))
    rows = [(email, outbound_email_resend_refusal(email=email)) for email in emails]
    context = bulk_confirm_context(selection=selection, action=action, rows=rows)
    return render_page(request, "links/email_bulk.html", context, partial="bulk-confirm")


# SUCCESS PAGE --------------------------------------------------------------------------------------


def _fetch_allowed(session_id: str) -> bool:
    """At most one fetch per session per interval, and a global budget: the page is public, and made-up
    session ids must not turn it into a way to spend our Stripe rate limit. With the cache down (Redis
    restarting), no fetch: the page keeps polling, and the webhook creates the order."""
    minute = int(time.time() // 60)
    try:
        if not cache.add(f"success-fetch:{session_id}", 1, SUCCESS_FETCH_INTERVAL):
            return False
        cache.add(f"success-fetch-budget:{minute}", 0, 120)
        return cache.incr(f"success-fetch-budget:{minute}") <= SUCCESS_FETCH_BUDGET_PER_MINUTE
    except ValueError:  # the budget's key expired between add and incr
        return True
    except Exception:  # noqa: BLE001 - each cache backend raises its own errors (redis.ConnectionError…)
        logger.warning("Success page fetch skipped: the cache is unavailable")
        return False


def _order_for_session(session_id: str) -> Order | None:
    order = Order.objects.filter(checkout_session_id=session_id).first()
    if order is not None or not _fetch_allowed(session_id):
        return order
    # The webhook is late (or lost): ask Stripe ourselves; fulfilment is idempotent.
    try:
        return fulfilment.checkout_session_fulfil(session_id=session_id, actor="success page")
    except Exception as exc:
        logger.info("Success page could not fetch %s: %r", session_id, exc)
        return None


@login_not_required  # the customer's landing page after paying
@never_cache
@require_GET
def order_success(request: HttpRequest) -> HttpResponse:
    session_id = request.GET.get("session_id", "")
    if not SESSION_ID_RE.match(session_id):
        raise Http404
    order = _order_for_session(session_id)
    try:
        polls = max(0, int(request.GET.get("poll", 0)))
    except ValueError:
        polls = 0
    # An authorisation waiting for staff's capture is settled for the customer: nothing more comes soon.
    settled = order is not None and (
        order.status in SETTLED_STATUSES or order.payment_intent_status == "requires_capture"
    )
    context = {
        "order": order,
        "session_id": session_id,
        "settled": settled,
        # A page left open does not poll for ever: after a few minutes the e-mail takes over.
        "polling": not settled and polls < SUCCESS_MAX_POLLS,
        "next_poll": polls + 1,
    }
    template = "links/order_success.html" + ("#order-status" if request.htmx else "")
    return render(request, template, context)
