from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from catalog.money import from_minor_units
from config.bulk import BulkSelectionForm, bulk_confirm_context, bulk_report_messages, bulk_selected_rows
from config.http import UNPROCESSABLE, HtmxHttpRequest, redirect_after_post, render_page
from config.pagination import SEARCH_COUNT_CAP, CappedPaginator
from config.spreadsheets import csv_download
from config.stripe_client import stripe_mode
from links import conversion, qr, selectors, services
from links.editor import ADD_ROW_BUTTONS, SECTIONS, LinkEditor
from links.forms import LinkFilterForm, UrlBuilderForm
from links.models import PaymentLink
from links.preview import link_preview

LINKS_PER_PAGE = 25

# /


@require_GET
def home(request: HtmxHttpRequest) -> HttpResponse:
    overview = selectors.dashboard_overview(currency=request.GET.get("currency", "")[:3].lower())
    context = {"overview": overview, "stripe_mode": stripe_mode()}
    # The currency choice swaps only the revenue section.
    return render_page(request, "home.html", context, partial="revenue")


# /links/


@require_GET
def link_list(request: HtmxHttpRequest) -> HttpResponse:
    filters = LinkFilterForm(request.GET)
    criteria = filters.filters()
    links = selectors.link_list(**criteria)
    cap = SEARCH_COUNT_CAP if criteria.get("query") else None
    page = CappedPaginator(links, LINKS_PER_PAGE, cap=cap).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"page": page, "query_string": query.urlencode(), "filters": filters}
    return render_page(request, "links/link_list.html", context, partial="link-table")


# /links/bulk/: the list's row checkboxes


def _link_bulk_actions() -> dict[str, str]:
    return {"deactivate": _("Deactivate"), "reactivate": _("Reactivate"), "export": _("Export as CSV")}


@require_http_methods(["GET", "POST"])
def link_bulk(request: HtmxHttpRequest) -> HttpResponseBase:
    """GET: the selected links and what the action will do (for an export, the CSV itself: it changes
    nothing); POST with ``confirm``: (de)activate them and report on the list. Viewers may only export
    (the roles middleware refuses their POST)."""
    data = request.POST if request.method == "POST" else request.GET
    selection = BulkSelectionForm(data, actions=_link_bulk_actions().items(), limit=LINKS_PER_PAGE)
    links = bulk_selected_rows(PaymentLink.objects.all(), ids=selection.selected())
    action = selection.chosen_action() if links else ""
    if action == "export":
        return link_csv(links)
    active = action == "reactivate"
    if request.method == "POST" and action and selection.cleaned_data["confirm"]:
        report = services.payment_links_set_active(links=links, active=active)
        count = len(report.done)
        if active:
            done = ngettext("%(count)d link reactivated.", "%(count)d links reactivated.", count)
        else:
            done = ngettext("%(count)d link deactivated.", "%(count)d links deactivated.", count)
        bulk_report_messages(request, report, done=done % {"count": count})
        return redirect(selection.back_url(reverse("links:list")))
    rows = [(link, services.payment_link_set_active_refusal(link=link, active=active)) for link in links]
    context = bulk_confirm_context(selection=selection, action=action, rows=rows)
    return render_page(request, "links/link_bulk.html", context, partial="bulk-confirm")


def link_csv(links: list) -> StreamingHttpResponse:
    """The links as a CSV file (amounts in minor units, as the orders' export)."""
    return csv_download(
        filename="payment-links.csv",
        header=LINK_EXPORT_COLUMNS,
        rows=([getattr(link, column) for column in LINK_EXPORT_COLUMNS] for link in links),
    )


LINK_EXPORT_COLUMNS = [
    "public_id",
    "name",
    "stripe_id",
    "url",
    "active",
    "currency",
    "is_recurring",
    "orders_count",
    "revenue",
    "created_at",
]


# /links/new/ and /links/<uuid>/edit/


