"""The API request being served, for the ``request`` block of the events it causes."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestInfo:
    id: str | None = None
    idempotency_key: str | None = None


# Set by the API dispatcher for the length of one request; events made outside a request (the hosted
# page, tasks) get Stripe's "automatic" request block with null id.
current_request: contextvars.ContextVar[RequestInfo | None] = contextvars.ContextVar(
    "sandbox_current_request", default=None
)
