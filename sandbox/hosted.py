"""The hosted payment page at each payment link's URL, like ``buy.stripe.com/test_…``.

``GET /sandbox/pay/<token>`` opens a new Checkout Session and shows its form; the form posts to the
session's page (``sandbox:checkout``). A POST straight to the link URL opens and pays a session in one
step (handy for tests and scripts). Public pages: no dashboard login.
"""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRefresh

from sandbox import account, billing, checkout, clock, clock_tick, delivery, discounts, pricing, store, totals
from sandbox.forms import FORM_ID, SUMMARY_PREFIXES, PayForm
from sandbox.models import ApiObject

# Stripe: client_reference_id "can be composed of alphanumeric characters, dashes, or underscores, and be
# any value up to 200 characters"; UTM values alphanumerics, dashes and underscores up to 150. Others ignored.
_REFERENCE = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
_UTM = re.compile(r"^[A-Za-z0-9_-]{1,150}$")
TOTAL_CHANGED = _("The total is now %(total)s. Nothing was charged: check the order, then pay again.")
# In the error summary at the top: which field, then what is wrong with it.
ERROR_AT_FIELD = _("%(field)s: %(error)s")
# The payment method reuse agreement, shown when the payment method is kept for later payments.
REUSE_AGREEMENT = _(
    "By saving your payment details, you allow %(merchant)s to charge them for future payments in "
    "accordance with their terms."
)
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
    return _page(request, session, link, _form(session, link, country=_default_country(request)))


@login_not_required
@require_http_methods(["GET", "POST"])
def checkout_page(request: HttpRequest, session_id: str) -> HttpResponse:
    clock_tick.sandbox_tick_from_page()
    session = _session(session_id)
    if session.data["status"] == "open" and session.data["expires_at"] <= clock.now():
        # Past its expiry and the tick has not come yet: this page shows it expired, never payable.
        clock_tick.session_expire_if_due(session_id=session_id)
        session = _session(session_id)
    link = store.get(type="payment_link", object_id=session.parent)
    _activate(session.data)
    if request.htmx and (session.data["status"] != "open" or not checkout.link_available(link.data)):
        # A summary update for a session no longer payable: reload the whole page, which says why.
        return HttpResponseClientRefresh()
    if session.data["status"] == "complete":
        return _confirmation(request, session, link)
    if session.data["status"] == "expired":
        return render(request, "sandbox/expired.html", {"link": link.data}, status=410)
    if not checkout.link_available(link.data):
        return _inactive(request, link)
    if request.method == "POST":
        return _pay(request, session, link)
    return _page(request, session, link, _form(session, link, country=_default_country(request)))


def _form(
    session: ApiObject, link: ApiObject, data=None, *, preview: bool = False, country: str = ""
) -> PayForm:
    return PayForm(
        data,
        link=link.data,
        line_items=session.data["_line_items"],
        preview=preview,
        reprice_url=reverse("sandbox:checkout", args=[session.stripe_id]),
        collect_payment_method=checkout.payment_method_collected(session=session.data, link=link.data),
        initial={
            "email": session.data["customer_email"] or "",
            "promotion_code": session.data.get("_prefilled_promo_code", ""),
            "billing_country": country,
        },
    )


def _default_country(request: HttpRequest) -> str:
    """The billing country shown first (Stripe guesses it from the IP address): the browser's region
    (``fr-FR``), else the merchant's country."""
    for tag in request.META.get("HTTP_ACCEPT_LANGUAGE", "").split(","):
        parts = tag.split(";")[0].strip().split("-")
        if len(parts) > 1 and len(parts[1]) == 2:
            return parts[1].upper()
    return account.account_get().data.get("country") or "US"


def _selection(form: PayForm) -> dict:
    """An unbound form's initial choices as submitted data, so that the first render is priced exactly
    as a submission of the same choices would be."""
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if value not in (None, "", False):
            data[name] = field.widget.format_value(value) if name.startswith("quantity_") else value
    return data


def _summary(
    session: ApiObject, link: ApiObject, data, *, country: str
) -> tuple[dict, PayForm, checkout.Payment | None]:
    """The session priced for the selection in ``data`` (the page's own initial choices when None), the
    pricing form that read it and the choices priced (None when invalid: the last saved amounts)."""
    if data is None:
        data = _selection(_form(session, link, country=country))
    form = _form(session, link, data, preview=True, country=country)
    if not form.is_valid():
        return session.data, form, None
    payment = _payment(form, email=_valid_email(data.get("email", "")))
    try:
        return totals.session_quote(session.data, link.data, payment), form, payment
    except discounts.PromotionCodeRefused as refused:
        form.add_error("promotion_code", str(refused.message))
        payment = replace(payment, promotion_code=None)
        return totals.session_quote(session.data, link.data, payment), form, payment


