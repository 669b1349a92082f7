"""The one seam between Paylinks and Stripe (or its sandbox, which speaks the same HTTP API)."""

from __future__ import annotations

import os
import threading

import pycurl
import stripe
from django.conf import settings

_local = threading.local()


class _CurlWithTimeout:
    """A pycurl handle whose timeouts are ours: the SDK's pycurl transport sets a fixed 30 s to connect
    and 80 s in all on every request, and STRIPE_TIMEOUT is the operator's to choose."""

    def __init__(self, curl: pycurl.Curl, timeout: float) -> None:
        self._curl = curl
        self._timeout_ms = max(1, int(timeout * 1000))

    def setopt(self, option: int, value: object) -> None:
        if option == pycurl.TIMEOUT:
            option, value = pycurl.TIMEOUT_MS, self._timeout_ms
        elif option == pycurl.CONNECTTIMEOUT:
            option, value = pycurl.CONNECTTIMEOUT_MS, self._timeout_ms
        self._curl.setopt(option, value)

    def __getattr__(self, name: str):
        return getattr(self._curl, name)


def _http_client(timeout: float) -> stripe.PycurlClient:
    # libcurl rather than requests: half the client's CPU per API call (about 0.5 ms less, see
    # docs/performance.md), which a worker fulfilling a flash sale pays on every order. libcurl reads the
    # same proxy variables (https_proxy, no_proxy) as requests did.
    client = stripe.PycurlClient()
    client._curl = _CurlWithTimeout(client._curl, timeout)
    return client


def _client(api_key: str, api_base: str, timeout: float, max_network_retries: int) -> stripe.StripeClient:
    base_addresses = {"api": api_base, "files": api_base, "connect": api_base} if api_base else None
    return stripe.StripeClient(
        api_key,
        base_addresses=base_addresses,
        max_network_retries=max_network_retries,
        http_client=_http_client(timeout),
    )


def get_stripe_client() -> stripe.StripeClient:
    """Return the configured client: the sandbox over HTTP in sandbox mode, Stripe otherwise.

    One per thread and process, because a curl handle (which keeps its connection open between calls)
    serves one request at a time: gunicorn's threads each get theirs, and a forked worker never uses its
    parent's. One per configuration too, so tests that point the API base at a live server get their own.
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
