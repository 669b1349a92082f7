"""What an order keeps as Stripe spells it (consent, its subscription's and PaymentIntent's states, address
countries), in the merchant's words and the page's language.

The columns keep Stripe's values; a value Stripe adds later is shown as it comes rather than hidden.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_countries import countries

from links.countries import shipping_countries

# The checkout session's ``consent``: what the customer agreed to, one sentence each.
CONSENT = {
    ("promotions", "opt_in"): _("Agreed to receive promotional e-mails"),
    ("promotions", "opt_out"): _("Declined promotional e-mails"),
    ("terms_of_service", "accepted"): _("Accepted the terms of service"),
}
# A subscription's ``status``.
SUBSCRIPTION_STATUSES = {
    "incomplete": pgettext_lazy("subscription status", "Incomplete"),
    "incomplete_expired": pgettext_lazy("subscription status", "Incomplete, expired"),
    "trialing": pgettext_lazy("subscription status", "In trial"),
    "active": pgettext_lazy("subscription status", "Active"),
    "past_due": pgettext_lazy("subscription status", "Past due"),
    "canceled": pgettext_lazy("subscription status", "Canceled"),
    "unpaid": pgettext_lazy("subscription status", "Unpaid"),
    "paused": pgettext_lazy("subscription status", "Paused"),
}
# A PaymentIntent's ``status``, as the order page's "Capture" row says it.
PAYMENT_INTENT_STATUSES = {
    "requires_payment_method": _("Waiting for a payment method"),
    "requires_confirmation": _("Waiting for confirmation"),
    "requires_action": _("Waiting for the customer to authenticate"),
    "processing": pgettext_lazy("payment intent status", "Processing"),
    "requires_capture": _("Authorised, not captured yet"),
    "canceled": pgettext_lazy("payment intent status", "Canceled"),
    "succeeded": _("Captured"),
}


def consent_given(consent: dict | None) -> list[str]:
    """What the customer agreed to (or declined), one sentence each, in the order Stripe lists them."""
    return [
        str(CONSENT.get((key, value), f"{key}: {value}")) for key, value in (consent or {}).items() if value
    ]


def subscription_status_label(status: str) -> str:
    return str(SUBSCRIPTION_STATUSES.get(status, status))


def payment_intent_status_label(status: str) -> str:
    return str(PAYMENT_INTENT_STATUSES.get(status, status))


def country_name(code: str) -> str:
    """An address's country (ISO 3166-1 code, or one of Stripe's regions) by its name."""
    code = (code or "").upper()
    return shipping_countries.name(code) or countries.name(code) or code