def _valid_email(value: str) -> str:
    try:
        validate_email(value)
    except ValidationError:
        return ""
    return value


def _shown_total(request: HttpRequest) -> int | None:
    """The total the page showed next to the pay button; None when the POST did not come from the page
    (a script paying a link in one step)."""
    value = request.POST.get("shown_total")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return -1


def _pay(request: HttpRequest, session: ApiObject, link: ApiObject) -> HttpResponse:
    preview = "update" in request.POST
    country = _default_country(request)
    if preview:
        return _reprice(request, session, link, country=country)
    form = _form(session, link, request.POST, country=country)
    if not form.is_valid():
        return _page(request, session, link, form)
    summary, _pricing, _priced = _summary(session, link, request.POST, country=country)
    shown = _shown_total(request)
    if shown is not None and shown != summary["amount_total"]:
        # The customer pays only the total the page showed: show the new one, charge nothing.
        message = TOTAL_CHANGED % {"total": _money(summary["amount_total"], summary)}
        return _page(request, session, link, form, status=409, total_changed=message)
    try:
        result = checkout.session_pay(session_id=session.stripe_id, payment=_payment(form))
    except checkout.LinkUnavailable:
        return _inactive(request, link)
    except checkout.SessionNotOpen:
        return HttpResponseRedirect(reverse("sandbox:checkout", args=[session.stripe_id]))
    except discounts.PromotionCodeRefused as refused:
        form.add_error("promotion_code", str(refused.message))
        return _page(request, session, link, form)
    return _outcome(request, result, link, form)


def _reprice(request: HttpRequest, session: ApiObject, link: ApiObject, *, country: str) -> HttpResponse:
    """ "Update total" (no JavaScript) and every HTMX change: save the session's new amounts, show them."""
    summary, pricing, payment = _summary(session, link, request.POST, country=country)
    if payment is not None:
        try:
            session = checkout.session_reprice(session_id=session.stripe_id, payment=payment)
        except checkout.SessionNotOpen:
            return HttpResponseRedirect(reverse("sandbox:checkout", args=[session.stripe_id]))
    if request.htmx:
        context = _context(request, session, link, pricing, summary=summary)
        return render(request, "sandbox/pay.html#summary", context)
    return _page(request, session, link, _form(session, link, request.POST, preview=True, country=country))


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


def _payment(form: PayForm, *, email: str | None = None) -> checkout.Payment:
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
    if data.get("shipping_line1") and data.get("shipping_country"):
        shipping = {
            "name": data.get("shipping_name") or "",
            "address": {
                "city": data.get("shipping_city"),
                "country": data["shipping_country"],
                "line1": data["shipping_line1"],
                "line2": None,
                "postal_code": data.get("shipping_postal_code"),
                "state": None,
            },
        }
    custom = {
        k.removeprefix("custom_"): (v or None)
        for k, v in data.items()
        if k.startswith("custom_") and k != "custom_amount"
    }
    return checkout.Payment(
        email=data.get("email") or email or "",
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
    total_changed: str = "",
) -> HttpResponse:
    country = _default_country(request)
    summary, _pricing, _priced = _summary(
        session, link, form.data if form.is_bound else None, country=country
    )
    context = _context(
        request,
        session,
        link,
        form,
        summary=summary,
        card_error=card_error,
        total_changed=total_changed,
    )
    response = render(request, "sandbox/pay.html", context, status=status)
    _allow_redirect_target(response, link.data)
    return response


