"""The hosted payment page at each payment link's URL, like ``buy.stripe.com/test_…``.

``GET /sandbox/pay/<token>`` opens a new Checkout Session and shows its form; the form posts to the
session's page (``sandbox:checkout``). A POST straight to the link URL opens and pays a session in one
step (handy for tests and scripts). Public pages: no dashboard login.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.http import require_http_methods

from sandbox import account, checkout, clock, delivery, discounts, pricing, store
from sandbox.forms import PayForm
from sandbox.models import ApiObject

# Stripe: client_reference_id "can be composed of alphanumeric characters, dashes, or underscores, and be
# any value up to 200 characters"; UTM values alphanumerics, dashes and underscores up to 150. Others ignored.
_REFERENCE = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
_UTM = re.compile(r"^[A-Za-z0-9_-]{1,150}$")
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def _locale(value: str) -> str | None:
    """Stripe's ``locale``: ``auto`` or a supported language; anything else is ignored."""
    supported = {code for code, _ in settings.LANGUAGES}
    return value if value == "auto" or value in supported else None


def _activate(session: dict) -> None:
    """Show the page in the session's locale (``auto``/none: the browser's, via LocaleMiddleware)."""
    if session.get("locale") and session["locale"] != "auto":
        translation.activate(session["locale"])


def _link_for_token(token: str) -> ApiObject:
    link = ApiObject.objects.filter(type="payment_link", key=token).first()
    if link is None:
        raise Http404
    return link


def _session(session_id: str) -> ApiObject:
    session = ApiObject.objects.filter(type="checkout.session", stripe_id=session_id).first()
    if session is None:
        raise Http404
    return session


def _open_session(request: HttpRequest, link: ApiObject) -> ApiObject:
    query = request.GET
    email = query.get("prefilled_email", "")
    try:
        validate_email(email)
    except ValidationError:
        email = ""
    reference = query.get("client_reference_id", "")
    return checkout.session_open(
        link=link,
        hosted_url_for=lambda sid: request.build_absolute_uri(reverse("sandbox:checkout", args=[sid])),
        client_reference_id=reference if _REFERENCE.match(reference) else None,
        customer_email=email or None,
        locale=_locale(query.get("locale", "")),
        utm={k: query[k] for k in UTM_KEYS if _UTM.match(query.get(k, ""))},
        prefilled_promo_code=query.get("prefilled_promo_code", "")[:500],
        base_url=request.build_absolute_uri("/").rstrip("/"),
    )


@login_not_required
@require_http_methods(["GET", "POST"])
def pay(request: HttpRequest, token: str) -> HttpResponse:
    link = _link_for_token(token)
    if not checkout.link_available(link.data):
        return _inactive(request, link)
    session = _open_session(request, link)
    _activate(session.data)
    if request.method == "POST":
        return _pay(request, session, link)
    return _page(request, session, link, _form(session, link))


@login_not_required
@require_http_methods(["GET", "POST"])
def checkout_page(request: HttpRequest, session_id: str) -> HttpResponse:
    clock.sandbox_tick_from_page()
    session = _session(session_id)
    if session.data["status"] == "open" and session.data["expires_at"] <= clock.now():
        # Past its expiry and the tick has not come yet: this page shows it expired, never payable.
        clock.session_expire_if_due(session_id=session_id)
        session = _session(session_id)
    link = store.get(type="payment_link", object_id=session.parent)
    _activate(session.data)
    if session.data["status"] == "complete":
        return _confirmation(request, session, link)
    if session.data["status"] == "expired":
        return render(request, "sandbox/expired.html", {"link": link.data}, status=410)
    if not checkout.link_available(link.data):
        return _inactive(request, link)
    if request.method == "POST":
        return _pay(request, session, link)
    return _page(request, session, link, _form(session, link))


def _form(session: ApiObject, link: ApiObject, data=None, *, preview: bool = False) -> PayForm:
    return PayForm(
        data,
        link=link.data,
        line_items=session.data["_line_items"],
        preview=preview,
        initial={
            "email": session.data["customer_email"] or "",
            "promotion_code": session.data.get("_prefilled_promo_code", ""),
        },
    )


