from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from catalog.http import UNPROCESSABLE, HtmxHttpRequest, redirect_after_post, render_page
from config.stripe_client import stripe_mode
from links import qr, selectors, services
from links.forms import PaymentLinkCreateForm, add_link_errors, line_items_cleaned, line_items_formset

LINKS_PER_PAGE = 25

# /


@require_GET
def home(request: HtmxHttpRequest) -> HttpResponse:
    context = {"overview": selectors.dashboard_overview(), "stripe_mode": stripe_mode()}
    return render(request, "home.html", context)


# /links/


@require_GET
def link_list(request: HtmxHttpRequest) -> HttpResponse:
    links = selectors.link_list(query=request.GET.get("q", "").strip())
    page = Paginator(links, LINKS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"page": page, "query_string": query.urlencode(), "q": request.GET.get("q", "")}
    return render_page(request, "links/link_list.html", context, partial="link-table")


# /links/new/


@require_http_methods(["GET", "POST"])
def link_create(request: HtmxHttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form, formset = PaymentLinkCreateForm(data), line_items_formset(data)
    context = {"form": form, "formset": formset}
    if data is not None and "add_line_item" in data:
        # Adding a row re-renders the form with one more (only the rows' section for htmx).
        return render_page(request, "links/link_form.html", context, partial="line-items")
    if data is not None and form.is_valid() and formset.is_valid():
        try:
            link = services.payment_link_create(
                name=form.cleaned_data["name"], notes=form.cleaned_data["notes"],
                line_items=line_items_cleaned(formset), created_by=request.user,
                request_token=form.cleaned_data["request_token"],
            )
        except ValidationError as error:
            add_link_errors(form, formset, error)
        else:
            messages.success(request, _("Payment link “%(name)s” created.") % {"name": link.name})
            return redirect_after_post(request, reverse("links:detail", args=[link.public_id]))
    status = UNPROCESSABLE if data is not None else 200
    return render_page(request, "links/link_form.html", context, partial="link-form", status=status)


# /links/<uuid>/


@require_GET
def link_detail(request: HtmxHttpRequest, public_id) -> HttpResponse:
    link = selectors.link_get(public_id=public_id)
    return render_page(request, "links/link_detail.html", _detail_context(link))


def _detail_context(link, **extra) -> dict:
    return {
        "link": link,
        "line_items": selectors.link_line_items(link=link),
        "orders": selectors.link_orders(link=link),
        "totals": selectors.link_order_totals(link=link),
        "qr_svg": qr.qr_svg_inline(link.url, title=_("QR code of %(url)s") % {"url": link.url}),
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
        return render_page(request, "links/link_detail.html", context, partial="link-status", status=UNPROCESSABLE)
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
