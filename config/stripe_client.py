"""The one seam between Paylinks and Stripe (or its sandbox, which speaks the same HTTP API)."""

from __future__ import annotations

import functools

import stripe
from django.conf import settings


@functools.cache
def _client(api_key: str, api_base: str, timeout: float, max_network_retries: int) -> stripe.StripeClient:
    base_addresses = {"api": api_base, "files": api_base, "connect": api_base} if api_base else None
    return stripe.StripeClient(
        api_key,
        base_addresses=base_addresses,
        max_network_retries=max_network_retries,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


def get_stripe_client() -> stripe.StripeClient:
    """Return the configured client: the sandbox over HTTP in sandbox mode, Stripe otherwise.

    Cached per configuration, so tests that point the API base at a live server get their own client.
    """
    return _client(
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE if settings.STRIPE_SANDBOX_MODE else "",
        settings.STRIPE_TIMEOUT,
        settings.STRIPE_MAX_NETWORK_RETRIES,
    )


def stripe_mode() -> str:
    """'sandbox', 'test' or 'live', read from the configuration and the key's prefix."""
    if settings.STRIPE_SANDBOX_MODE:
        return "sandbox"
    return "live" if settings.STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_")) else "test"
