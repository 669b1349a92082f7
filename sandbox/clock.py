"""The sandbox clock: real time plus an offset that tests (and the sandbox page) can advance.

``now()`` is the sandbox's one clock: every timestamp written into an object (``created``, ``expires_at``,
periods, events, charges, refunds, invoices) comes from it, so an advance never leaves a new object in the
past of the checks made on this clock. Only the webhook signature (``delivery.py``) and the delivery and
idempotency bookkeeping stay on wall time. What falls due as the clock moves is in ``clock_tick.py``.

In the store layer (with ``store.py`` and ``models.py``): it reads its row and imports no domain module.
"""

from __future__ import annotations

import time

from sandbox.models import ApiObject

CLOCK_ID = "sandbox_clock"


def now() -> int:
    """The sandbox time in Unix seconds: wall time plus every advance so far."""
    clock = ApiObject.objects.filter(type="sandbox_clock", stripe_id=CLOCK_ID).first()
    return int(time.time()) + (clock.data["offset"] if clock else 0)
