"""Celery tasks of the sandbox: webhook delivery with exponential back-off."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="sandbox.deliver_event", bind=True, max_retries=None, acks_late=True)
def deliver_event(self, delivery_id: int) -> None:
    """One attempt for one delivery row; on failure, Celery retries after the configured delay."""
    from sandbox import delivery

    retry_in = delivery.delivery_attempt(delivery_id=delivery_id)
    if retry_in is not None:
        raise self.retry(countdown=retry_in)


@shared_task(name="sandbox.tick")
def tick() -> dict[str, int]:
    """Expire due sessions, settle due SEPA debits, end trials (schedule it every minute with beat)."""
    from sandbox import clock_tick

    return clock_tick.sandbox_tick()
