"""View helpers shared by the dashboard apps: one template per page, one partial per HTMX target."""

from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

# Invalid forms answer 422; static/js/paylinks.js lets htmx 2 swap that answer into its section.
UNPROCESSABLE = 422


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def render_page(
    request: HtmxHttpRequest, template: str, context: dict, *, partial: str = "", status: int = 200
) -> HttpResponse:
    """The full page, or only ``partial`` (``page.html#partial``) when htmx asked for it."""
    name = f"{template}#{partial}" if partial and request.htmx else template
    return render(request, name, context, status=status)


def redirect_after_post(request: HtmxHttpRequest, url: str) -> HttpResponse:
    """Post/redirect/get; htmx gets a client-side redirect so that the whole page is replaced."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ``ValidationError`` at the form's fields; unknown keys become non-field errors."""
    renew_request_token(form, error)
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields and field != NON_FIELD_ERRORS else None, errors)


def renew_request_token(form: forms.Form, error: ValidationError) -> None:
    """After a Stripe 500 the next attempt must not reuse the idempotency key: give the form a new token."""
    from config.stripe_calls import needs_new_key, new_request_token

    if "request_token" in form.fields and form.is_bound and needs_new_key(error):
        form.data = form.data.copy()
        form.data[form.add_prefix("request_token")] = new_request_token()