def _pay(request: HttpRequest, session: ApiObject, link: ApiObject) -> HttpResponse:
    preview = "update" in request.POST
    form = _form(session, link, request.POST, preview=preview)
    if not form.is_valid():
        return _page(request, session, link, form)
    try:
        if preview:
            session = checkout.session_reprice(session_id=session.stripe_id, payment=_payment(form))
            return _page(request, session, link, _form(session, link, request.POST, preview=True))
        result = checkout.session_pay(session_id=session.stripe_id, payment=_payment(form))
    except checkout.LinkUnavailable:
        return _inactive(request, link)
    except checkout.SessionNotOpen:
        return HttpResponseRedirect(reverse("sandbox:checkout", args=[session.stripe_id]))
    except discounts.PromotionCodeRefused as refused:
        form.add_error("promotion_code", str(refused.message))
        return _page(request, session, link, form)
    return _outcome(request, result, link, form)


def _outcome(
    request: HttpRequest, result: checkout.PaymentResult, link: ApiObject, form: PayForm | None
) -> HttpResponse:
    session = result.session
    if result.requires_action:
        return HttpResponseRedirect(reverse("sandbox:authenticate", args=[session.stripe_id]))
    if result.decline is not None:
        if form is None:
            # After the 3-D Secure page there is no submitted form: show the error above a fresh one.
            return _page(
                request,
                session,
                link,
                _form(session, link),
                status=402,
                card_error=str(result.decline.message),
            )
        form.add_error(result.decline.field, str(result.decline.message))
        return _page(request, session, link, form, status=402)
    # Committed: now wait for the endpoints' answer to checkout.session.completed, as Stripe does.
    delivery.deliver_now(event_id=result.completed_event_id)
    return _after_completion(request, session, link)


@login_not_required
@require_http_methods(["GET", "POST"])
def authenticate(request: HttpRequest, session_id: str) -> HttpResponse:
    """The 3-D Secure challenge for test cards that require it: approve or fail the payment."""
    session = _session(session_id)
    if session.data["status"] != "open" or not session.data.get("_pending_payment"):
        return HttpResponseRedirect(reverse("sandbox:checkout", args=[session_id]))
    link = store.get(type="payment_link", object_id=session.parent)
    _activate(session.data)
    if request.method == "GET":
        amount = _money(session.data["amount_total"], session.data)
        return render(request, "sandbox/authenticate.html", {"session": session.data, "amount": amount})
    try:
        result = checkout.session_authenticate(
            session_id=session_id, approved=request.POST.get("outcome") == "approve"
        )
    except checkout.SessionNotOpen:
        return HttpResponseRedirect(reverse("sandbox:checkout", args=[session_id]))
    except checkout.LinkUnavailable:
        return _inactive(request, link)
    return _outcome(request, result, link, None)


def _payment(form: PayForm) -> checkout.Payment:
    data = form.cleaned_data
    address = None
    if data.get("billing_country"):
        address = {
            "city": data.get("billing_city") or None,
            "country": data["billing_country"].upper(),
            "line1": data.get("billing_line1") or None,
            "line2": None,
            "postal_code": data.get("billing_postal_code") or None,
            "state": None,
        }
    shipping = None
    if data.get("shipping_line1"):
        shipping = {
            "name": data["shipping_name"],
            "address": {
                "city": data["shipping_city"],
                "country": data["shipping_country"],
                "line1": data["shipping_line1"],
                "line2": None,
                "postal_code": data["shipping_postal_code"],
                "state": None,
            },
        }
    custom = {
        k.removeprefix("custom_"): (v or None)
        for k, v in data.items()
        if k.startswith("custom_") and k != "custom_amount"
    }
    return checkout.Payment(
        email=data.get("email") or "",
        card_number=data.get("card_number") or "",
        name=data.get("cardholder_name") or "",
        promotion_code=data.get("promotion_code") or None,
        payment_method_type=data.get("payment_method") or "card",
        optional_items=form.optional_items(),
        individual_name=data.get("individual_name") or None,
        business_name=data.get("business_name") or None,
        tax_id={"type": data.get("tax_id_type") or "unknown", "value": data["tax_id_value"]}
        if data.get("tax_id_value")
        else None,
        exp_month=(data.get("card_expiry") or (None, None))[0],
        exp_year=(data.get("card_expiry") or (None, None))[1],
        iban=data.get("iban") or "",
        quantities=form.quantities(),
        custom_amount=data.get("custom_amount"),
        phone=data.get("phone"),
        address=address,
        shipping=shipping,
        shipping_rate=data.get("shipping_rate"),
        custom_fields=custom,
        terms_accepted=bool(data.get("terms")),
        promotions=("opt_in" if data.get("promotions") else "opt_out") if "promotions" in data else None,
    )


