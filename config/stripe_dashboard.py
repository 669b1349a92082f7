"""Links from a Stripe id to its page in Stripe's Dashboard, when Paylinks runs against Stripe.

In sandbox mode there is no such page: the sandbox has no page per object (only its events page), so
``stripe_dashboard_url`` gives nothing and the templates show no link.
"""

from __future__ import annotations

from config.stripe_client import stripe_mode

DASHBOARD = "https://dashboard.stripe.com/"
# The Dashboard's path for each kind of object the dashboard shows an id of, by the id's prefix.
PATHS = {
    "pi_": "payments/",
    "cs_": "checkout/sessions/",
    "cus_": "customers/",
    "sub_": "subscriptions/",
    "in_": "invoices/",
    "plink_": "payment-links/",
    "evt_": "events/",
}


def stripe_dashboard_url(object_id: str) -> str:
    """``https://dashboard.stripe.com/[test/]<path><id>`` (test/ with a test key), or "" in sandbox mode or
    for an id of another kind."""
    mode = stripe_mode()
    path = next((path for prefix, path in PATHS.items() if object_id.startswith(prefix)), None)
    if mode == "sandbox" or path is None:
        return ""
    return f"{DASHBOARD}{'test/' if mode == 'test' else ''}{path}{object_id}"
