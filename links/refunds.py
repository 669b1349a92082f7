"""Refunds of an order's payment: asked for by staff on the order page, or made anywhere else (Stripe's
Dashboard, the API) and learnt from Stripe's events.

Every path ends in ``refund_record``, which applies a refund as Stripe has it now, under the order's row
lock:

* the unique ``Refund.stripe_id`` is the ledger of refunds: the service's answer and each event about
  the same refund update one row, whichever comes first;
* its status only moves forward (``STATUS_RANK``): a fetch older than the row's changes nothing;
* ``Refund.counted_amount`` is what the refund has taken off the revenue; each recording counts the
  difference to what it should be (its amount once succeeded, nothing otherwise) through
  ``links.revenue``, so a refund counts once, and is given back once if it fails after succeeding;
* the customer's e-mail goes through the outbox, unique per (order, kind, refund).

The Stripe call happens before any transaction: no row lock is held while waiting on the network.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from catalog.money import format_money
from config.stripe_calls import idempotency_key, stripe_errors_as_validation
from config.stripe_client import get_stripe_client
from links.emails import outbound_email_queue
from links.fulfilment import checkout_session_fulfil
from links.models import Dispute, Order, OrderStatusChange, OutboundEmail, Refund
from links.revenue import revenue_count_refund

# Forward-only: pending (or waiting on the customer's action) may succeed or fail; a succeeded refund may
# still fail (its bank returned it); failed and canceled are final.
STATUS_RANK = {
    Refund.Status.PENDING: 0,
    Refund.Status.REQUIRES_ACTION: 0,
    Refund.Status.SUCCEEDED: 1,
    Refund.Status.FAILED: 2,
    Refund.Status.CANCELED: 2,
}
# Refunds that hold part of the payment: what remains to refund excludes them (Stripe's amount_refunded).
HOLDING_STATUSES = (Refund.Status.PENDING, Refund.Status.REQUIRES_ACTION, Refund.Status.SUCCEEDED)
# Stripe's metadata values hold at most 500 characters: the note travels in it, with who asked, so that
# whichever of the service and the events records the refund first knows both.
NOTE_MAX_LENGTH = 500
METADATA_USER, METADATA_NOTE = "paylinks_user_id", "paylinks_note"

REFUND_NOT_PAID = _("Only a paid order can be refunded.")
REFUND_NO_PAYMENT = _("This order has no payment to refund.")
REFUND_NOTHING_LEFT = _("This order is already refunded in full.")
REFUND_DISPUTED = _(
    "This payment is disputed: Stripe refuses a refund while the dispute is open. Respond to the dispute "
    "in Stripe's Dashboard."
)
REFUND_TOO_SMALL = _("Enter an amount of at least %(min)s.")
REFUND_TOO_LARGE = _("Enter at most %(max)s, what remains to refund.")


# READING -------------------------------------------------------------------------------------------


def order_amount_refundable(order: Order) -> int:
    """What remains to refund: the amount paid less the refunds that succeeded or may still succeed."""
    held = sum(order.refunds.filter(status__in=HOLDING_STATUSES).values_list("amount", flat=True))
    return max(order.amount_paid - held, 0)


def order_refund_refusal(*, order: Order) -> str:
    """Why this order cannot be refunded now ("" when it can)."""
    if order.paid_at is None or order.status not in (Order.Status.PAID, Order.Status.FULFILLED):
        return str(REFUND_NOT_PAID)
    if not order.payment_intent_id:
        return str(REFUND_NO_PAYMENT)
    if order_amount_refundable(order) <= 0:
        return str(REFUND_NOTHING_LEFT)
    # Stripe answers charge_disputed: say so before staff fill the form, not after they confirm it.
    if order.disputes.exclude(status__in=Dispute.CLOSED_STATUSES).exists():
        return str(REFUND_DISPUTED)
    return ""


# RECORDING -----------------------------------------------------------------------------------------


def _as_dict(obj) -> dict:
    return obj.to_dict(for_json=True) if hasattr(obj, "to_dict") else dict(obj)


def _id(value) -> str:
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def _requested_by(metadata: dict):
    user_id = str(metadata.get(METADATA_USER) or "")
    if not user_id.isdigit():
        return None
    return get_user_model().objects.filter(pk=int(user_id)).first()


def _order_of(refund: dict) -> Order | None:
    """The order whose payment the refund gives back, by its PaymentIntent."""
    intent_id = _id(refund.get("payment_intent"))
    if not intent_id:
        return None
    return Order.objects.filter(payment_intent_id=intent_id).only("id").first()


def _reason_note(refund: Refund) -> str:
    reason = Refund.Reason(refund.reason).label if refund.reason in Refund.Reason.values else refund.reason
    return " · ".join(str(part) for part in (reason, refund.note) if part)


def _snapshot(row: Refund | None) -> tuple | None:
    if row is None:
        return None
    names = ("status", "amount", "currency", "reason", "failure_reason", "stripe_created", "note")
    return (*(getattr(row, name) for name in names), row.requested_by_id, row.counted_amount)


def refund_record(*, refund: dict, actor: str) -> Refund | None:
    """Apply a Stripe refund as it is now to its order: create or update its row, count it in the revenue
    once it has succeeded (and back out if it fails after that), write the order's history and queue the
    customer's e-mail. Idempotent, and safe whatever the number and order of callers.

    None when the refund is of no order of ours (a payment not made through a payment link), or of one not
    recorded yet: ``refund_record_or_fulfil`` fulfils that order first.
    """
    order = _order_of(refund)
    if order is None:
        return None
    metadata = refund.get("metadata") or {}
    status = str(refund.get("status") or "")
    created = refund.get("created")
    fields = {
        "amount": int(refund.get("amount") or 0),
        "currency": str(refund.get("currency") or "").lower()[:3],
        "reason": str(refund.get("reason") or "")[:64],
        "failure_reason": str(refund.get("failure_reason") or "")[:64],
        "stripe_created": datetime.fromtimestamp(created, tz=UTC) if created else None,
    }
    requested_by = _requested_by(metadata)
    note = str(metadata.get(METADATA_NOTE) or "")[:NOTE_MAX_LENGTH]
    with transaction.atomic():
        # The order's lock serialises every recording of its refunds (select_for_update is a no-op on
        # SQLite, where IMMEDIATE transactions already take turns).
        order = Order.objects.select_for_update().get(id=order.id)
        row = Refund.objects.filter(stripe_id=refund["id"]).first()
        was = row.status if row else ""
        before = _snapshot(row)
        if row is None:
            row = Refund(stripe_id=refund["id"][:255], order=order, status=status, **fields)
        elif STATUS_RANK.get(status, -1) >= STATUS_RANK.get(row.status, -1):
            row.status = status
            for name, value in fields.items():
                setattr(row, name, value)
        # What the service knew that an event's fetch also carries (in the metadata): kept once known.
        row.requested_by = row.requested_by or requested_by
        row.note = row.note or note
        target = row.amount if row.status == Refund.Status.SUCCEEDED else 0
        delta = target - row.counted_amount
        row.counted_amount = target
        if _snapshot(row) != before:  # a retried or older delivery writes nothing
            row.save()
        who = row.requested_by.get_username() if row.requested_by else actor
        if delta:
            revenue_count_refund(order=order, amount=delta)
            order.amount_refunded += delta
            order.save(update_fields=["amount_refunded", "updated_at"])
        if delta > 0:
            OrderStatusChange.objects.create(
                order=order,
                action=OrderStatusChange.Action.REFUND,
                amount=delta,
                note=_reason_note(row),
                actor=who[:200],
            )
            outbound_email_queue(order=order, kind=OutboundEmail.Kind.REFUND, stripe_object_id=row.stripe_id)
        if row.status == Refund.Status.FAILED and was != Refund.Status.FAILED:
            OrderStatusChange.objects.create(
                order=order,
                action=OrderStatusChange.Action.REFUND_FAILED,
                # What it gives back to the revenue (the daily figures' rebuild reads it so): nothing for
                # a refund that failed before it had counted.
                amount=-delta if delta < 0 else None,
                note=row.failure_reason,
                actor=actor[:200],
            )
    return row


def refund_record_or_fulfil(*, refund: dict, actor: str) -> Refund | None:
    """``refund_record``; when its order is not recorded yet (its checkout's event still queued), the
    checkout session is found at Stripe and fulfilled first, so the refund is not lost."""
    recorded = refund_record(refund=refund, actor=actor)
    intent_id = _id(refund.get("payment_intent"))
    if recorded is not None or not intent_id:
        return recorded
    page = get_stripe_client().v1.checkout.sessions.list(params={"payment_intent": intent_id, "limit": 1})
    if not page.data:
        return None  # not a payment link's payment
    checkout_session_fulfil(session_id=page.data[0].id, actor=actor)
    return refund_record(refund=refund, actor=actor)


def refund_sync(*, refund_id: str, actor: str) -> Refund | None:
    """A refund's event (created, updated, failed): fetch it as Stripe has it now and record it."""
    refund = _as_dict(get_stripe_client().v1.refunds.retrieve(refund_id))
    return refund_record_or_fulfil(refund=refund, actor=actor)


def charge_refunds_sync(*, charge_id: str, actor: str) -> list[Refund]:
    """``charge.refunded``: record every refund of the charge as Stripe has it now (one made in Stripe's
    Dashboard included, whether or not its own events arrive)."""
    page = get_stripe_client().v1.refunds.list(params={"charge": charge_id, "limit": 100})
    recorded = [
        refund_record_or_fulfil(refund=_as_dict(refund), actor=actor) for refund in page.auto_paging_iter()
    ]
    return [refund for refund in recorded if refund is not None]


def payment_refunds_sync(*, order: Order, actor: str) -> list[Refund]:
    """Every refund of the order's payment as Stripe has it now ("Refetch from Stripe"): catches up on
    refunds whose events were lost."""
    if not order.payment_intent_id:
        return []
    page = get_stripe_client().v1.refunds.list(
        params={"payment_intent": order.payment_intent_id, "limit": 100}
    )
    recorded = [refund_record(refund=_as_dict(refund), actor=actor) for refund in page.auto_paging_iter()]
    return [refund for refund in recorded if refund is not None]


# ASKING --------------------------------------------------------------------------------------------


def order_refund(*, order: Order, amount: int, reason: str, note: str, user, request_token: str) -> Refund:
    """Refund ``amount`` (minor units) of a paid order through Stripe, then record it.

    Raises ValidationError (at ``amount``, or for the whole form) when the order cannot be refunded or
    Stripe refuses. The idempotency key is derived from the order and the form's request token: the same
    confirmation sent twice (a double click, a retry after a timeout) makes one refund.
    """
    refusal = order_refund_refusal(order=order)
    if refusal:
        raise ValidationError(refusal, code="not_refundable")
    remaining = order_amount_refundable(order)
    if amount < 1:
        raise ValidationError(
            {"amount": REFUND_TOO_SMALL % {"min": format_money(1, order.currency)}}, code="too_small"
        )
    if amount > remaining:
        raise ValidationError(
            {"amount": REFUND_TOO_LARGE % {"max": format_money(remaining, order.currency)}}, code="too_large"
        )
    metadata = {METADATA_USER: str(user.pk), "paylinks_order": str(order.public_id)}
    if note:
        metadata[METADATA_NOTE] = note[:NOTE_MAX_LENGTH]
    params: dict = {"payment_intent": order.payment_intent_id, "amount": amount, "metadata": metadata}
    if reason:
        params["reason"] = reason
    key = idempotency_key(f"refund-{order.public_id.hex}", token=request_token, params=params)
    with stripe_errors_as_validation({"amount": "amount", "reason": "reason", "metadata": "note"}):
        refund = _as_dict(
            get_stripe_client().v1.refunds.create(params=params, options={"idempotency_key": key})
        )
    recorded = refund_record(refund=refund, actor=user.get_username())
    assert recorded is not None  # the order is ours: found by its PaymentIntent
    return recorded
