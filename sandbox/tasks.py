"""Celery tasks of the sandbox: webhook delivery with exponential back-off."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="sandbox.deliver_event", bind=True, max_retries=None)
def deliver_event(self, delivery_id: int) -> None:
    from sandbox import delivery

    delivery.delivery_attempt(delivery_id=delivery_id)
