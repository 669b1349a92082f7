"""The one seam between Paylinks and Stripe (or its sandbox, which speaks the same HTTP API)."""

from __future__ import annotations

import os
import threading

import stripe
from django.conf import settings

_local = threading.local()


def _client(api_key: str, api_base: str, timeout: float, max_network_retries: int) -> stripe.StripeClient:
    base_addresses = {"api": api_base, "files": api_base, "connect": api_base} if api_base else None
    return stripe.StripeClient(
        api_key,
        base_addresses=base_addresses,
        max_network_retries=max_network_retries,
        # The SDK's requests transport, configured through its constructor: STRIPE_TIMEOUT bounds the
        # connect and each wait for the answer (the SDK's own default is 80 s). requests reads the proxy
        # variables (https_proxy, no_proxy).
        http_client=stripe.RequestsClient(timeout=timeout),
    )


def get_stripe_client() -> stripe.StripeClient:
    """Return the configured client: the sandbox over HTTP in sandbox mode, Stripe otherwise.

    One per thread and process: gunicorn's threads never share a connection pool, and a forked worker
    never reuses its parent's open connections. One per configuration too, so tests that point the API
    base at a live server get their own.
    """
    key = (
        os.getpid(),
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE if settings.STRIPE_SANDBOX_MODE else "",
        settings.STRIPE_TIMEOUT,
        settings.STRIPE_MAX_NETWORK_RETRIES,
    )
    clients = getattr(_local, "clients", None)
    if clients is None:
        clients = _local.clients = {}
    client = clients.get(key)
    if client is None:
        client = clients[key] = _client(*key[1:])
    return client


def stripe_mode() -> str:
    """'sandbox', 'test' or 'live', read from the configuration and the key's prefix."""
    if settings.STRIPE_SANDBOX_MODE:
        return "sandbox"
    return "live" if settings.STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_")) else "test"
