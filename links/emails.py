"""The e-mail outbox: each e-mail is a row first (unique per order, kind and invoice), then sent by a task.

Templates come in threes under ``templates/emails/``: ``<kind>-subject.txt``, ``<kind>.txt`` and
``<kind>.html``; each receives the order, its line items and the merchant's name.
"""

from __future__ import annotations

import contextvars
import logging
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from links.models import Order, OutboundEmail

logger = logging.getLogger(__name__)

# A pending e-mail older than this has lost its task (broker down at commit): the requeuer sends it.
PENDING_GRACE = timedelta(minutes=5)
EMAIL_MAX_ATTEMPTS = 6


def _recipient(order: Order, kind: str) -> str:
    if kind == OutboundEmail.Kind.STAFF_NOTIFICATION:
        return settings.PAYLINKS_STAFF_EMAIL
    return order.customer_email


def _context(order: Order, kind: str, extra: dict | None = None) -> dict:
    return {
        "order": order,
        "kind": kind,
        "line_items": list(order.line_items.all()),
        "merchant_name": settings.PAYLINKS_MERCHANT_NAME,
        "order_url": settings.PAYLINKS_BASE_URL + reverse("orders:detail", args=[order.public_id]),
        **(extra or {}),
    }


def _subject(order: Order, kind: str) -> str:
    # Subjects name the merchant and the order, never the items: no line items query here.
    context = {"order": order, "kind": kind, "merchant_name": settings.PAYLINKS_MERCHANT_NAME}
    text = render_to_string(f"emails/{kind}-subject.txt", context)
    # A header: one line, whatever the template's whitespace.
    return " ".join(text.split())[:300]


def outbound_email_queue(
    *, order: Order, kind: str, invoice_id: str = "", order_is_new: bool = False
) -> OutboundEmail | None:
    """Record the e-mail of this kind for this order (and this invoice, for invoice e-mails), once, and
    send it after the commit.

    ``order_is_new``: the order was inserted by the current transaction, so no other transaction can
    have recorded its e-mails yet: insert without looking first (one statement instead of four).
    Returns None when there is nobody to write to (no customer e-mail, no staff address).
    """
    to = _recipient(order, kind)
    if not to:
        return None
    fields = {"to": to, "subject": _subject(order, kind)}
    key = {"order": order, "kind": kind, "invoice_id": invoice_id[:255]}
    if order_is_new:
        email, created = OutboundEmail.objects.create(**key, **fields), True
    else:
        email, created = OutboundEmail.objects.get_or_create(**key, defaults=fields)
    if created:
        _enqueue_on_commit(email)
    return email


_send_inline = contextvars.ContextVar("outbound_emails_sent_inline", default=False)


@contextmanager
def outbound_emails_sent_inline():
    """E-mails queued in this block are sent by this process right after their commit, not by a task.

    For code already running in a worker (fulfilment): one trip through the broker fewer per e-mail. A send
    that fails is handed to the task, which retries it with back-off.
    """
    token = _send_inline.set(True)
    try:
        yield
    finally:
        _send_inline.reset(token)


def _enqueue_on_commit(email: OutboundEmail) -> None:
    # robust: the row is committed whatever happens; if the broker is down the periodic requeue sends it.
    if _send_inline.get():
        transaction.on_commit(lambda: _send_or_enqueue(email), robust=True)
    else:
        transaction.on_commit(lambda: _enqueue(email.id), robust=True)


def _enqueue(email_id: int) -> None:
    from links.tasks import send_outbound_email as send_outbound_email_task

    send_outbound_email_task.delay(email_id)


def _send_or_enqueue(email: OutboundEmail) -> None:
    try:
        # The row and its order as this process just wrote them: no need to read them back.
        outbound_email_send(email_id=email.id, loaded=email)
    except Exception:  # noqa: BLE001 - recorded on the row by outbound_email_send; the task retries it
        _enqueue(email.id)


