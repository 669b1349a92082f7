"""Celery interfaces to fulfilment and e-mail: each task takes ids, calls a service, owns retries."""

from __future__ import annotations

from celery import shared_task


@shared_task(
    name="links.send_outbound_email",
    bind=True,
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=10,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
)
def send_outbound_email(self, email_id: int) -> str:
    """Send one outbox e-mail; the row says whether it went (sent) or why not (failed, last_error)."""
    from links.emails import outbound_email_send

    return outbound_email_send(email_id=email_id)


@shared_task(name="links.reconcile_checkout_sessions", acks_late=True, ignore_result=True)
def reconcile_checkout_sessions() -> int:
    """Create orders whose webhook never arrived, from each link's completed sessions in Stripe."""
    from links.fulfilment import checkout_sessions_reconcile

    return checkout_sessions_reconcile()
