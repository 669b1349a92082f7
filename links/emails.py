"""The e-mail outbox: each e-mail is a row first (unique per order, kind and Stripe object), then sent by a
task.

Templates come in threes under ``templates/emails/``: ``<kind>-subject.txt``, ``<kind>.txt`` and
``<kind>.html``; each receives the order, its line items and the merchant's name. They are written in the
shop's language (``LANGUAGE_CODE``), whoever's request queues or sends them: a customer's return to the
success page, or a staff member's click, is in their browser's language.
"""

from __future__ import annotations

import contextvars
import logging
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy

from config.bulk import BulkReport, bulk_apply
from links.models import Order, OutboundEmail

logger = logging.getLogger(__name__)

# A pending e-mail older than this has lost its task (broker down at commit): the requeuer sends it.
PENDING_GRACE = timedelta(minutes=5)
EMAIL_MAX_ATTEMPTS = 6
# A claimed e-mail is being sent for at most this long: above the hard time limit of the task that sends
# it (the e-mail task, or the webhook task sending inline), after which Celery kills it.
SEND_LEASE = timedelta(seconds=getattr(settings, "CELERY_TASK_TIME_LIMIT", 90) + 30)
# Written on an e-mail whose sender died mid-send (a log line for staff, like the exceptions' texts).
SENDER_LOST = (
    "The sender stopped between claiming and recording this e-mail: it may have gone out. Resend it if not."
)


STAFF_KINDS = frozenset({OutboundEmail.Kind.STAFF_NOTIFICATION, OutboundEmail.Kind.DISPUTE_OPENED})


def _recipient(order: Order, kind: str) -> str:
    if kind in STAFF_KINDS:
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
    with translation.override(settings.LANGUAGE_CODE):
        text = render_to_string(f"emails/{kind}-subject.txt", context)
    # A header: one line, whatever the template's whitespace.
    return " ".join(text.split())[:300]


def outbound_email_queue(
    *, order: Order, kind: str, stripe_object_id: str = "", order_is_new: bool = False
) -> OutboundEmail | None:
    """Record the e-mail of this kind for this order (and this Stripe object: the invoice of an invoice
    e-mail, the refund of a refund e-mail), once, and send it after the commit.

    ``order_is_new``: the order was inserted by the current transaction, so no other transaction can
    have recorded its e-mails yet: insert without looking first (one statement instead of four).
    Returns None when there is nobody to write to (no customer e-mail, no staff address).
    """
    to = _recipient(order, kind)
    if not to:
        return None
    fields = {"to": to, "subject": _subject(order, kind)}
    key = {"order": order, "kind": kind, "stripe_object_id": stripe_object_id[:255]}
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


def _enqueue(email_id: int, **kwargs) -> None:
    from links.tasks import send_outbound_email as send_outbound_email_task

    send_outbound_email_task.delay(email_id, **kwargs)


def _send_or_enqueue(email: OutboundEmail) -> None:
    try:
        # The row and its order as this process just wrote them: no need to read them back.
        outbound_email_send(email_id=email.id, loaded=email)
    except OutboundEmailOutcomeUnrecorded as exc:
        # The task records what happened (and sends only if it did not go out).
        _enqueue(email.id, **exc.retry_kwargs)
    except Exception:  # noqa: BLE001 - recorded on the row by outbound_email_send; the task retries it
        _enqueue(email.id)


def _invoice_context(email: OutboundEmail) -> dict:
    """The invoice as Stripe has it, fetched when sending: its number, amount and (for a renewal) period,
    its hosted page and PDF (Stripe's URLs are not ours to store)."""
    from config.stripe_client import get_stripe_client

    order = email.order
    # Rows recorded before e-mails named their invoice are about the order's (the data migration fills
    # them in; this covers one recorded in between).
    invoice_id = email.stripe_object_id or order.invoice_id
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


def _refund_context(email: OutboundEmail) -> dict:
    """The refund the e-mail is about (its amount; what the order has been refunded in all when the refund
    is not found, as for a resend of an e-mail older than its row), and whether the payment is now
    refunded in full."""
    order = email.order
    refund = order.refunds.filter(stripe_id=email.stripe_object_id).first()
    return {
        "refund_amount": refund.amount if refund else order.amount_refunded,
        "refunded_in_full": order.is_fully_refunded,
    }


