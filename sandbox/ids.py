"""Stripe-style identifiers: a prefix and a random base62 tail."""

from __future__ import annotations

import secrets
import string

_BASE62 = string.digits + string.ascii_letters


def random_token(length: int = 24) -> str:
    return "".join(secrets.choice(_BASE62) for _ in range(length))


def new_id(prefix: str, *, length: int = 24) -> str:
    """``new_id("prod")`` → ``prod_1a2B…``; checkout sessions use a longer tail like Stripe's."""
    return f"{prefix}_{random_token(length)}"
