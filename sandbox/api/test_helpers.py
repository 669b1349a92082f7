"""Sandbox-only helpers (not Stripe endpoints): advance the sandbox clock over HTTP."""

from __future__ import annotations

import re

from sandbox import clock, clock_tick, errors, limits


def sandbox_clock_advance(request, raw: dict) -> dict:
    """``POST /v1/test_helpers/sandbox_clock/advance`` with ``seconds``: expire, settle, end trials."""
    unknown = set(raw) - {"seconds"}
    if unknown:
        raise errors.unknown(sorted(unknown)[0])
    if "seconds" not in raw:
        raise errors.missing("seconds")
    value = raw["seconds"]
    # Digits only (int() would take "1_000"); more than 20 is out of every range below anyway.
    if not isinstance(value, str) or not re.fullmatch(r"-?[0-9]{1,20}", value):
        raise errors.invalid(
            "seconds", f"Invalid integer: {str(value)[:40]}", code="parameter_invalid_integer"
        )
    seconds = int(value)
    if seconds < 0:
        raise errors.invalid("seconds", "The sandbox clock only moves forward.")
    if seconds > limits.MAX_CLOCK_ADVANCE:
        raise errors.invalid(
            "seconds", f"One advance moves the sandbox clock at most {limits.MAX_CLOCK_ADVANCE} seconds."
        )
    if clock.now() + seconds > limits.MAX_TIMESTAMP:
        raise errors.invalid("seconds", "The sandbox clock cannot go past the year 9999.")
    now = clock_tick.clock_advance(seconds=seconds)
    return {"object": "sandbox_clock", "now": now}


def sandbox_clock_retrieve(request, raw: dict) -> dict:
    return {"object": "sandbox_clock", "now": clock.now()}