def outbound_email_message(*, email: OutboundEmail) -> EmailMultiAlternatives:
    extra = {}
    if email.kind == OutboundEmail.Kind.INVOICE:
        extra = _invoice_context(email)
    elif email.kind == OutboundEmail.Kind.DISPUTE_OPENED:
        # The dispute as last recorded (the Stripe object the e-mail is about): amount, reason, due date.
        extra = {"dispute": email.order.disputes.filter(stripe_id=email.stripe_object_id).first()}
    elif email.kind == OutboundEmail.Kind.REFUND:
        extra = _refund_context(email)
    context = _context(email.order, email.kind, extra)
    with translation.override(settings.LANGUAGE_CODE):
        message = EmailMultiAlternatives(
            subject=email.subject,
            body=render_to_string(f"emails/{email.kind}.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[email.to],
        )
        message.attach_alternative(render_to_string(f"emails/{email.kind}.html", context), "text/html")
    return message


class OutboundEmailOutcomeUnrecorded(Exception):
    """The send's outcome could not be written (the database went away after the SMTP conversation).

    Carries what only this process knows, for the task's retry to record before anything else: the claim
    it holds and whether the message went out (``sent_at``, ISO 8601) or not (``sent_at`` empty).
    """

    def __init__(self, *, email_id: int, claim: datetime, sent_at: datetime | None) -> None:
        super().__init__(f"outcome of e-mail {email_id} not recorded")
        self.email_id = email_id
        self.claim = claim
        self.sent_at = sent_at

    @property
    def retry_kwargs(self) -> dict:
        """The task's keyword arguments for the retry (JSON, as the broker carries them)."""
        sent_at = self.sent_at.isoformat() if self.sent_at else ""
        return {"claim": self.claim.isoformat(), "sent_at": sent_at}


def _claim(email_id: int) -> datetime | None:
    """Take the e-mail for this sender with a conditional UPDATE, committed at once; return the claim (the
    lease's end, which the outcome's UPDATE must find again), or None if another sender has it."""
    now = timezone.now()
    lease_end = now + SEND_LEASE
    claimed = OutboundEmail.objects.filter(
        id=email_id,
        status__in=[OutboundEmail.Status.PENDING, OutboundEmail.Status.FAILED],
        claimed_until__isnull=True,
    ).update(claimed_until=lease_end, attempts=F("attempts") + 1, updated_at=now)
    return lease_end if claimed else None


def _record(email_id: int, *, claim: datetime, sent_at: datetime | None, error: str = "") -> None:
    """Write the outcome and give up the claim, if still ours (a staff resend may have cleared it)."""
    fields: dict = {"claimed_until": None, "updated_at": timezone.now()}
    if sent_at is not None:
        fields |= {"status": OutboundEmail.Status.SENT, "sent_at": sent_at, "last_error": ""}
    else:
        fields |= {"status": OutboundEmail.Status.FAILED, "last_error": error[:2000]}
    OutboundEmail.objects.filter(id=email_id, claimed_until=claim).update(**fields)


def outbound_email_send(
    *, email_id: int, loaded: OutboundEmail | None = None, claim: str = "", sent_at: str = ""
) -> str:
    """Send the e-mail unless already sent; mark it sent or failed. Re-raises the error for the task's retry.

    No transaction is open during the SMTP conversation or the invoice's fetch (on SQLite one would hold
    the whole database's write lock): the e-mail is claimed (committed), sent, then its outcome recorded
    (committed). The claim keeps two senders (a resend clicked twice, a redelivered task) from both
    sending it. A sender killed between its claim and its record leaves the claim: at most once, the
    e-mail is not sent again by itself (``outbound_emails_requeue`` flags it for staff's resend). If only
    the record failed, OutboundEmailOutcomeUnrecorded is raised; ``claim`` and ``sent_at`` (its
    ``retry_kwargs``) make the retry record that outcome first, sending nothing already sent.

    ``loaded``: the row with its order, already in memory (the process that has just recorded them); the
    status is still read from the database.
    """
    if claim:
        # The retry of a send whose outcome this task knows but could not write: write it now.
        sent = datetime.fromisoformat(sent_at) if sent_at else None
        _record(email_id, claim=datetime.fromisoformat(claim), sent_at=sent, error="Outcome not recorded.")
        if sent is not None:
            return OutboundEmail.Status.SENT
    # Read the status alone: the e-mail and its order are read only when not ``loaded``.
    row = OutboundEmail.objects.filter(id=email_id).values_list("status", "claimed_until").first()
    if row is None:
        return ""
    status, claimed_until = row
    if status == OutboundEmail.Status.SENT or claimed_until is not None:
        return status
    lease = _claim(email_id)
    if lease is None:  # another sender claimed it between the read and the claim
        return OutboundEmail.objects.filter(id=email_id).values_list("status", flat=True).first() or ""
    try:
        email = loaded or OutboundEmail.objects.select_related("order").get(id=email_id)
        outbound_email_message(email=email).send()
    except Exception as exc:
        logger.warning("E-mail %s failed: %r", email_id, exc)
        try:
            _record(email_id, claim=lease, sent_at=None, error=f"{type(exc).__name__}: {exc}")
        except Exception as record_exc:
            raise OutboundEmailOutcomeUnrecorded(email_id=email_id, claim=lease, sent_at=None) from record_exc
        raise
    sent = timezone.now()
    try:
        _record(email_id, claim=lease, sent_at=sent)
    except Exception as exc:
        logger.warning("E-mail %s sent, but its outcome was not recorded: %r", email_id, exc)
        raise OutboundEmailOutcomeUnrecorded(email_id=email_id, claim=lease, sent_at=sent) from exc
    return OutboundEmail.Status.SENT


def outbound_email_resend(*, email: OutboundEmail) -> bool:
    """Send the e-mail again (staff asked): back to pending, then the task sends it. False when it is
    being sent right now (a live claim): it is left to its sender.

    Also what releases an e-mail whose sender died mid-send. The task is enqueued either way: for one
    being sent it finds it claimed or sent.
    """
    now = timezone.now()
    with transaction.atomic():
        released = OutboundEmail.objects.filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lte=now), id=email.id
        ).update(status=OutboundEmail.Status.PENDING, last_error="", claimed_until=None, updated_at=now)
        _enqueue_on_commit(email)
    return released == 1


