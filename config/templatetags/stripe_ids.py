"""Stripe ids as the dashboard shows them: shortened, whole in a copy button (``static/js/paylinks.js``)
and in the title, with a link to Stripe's Dashboard when running against Stripe.

``{% load stripe_ids %}``, then ``{% stripe_id order.checkout_session_id _("Checkout session") %}``
(the label names the copy button for screen readers), or ``{{ value|short_id }}`` for the text alone.
"""

from __future__ import annotations

import hashlib
import re

from django import template

from config.stripe_dashboard import stripe_dashboard_url

register = template.Library()

# Stripe's prefix (``cs_test_``, ``pi_``, ``promo_``), kept whole: it says what the id is.
PREFIX = re.compile(r"^[a-z]+_(?:test_|live_)?")
KEPT_AFTER_PREFIX = 6
KEPT_AT_END = 4
WORTH_CUTTING = 6  # characters an id must lose to be shortened at all


@register.filter
def short_id(value: str) -> str:
    """``cs_test_a11YYufWQzNY63zpQ6QSNRQhkUpVph4WRmzW0zWJO2znZKdVujZ0N0S22u`` → ``cs_test_a11YYu…S22u``:
    the kind of object, and both ends of the id to tell two apart."""
    value = str(value or "")
    prefix = PREFIX.match(value)
    head = (prefix.end() if prefix else 0) + KEPT_AFTER_PREFIX
    if len(value) - head - KEPT_AT_END < WORTH_CUTTING:
        return value
    return f"{value[:head]}…{value[-KEPT_AT_END:]}"


@register.inclusion_tag("includes/stripe_id.html")
def stripe_id(value: str, label: str = "", *, dashboard: bool = True) -> dict:
    value = str(value or "")
    return {
        "value": value,
        "short": short_id(value),
        "label": label,
        # For the button's aria-labelledby: an id per value and label, whatever characters the value has.
        "element_id": "copy-" + hashlib.blake2s(f"{label}\0{value}".encode(), digest_size=6).hexdigest(),
        "dashboard_url": stripe_dashboard_url(value) if dashboard else "",
    }