@require_http_methods(["GET", "POST"])
def link_create(request: HtmxHttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    editor = LinkEditor(data, **_duplicate_of(request.GET.get("from")))
    context = {
        "editor": editor,
        "form_action": reverse("links:create"),
        "preview": lambda: link_preview(editor=editor),  # computed only where the page shows it
    }
    if data is not None and request.htmx and "preview" in data:
        return render_page(request, "links/link_form.html", context, partial="link-preview")
    if data is not None and (section := _section(request, editor)):
        return render_page(
            request,
            "links/link_form.html",
            {**context, "oob": section == "line-items", "live_section": section},
            partial=f"section-{section}",
        )
    if data is not None and editor.is_valid():
        try:
            link = services.payment_link_create(
                name=editor.details.cleaned_data["name"],
                notes=editor.details.cleaned_data["notes"],
                line_items=editor.service_line_items(),
                options=editor.options(),
                created_by=request.user,
                request_token=editor.details.cleaned_data["request_token"],
            )
        except ValidationError as error:
            editor.add_errors(error)
        else:
            messages.success(request, _("Payment link “%(name)s” created.") % {"name": link.name})
            return redirect_after_post(request, reverse("links:detail", args=[link.public_id]))
    status = UNPROCESSABLE if data is not None else 200
    return render_page(request, "links/link_form.html", context, partial="link-form", status=status)


def _section(request: HtmxHttpRequest, editor: LinkEditor) -> str:
    """The section to re-render alone: a row added (with or without JS) or an htmx live check."""
    added = [section for button, section in ADD_ROW_BUTTONS.items() if button in request.POST]
    section = request.POST.get("section", "")
    if added:
        section = section if section in SECTIONS else added[0]
    elif not (request.htmx and section in SECTIONS):
        return ""
    elif section != "line-items":
        editor.section_is_valid(section)
    if section == "line-items":
        editor.line_items_in_progress()
    return section


def _duplicate_of(public_id: str | None) -> dict:
    """The editor's initial values copied from an existing link (``?from=<uuid>``)."""
    if not public_id:
        return {}
    link = selectors.link_get(public_id=public_id)
    items = [_row_initial(item) for item in selectors.link_line_items(link=link)]
    return {
        "options": link.options,
        "line_items": items,
        "currency": link.currency,
        "details": {"name": _("Copy of %(name)s") % {"name": link.name}, "notes": link.notes},
    }


def _row_initial(item) -> dict:
    """A line item as the editor's row, for a duplicate."""
    adjustable = item.adjustable_quantity or {}
    row = {
        "price": item.price,
        "quantity": item.quantity,
        "adjustable": bool(adjustable.get("enabled")),
        "minimum": adjustable.get("minimum"),
        "maximum": adjustable.get("maximum"),
    }
    if item.price is None and item.price_data:
        data = item.price_data
        row.update(
            adhoc_name=data["product_data"]["name"],
            adhoc_currency=data["currency"],
            adhoc_amount=from_minor_units(data["unit_amount"], data["currency"]),
            adhoc_interval=(data.get("recurring") or {}).get("interval", ""),
        )
    return row


@require_http_methods(["GET", "POST"])
def link_edit(request: HtmxHttpRequest, public_id) -> HttpResponse:
    link = selectors.link_get(public_id=public_id)
    data = request.POST if request.method == "POST" else None
    line_items = list(selectors.link_line_items(link=link))
    editor = LinkEditor(
        data,
        options={**link.options, "_recurring": link.is_recurring},
        currency=link.currency,
        details={"name": link.name, "notes": link.notes},
        editing=True,
        existing_items=line_items,
    )
    context = {
        "editor": editor,
        "link": link,
        "line_items": line_items,
        "form_action": reverse("links:edit", args=[link.public_id]),
        "preview": lambda: link_preview(editor=editor),
    }
    if data is not None and request.htmx and "preview" in data:
        return render_page(request, "links/link_form.html", context, partial="link-preview")
    if data is not None and (section := _section(request, editor)):
        context["live_section"] = section
        return render_page(request, "links/link_form.html", context, partial=f"section-{section}")
    if data is not None and editor.is_valid():
        try:
            services.payment_link_update(
                link=link,
                name=editor.details.cleaned_data["name"],
                notes=editor.details.cleaned_data["notes"],
                options=editor.options(),
                line_items=editor.service_item_updates(),
            )
        except ValidationError as error:
            editor.add_errors(error)
        else:
            messages.success(
                request, _("Payment link “%(name)s” saved.") % {"name": editor.details.cleaned_data["name"]}
            )
            return redirect_after_post(request, reverse("links:detail", args=[link.public_id]))
    status = UNPROCESSABLE if data is not None else 200
    return render_page(request, "links/link_form.html", context, partial="link-form", status=status)


# /links/<uuid>/


@require_GET
def link_detail(request: HtmxHttpRequest, public_id) -> HttpResponse:
    link = selectors.link_get(public_id=public_id)
    builder = UrlBuilderForm(request.GET if "share-build" in request.GET else None)
    context = _detail_context(link, builder=builder, built_url=builder.build(link.url))
    if context["built_url"]:
        context["built_qr"] = qr.qr_svg_inline(context["built_url"], title=_("QR code of the URL built"))
    # The URL builder submits here (GET); htmx then needs only its section.
    partial = "url-builder" if builder.is_bound else ""
    return render_page(request, "links/link_detail.html", context, partial=partial)


def _detail_context(link, **extra) -> dict:
    return {
        "link": link,
        "line_items": selectors.link_line_items(link=link),
        "optional_items": selectors.link_optional_items(link=link),
        "preview": selectors.link_checkout_preview(link=link),
        "orders": selectors.link_orders(link=link),
        "totals": selectors.link_order_totals(link=link),
        "revenue": selectors.link_revenue_chart(link=link),
        "conversion": conversion.link_conversion(link_stripe_id=link.stripe_id),
        "qr_svg": qr.qr_svg_inline(link.url, title=_("QR code of %(url)s") % {"url": link.url}),
        "builder": UrlBuilderForm(),
        **extra,
    }


@require_http_methods(["GET", "POST"])
def link_set_active(request: HtmxHttpRequest, public_id) -> HttpResponse:
    """GET asks for confirmation; POST deactivates or reactivates (``active`` = ``true``/``false``)."""
    link = selectors.link_get(public_id=public_id)
    active = (request.POST if request.method == "POST" else request.GET).get("active") == "true"
    context = _detail_context(link, confirm_active=active)
    if request.method == "GET":
        return render_page(request, "links/link_detail.html", context, partial="link-status")
    try:
        link = services.payment_link_set_active(link=link, active=active)
    except ValidationError as error:
        context["status_errors"] = error.messages
        return render_page(
            request, "links/link_detail.html", context, partial="link-status", status=UNPROCESSABLE
        )
    messages.success(request, _("Link activated.") if active else _("Link deactivated."))
    return redirect_after_post(request, reverse("links:detail", args=[link.public_id]))


@require_GET
def link_qr(request: HtmxHttpRequest, public_id, kind: str) -> HttpResponse:
    """The link's QR code as a PNG or SVG download."""
    if kind not in {"png", "svg"}:
        raise Http404
    link = selectors.link_get(public_id=public_id)
    content_type = "image/png" if kind == "png" else "image/svg+xml"
    response = HttpResponse(qr.qr_file(link.url, kind=kind), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="paylink-{link.public_id}.{kind}"'
    return response