def _context(
    request: HttpRequest,
    session: ApiObject,
    link: ApiObject,
    form: PayForm,
    *,
    summary: dict,
    card_error: str = "",
    total_changed: str = "",
) -> dict:
    """The page's context; ``summary`` is the session priced for the shown selection."""
    merchant = account.account_get().data
    lines = _summary_lines(form, summary)
    details = summary["total_details"]
    errors = []
    if form.is_bound:
        for name, messages in form.errors.items():
            if name == "__all__":
                errors += [{"message": m, "target": "summary"} for m in messages]
            elif name in form.fields:
                label = form.fields[name].label
                errors += [
                    {
                        "message": ERROR_AT_FIELD % {"field": label, "error": m},
                        "target": form[name].id_for_label,
                    }
                    for m in messages
                ]
    if card_error:
        errors.append({"message": card_error, "target": "id_card_number"})
    if total_changed:
        errors.append({"message": total_changed, "target": "total"})
    trial_days = (
        billing.trial_days(link=link.data, line_items=summary["_line_items"])
        if totals.is_trial(link=link.data, line_items=summary["_line_items"])
        else None
    )
    return {
        "merchant": merchant["business_profile"]["name"],
        "reuse_agreement": REUSE_AGREEMENT % {"merchant": merchant["business_profile"]["name"]}
        if _reuse_agreement_shown(session.data, link.data)
        else "",
        "trial_days": trial_days,
        "after_trial": _after_trial_text(summary),
        "business_fields": form.business_fields,
        "terms_url": merchant.get("_terms_url"),
        "privacy_url": merchant.get("_privacy_url"),
        "session": session.data,
        "summary": summary,
        "link": link.data,
        "lines": lines,
        "summary_names": [n for n in form.fields if n.startswith(SUMMARY_PREFIXES)],
        "summary_fields": [
            form[name]
            for name in form.fields
            if name.startswith(SUMMARY_PREFIXES) and not name.startswith("quantity_")
        ],
        "total": _money(summary["amount_total"], summary),
        "subtotal": _money(summary["amount_subtotal"], summary),
        "discount": _money(details["amount_discount"], summary),
        "shipping": _money(details["amount_shipping"] or 0, summary),
        "tax": _money(details["amount_tax"], summary),
        "form": form,
        "form_id": FORM_ID,
        "submit_label": _submit_label(link.data["submit_type"]),
        "action": reverse("sandbox:checkout", args=[session.stripe_id]),
        "card_error": card_error,
        "total_changed": total_changed,
        "errors": errors,
    }


def _summary_lines(form: PayForm, summary: dict) -> list[dict]:
    """The link's items in its order, each with its quantity field when adjustable (one brought down to 0
    stays listed at 0.00, so that the customer can add it back), then the optional items added."""
    priced = {line["_link_item"]: line for line in summary["_line_items"]}
    lines = []
    for item in form.line_items:
        line = priced.get(item["_link_item"])
        name = f"quantity_{item['_link_item']}"
        lines.append(
            {
                "name": item["description"],
                "quantity": line["quantity"] if line else 0,
                "amount": _money(line["amount_subtotal"] if line else 0, summary),
                "quantity_field": form[name] if name in form.fields else None,
            }
        )
    for line in summary["_line_items"]:
        if totals.is_optional_line(line):
            lines.append(
                {
                    "name": line["description"],
                    "quantity": line["quantity"],
                    "amount": _money(line["amount_subtotal"], summary),
                    "quantity_field": None,
                }
            )
    return lines


def _after_trial_text(summary: dict) -> str:
    """Under "N days free", as on Stripe's page: what each billing period costs once the trial is over."""
    after = totals.after_trial(summary["_line_items"])
    if after is None:
        return ""
    count = after["interval_count"]
    phrases = {
        "day": ngettext(
            "Then %(amount)s per day after the trial",
            "Then %(amount)s every %(count)d days after the trial",
            count,
        ),
        "week": ngettext(
            "Then %(amount)s per week after the trial",
            "Then %(amount)s every %(count)d weeks after the trial",
            count,
        ),
        "month": ngettext(
            "Then %(amount)s per month after the trial",
            "Then %(amount)s every %(count)d months after the trial",
            count,
        ),
        "year": ngettext(
            "Then %(amount)s per year after the trial",
            "Then %(amount)s every %(count)d years after the trial",
            count,
        ),
    }
    return phrases[after["interval"]] % {"amount": _money(after["amount"], summary), "count": count}


def _reuse_agreement_shown(session: dict, link: dict) -> bool:
    """Stripe shows its reuse agreement when the payment method is saved for later payments (a subscription,
    or ``payment_intent_data[setup_future_usage]``), unless the link's ``position`` is ``hidden``."""
    reuse = (link.get("consent_collection") or {}).get("payment_method_reuse_agreement") or {}
    saved = session["mode"] == "subscription" or bool(
        (link.get("payment_intent_data") or {}).get("setup_future_usage")
    )
    collected = checkout.payment_method_collected(session=session, link=link)
    return saved and collected and reuse.get("position") != "hidden"


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