def _invoice_context(email: OutboundEmail) -> dict:
    """The invoice as Stripe has it, fetched when sending: its number, amount and (for a renewal) period,
    its hosted page and PDF (Stripe's URLs are not ours to store)."""
    from config.stripe_client import get_stripe_client

    order = email.order
    # Rows recorded before e-mails named their invoice are about the order's (the data migration fills
    # them in; this covers one recorded in between).
    invoice_id = email.invoice_id or order.invoice_id
    if not invoice_id:
        return {"invoice_amount": order.amount_total, "invoice_currency": order.currency}
    invoice = get_stripe_client().v1.invoices.retrieve(invoice_id).to_dict()
    context = {
        "invoice_number": invoice.get("number") or "",
        "invoice_amount": int(invoice.get("amount_paid") or 0),
        "invoice_currency": invoice.get("currency") or order.currency,
        "hosted_invoice_url": invoice.get("hosted_invoice_url"),
        "invoice_pdf": invoice.get("invoice_pdf"),
    }
    if invoice.get("billing_reason") == "subscription_cycle" and invoice.get("period_end"):
        context["invoice_period"] = (
            datetime.fromtimestamp(invoice["period_start"], tz=UTC),
            datetime.fromtimestamp(invoice["period_end"], tz=UTC),
        )
    return context


def outbound_email_message(*, email: OutboundEmail) -> EmailMultiAlternatives:
    extra = _invoice_context(email) if email.kind == OutboundEmail.Kind.INVOICE else {}
    context = _context(email.order, email.kind, extra)
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=render_to_string(f"emails/{email.kind}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
    )
    message.attach_alternative(render_to_string(f"emails/{email.kind}.html", context), "text/html")
    return message


def outbound_email_send(*, email_id: int, loaded: OutboundEmail | None = None) -> str:
    """Send the e-mail unless already sent; mark it sent or failed. Re-raises the error for the task's retry.

    The row lock keeps two tasks for the same e-mail (a resend clicked twice, a redelivered task) from
    both sending it. ``loaded``: the row with its order, already in memory (the process that has just
    recorded them); the lock is still taken and the status read from the database.
    """
    error: Exception | None = None
    with transaction.atomic():
        # Lock and read the status alone: the e-mail and its order are read only when not ``loaded``.
        status = (
            OutboundEmail.objects.select_for_update()
            .filter(id=email_id)
            .values_list("status", flat=True)
            .first()
        )
        if status is None or status == OutboundEmail.Status.SENT:
            return status or ""
        email = loaded or OutboundEmail.objects.select_related("order").get(id=email_id)
        try:
            outbound_email_message(email=email).send()
        except Exception as exc:
            logger.warning("E-mail %s (%s) failed: %r", email.id, email.kind, exc)
            error = exc
        fields = {"attempts": F("attempts") + 1, "updated_at": timezone.now()}
        if error is None:
            fields |= {"status": OutboundEmail.Status.SENT, "sent_at": timezone.now(), "last_error": ""}
        else:
            fields |= {
                "status": OutboundEmail.Status.FAILED,
                "last_error": f"{type(error).__name__}: {error}"[:2000],
            }
        OutboundEmail.objects.filter(id=email.id).update(**fields)
    if error is not None:
        raise error
    return OutboundEmail.Status.SENT


def outbound_email_resend(*, email: OutboundEmail) -> None:
    """Send the e-mail again (staff asked): back to pending, then the task sends it."""
    with transaction.atomic():
        OutboundEmail.objects.filter(id=email.id).update(
            status=OutboundEmail.Status.PENDING, last_error="", updated_at=timezone.now()
        )
        _enqueue_on_commit(email)


def outbound_emails_requeue() -> int:
    """Enqueue e-mails whose task was lost (pending too long) or ran out of task retries while failing."""
    from links.tasks import send_outbound_email as send_outbound_email_task

    cutoff = timezone.now() - PENDING_GRACE
    ids = list(
        OutboundEmail.objects.filter(
            status__in=[OutboundEmail.Status.PENDING, OutboundEmail.Status.FAILED],
            attempts__lt=EMAIL_MAX_ATTEMPTS,
            updated_at__lte=cutoff,
        ).values_list("id", flat=True)[:200]
    )
    for email_id in ids:
        # Touch first, so the next tick does not enqueue it again while the task waits in the queue.
        OutboundEmail.objects.filter(id=email_id).update(updated_at=timezone.now())
        send_outbound_email_task.delay(email_id)
    return len(ids)
