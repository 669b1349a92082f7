"""Sandbox-only helpers (not Stripe endpoints): advance the sandbox clock over HTTP."""

from __future__ import annotations

from sandbox import clock, errors


def sandbox_clock_advance(request, raw: dict) -> dict:
    """``POST /v1/test_helpers/sandbox_clock/advance`` with ``seconds``: expire, settle, end trials."""
    unknown = set(raw) - {"seconds"}
    if unknown:
        raise errors.unknown(sorted(unknown)[0])
    if "seconds" not in raw:
        raise errors.missing("seconds")
    try:
        seconds = int(raw["seconds"])
    except (TypeError, ValueError):
        raise errors.invalid(
            "seconds", f"Invalid integer: {raw['seconds']}", code="parameter_invalid_integer"
        ) from None
    if seconds < 0:
        raise errors.invalid("seconds", "The sandbox clock only moves forward.")
    now = clock.clock_advance(seconds=seconds)
    return {"object": "sandbox_clock", "now": now}


def sandbox_clock_retrieve(request, raw: dict) -> dict:
    return {"object": "sandbox_clock", "now": clock.now()}
