"""Stripe ids on dashboard pages: shortened with the whole id to copy, and a link to Stripe's Dashboard."""

from __future__ import annotations

import pytest

from config.stripe_dashboard import stripe_dashboard_url
from config.templatetags.stripe_ids import short_id


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("cs_test_a11YYufWQzNY63zpQ6QSNRQhkUpVph4WRmzW0zWJO2znZKdVujZ0N0S22u", "cs_test_a11YYu…S22u"),
        ("pi_3MtwBwLkdIwHu7ix28a3tqPa", "pi_3MtwBw…tqPa"),
        ("promo_1MiM6KLkdIwHu7ixrIaX4wgn", "promo_1MiM6K…4wgn"),
        # Short enough already: cutting would hide more than it saves.
        ("pi_test_000001", "pi_test_000001"),
        ("cus_NffrFeUfNV2Hib", "cus_NffrFeUfNV2Hib"),
        ("", ""),
    ],
)
def test_short_id_keeps_the_kind_and_both_ends(value, shown):
    assert short_id(value) == shown


@pytest.mark.parametrize(
    ("key", "object_id", "url"),
    [
        ("sk_test_1", "pi_1", "https://dashboard.stripe.com/test/payments/pi_1"),
        ("sk_live_1", "pi_1", "https://dashboard.stripe.com/payments/pi_1"),
        ("sk_test_1", "cs_test_1", "https://dashboard.stripe.com/test/checkout/sessions/cs_test_1"),
        ("sk_test_1", "cus_1", "https://dashboard.stripe.com/test/customers/cus_1"),
        ("sk_live_1", "sub_1", "https://dashboard.stripe.com/subscriptions/sub_1"),
        ("sk_live_1", "in_1", "https://dashboard.stripe.com/invoices/in_1"),
        # A merchant's own reference is no Stripe object.
        ("sk_live_1", "order-77", ""),
    ],
)
def test_dashboard_url_against_stripe(settings, key, object_id, url):
    settings.STRIPE_SECRET_KEY = key
    settings.STRIPE_SANDBOX_MODE = False
    assert stripe_dashboard_url(object_id) == url


def test_no_dashboard_url_in_sandbox_mode(settings):
    # The sandbox has no page per object: no link rather than one to a page that does not exist.
    assert settings.STRIPE_SANDBOX_MODE
    assert stripe_dashboard_url("pi_1") == ""