def _after_completion(request: HttpRequest, session: ApiObject, link: ApiObject) -> HttpResponse:
    after = link.data["after_completion"]
    if after["type"] == "redirect":
        return HttpResponseRedirect(redirect_url(after["redirect"]["url"], session=session.data))
    return HttpResponseRedirect(reverse("sandbox:checkout", args=[session.stripe_id]))


def redirect_url(template: str, *, session: dict) -> str:
    """The merchant's URL with ``{CHECKOUT_SESSION_ID}`` filled in and the link's UTM codes forwarded."""
    url = template.replace("{CHECKOUT_SESSION_ID}", session["id"])
    utm = session.get("_utm") or {}
    if not utm:
        return url
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode(utm)]))
    return urlunsplit(parts._replace(query=query))


def _inactive(request: HttpRequest, link: ApiObject) -> HttpResponse:
    return render(request, "sandbox/inactive.html", {"link": link.data}, status=410)


def _confirmation(request: HttpRequest, session: ApiObject, link: ApiObject) -> HttpResponse:
    context = {
        "session": store.public(session.data),
        "link": link.data,
        "total": _money(session.data["amount_total"], session.data),
    }
    return render(request, "sandbox/confirmation.html", context)


def _money(amount: int, session: dict) -> str:
    return pricing.format_amount(amount, session["currency"])


def _page(
    request: HttpRequest,
    session: ApiObject,
    link: ApiObject,
    form: PayForm,
    *,
    status: int = 200,
    card_error: str = "",
) -> HttpResponse:
    merchant = account.account_get().data
    lines = [
        {
            "name": item["description"],
            "quantity": item["quantity"],
            "amount": _money(item["amount_subtotal"], session.data),
            "quantity_field": form[f"quantity_{item['_link_item']}"]
            if f"quantity_{item['_link_item']}" in form.fields
            else None,
        }
        for item in session.data["_line_items"]
    ]
    context = {
        "merchant": merchant["business_profile"]["name"],
        "terms_url": merchant.get("_terms_url"),
        "privacy_url": merchant.get("_privacy_url"),
        "session": session.data,
        "link": link.data,
        "lines": lines,
        "total": _money(session.data["amount_total"], session.data),
        "discount": _money(session.data["total_details"]["amount_discount"], session.data),
        "shipping": _money(session.data["total_details"]["amount_shipping"] or 0, session.data),
        "tax": _money(session.data["total_details"]["amount_tax"], session.data),
        "form": form,
        "submit_label": _submit_label(link.data["submit_type"]),
        "action": reverse("sandbox:checkout", args=[session.stripe_id]),
        "card_error": card_error,
    }
    response = render(request, "sandbox/pay.html", context, status=status)
    _allow_redirect_target(response, link.data)
    return response


def _allow_redirect_target(response: HttpResponse, link: dict) -> None:
    """Let the form's POST end at the merchant's redirect URL: browsers apply CSP ``form-action`` to the
    redirect that follows a submission, and the site's policy only names this origin."""
    after = link["after_completion"]
    if after["type"] != "redirect":
        return
    parts = urlsplit(after["redirect"]["url"])
    policy = dict(getattr(settings, "SECURE_CSP", None) or {})
    if not policy:
        return
    policy["form-action"] = [*policy.get("form-action", []), f"{parts.scheme}://{parts.netloc}"]
    response._csp_config = policy


def _submit_label(submit_type: str) -> str:
    from django.utils.translation import gettext

    return {"book": gettext("Book"), "donate": gettext("Donate"), "subscribe": gettext("Subscribe")}.get(
        submit_type, gettext("Pay")
    )
