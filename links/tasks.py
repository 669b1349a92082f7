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
def send_outbound_email(self, email_id: int, claim: str = "", sent_at: str = "") -> str:
    """Send one outbox e-mail; the row says whether it went (sent) or why not (failed, last_error).

    ``claim`` and ``sent_at``: a previous attempt's outcome that it could not record (see
    ``outbound_email_send``), recorded first, so that an e-mail that went out is not sent again.
    """
    from links.emails import OutboundEmailOutcomeUnrecorded, outbound_email_send

    try:
        return outbound_email_send(email_id=email_id, claim=claim, sent_at=sent_at)
    except OutboundEmailOutcomeUnrecorded as exc:
        raise self.retry(args=(email_id,), kwargs=exc.retry_kwargs, exc=exc) from exc


@shared_task(name="links.reconcile_checkout_sessions", acks_late=True, ignore_result=True)
def reconcile_checkout_sessions() -> int:
    """Create orders whose webhook never arrived, from each link's completed sessions in Stripe."""
    from links.fulfilment import checkout_sessions_reconcile

    return checkout_sessions_reconcile()


# The first run reads every session there is: more time than the other tasks' minute.
@shared_task(
    name="links.scan_checkout_sessions",
    acks_late=True,
    ignore_result=True,
    soft_time_limit=600,
    time_limit=660,
)
def scan_checkout_sessions() -> int:
    """Read the checkout sessions opened since the last run from Stripe's list: the links' conversion."""
    from links.conversion import checkout_sessions_scan

    return checkout_sessions_scan()
