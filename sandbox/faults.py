"""Fault injection for testing clients, configured by ``SANDBOX_FAULTS``.

Format (setting or environment variable), comma-separated ``name=rate`` pairs, rates from 0 to 1:

- ``api_500=0.1``: that fraction of API calls answers 500 ``api_error``;
- ``api_429=0.1``: answers 429 ``rate_limit`` (the SDK retries both);
- ``api_delay=0.1:2.5``: that fraction waits 2.5 seconds before answering;
- ``webhook_drop=0.1``: a delivery attempt is recorded as failed without sending (retried later);
- ``webhook_duplicate=0.1``: a successful delivery is sent twice;
- ``webhook_delay=0.1:5``: a delivery waits 5 seconds before sending (which reorders events).

Unset or empty means no faults.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass

from django.conf import settings

from sandbox import errors


@dataclass(frozen=True)
class Fault:
    rate: float
    seconds: float = 0.0

    def hit(self) -> bool:
        return self.rate > 0 and random.random() < self.rate  # noqa: S311 - not security related


def parse(spec: str) -> dict[str, Fault]:
    faults = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, value = item.partition("=")
        rate, _, seconds = value.partition(":")
        faults[name.strip()] = Fault(rate=float(rate), seconds=float(seconds or 0))
    return faults


def configured() -> dict[str, Fault]:
    spec = getattr(settings, "SANDBOX_FAULTS", None)
    if spec is None:
        spec = os.environ.get("SANDBOX_FAULTS", "")
    return parse(spec)


def maybe_fail_api_call() -> None:
    faults = configured()
    if not faults:
        return
    delay = faults.get("api_delay")
    if delay and delay.hit():
        time.sleep(delay.seconds)
    if (fault := faults.get("api_500")) and fault.hit():
        raise errors.ApiError(
            "An unknown error occurred (injected by SANDBOX_FAULTS).", status=500, type="api_error"
        )
    if (fault := faults.get("api_429")) and fault.hit():
        raise errors.ApiError(
            "Request rate limit exceeded (injected by SANDBOX_FAULTS).", status=429, code="rate_limit"
        )


def webhook_fault(name: str) -> Fault | None:
    fault = configured().get(name)
    return fault if fault and fault.hit() else None