EMAIL_NOT_FAILED = gettext_lazy("not failed (%(status)s)")
EMAIL_BEING_SENT = gettext_lazy("being sent right now")


def outbound_email_label(email: OutboundEmail) -> str:
    """An e-mail as a bulk report names it: its kind and recipient."""
    return gettext("%(kind)s to %(to)s") % {"kind": email.get_kind_display(), "to": email.to}


def outbound_email_resend_refusal(*, email: OutboundEmail) -> str:
    """Why "resend failed" leaves this e-mail as it is ("" when it does not): it has not failed."""
    if email.status != OutboundEmail.Status.FAILED:
        return EMAIL_NOT_FAILED % {"status": email.get_status_display()}
    return ""


def outbound_emails_resend_failed(*, emails: list[OutboundEmail]) -> BulkReport:
    """Send each failed e-mail again through ``outbound_email_resend``; the others are reported."""

    def resend(email: OutboundEmail) -> None:
        if not outbound_email_resend(email=email):
            raise ValidationError(EMAIL_BEING_SENT)

    return bulk_apply(
        rows=emails,
        label=outbound_email_label,
        refusal=lambda email: outbound_email_resend_refusal(email=email),
        apply=resend,
    )


def outbound_emails_requeue() -> int:
    """Enqueue e-mails whose task was lost (pending too long) or ran out of task retries while failing."""
    from links.tasks import send_outbound_email as send_outbound_email_task

    now = timezone.now()
    # Senders that died between claim and record (lease over): flagged once, never sent again by itself.
    OutboundEmail.objects.filter(claimed_until__lte=now).exclude(
        status=OutboundEmail.Status.FAILED, last_error=SENDER_LOST
    ).update(status=OutboundEmail.Status.FAILED, last_error=SENDER_LOST, updated_at=now)
    ids = list(
        OutboundEmail.objects.filter(
            status__in=[OutboundEmail.Status.PENDING, OutboundEmail.Status.FAILED],
            attempts__lt=EMAIL_MAX_ATTEMPTS,
            updated_at__lte=now - PENDING_GRACE,
            claimed_until__isnull=True,
        ).values_list("id", flat=True)[:200]
    )
    for email_id in ids:
        # Touch first, so the next tick does not enqueue it again while the task waits in the queue.
        OutboundEmail.objects.filter(id=email_id).update(updated_at=timezone.now())
        send_outbound_email_task.delay(email_id)
    return len(ids)
