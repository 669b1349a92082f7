"""Disputes: a customer asked their bank for their money back. Each dispute's events
(``charge.dispute.created``, ``updated``, ``closed``) re-fetch it and apply its current state to one
``Dispute`` row of its order, so that duplicate or reordered deliveries give the same row, one "opened" and
one "closed" entry in the order's history, and one e-mail to staff.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from config.stripe_calls import as_dict
from config.stripe_client import get_stripe_client
from links import capture
from links.emails import outbound_email_queue
from links.models import Dispute, Order, OrderStatusChange, OutboundEmail
from links.revenue import revenue_count_refund


def _id(value) -> str:
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def _timestamp(value) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def dispute_fields(dispute: dict) -> dict:
    """The ``Dispute`` columns that mirror Stripe's dispute."""
    return {
        "charge_id": _id(dispute.get("charge"))[:255],
        "amount": int(dispute.get("amount") or 0),
        "currency": str(dispute.get("currency") or "")[:3].lower(),
        "reason": str(dispute.get("reason") or "")[:64],
        "status": str(dispute.get("status") or "")[:32],
        "evidence_due_by": _timestamp((dispute.get("evidence_details") or {}).get("due_by")),
    }


def dispute_sync(*, dispute_id: str, actor: str) -> Dispute | None:
    """Fetch the dispute and record its current state on its order; None when it is not about a payment
    link's payment."""
    dispute = as_dict(get_stripe_client().v1.disputes.retrieve(dispute_id))
    intent_id = _id(dispute.get("payment_intent"))
    if not intent_id:
        return None
    if not Order.objects.filter(payment_intent_id=intent_id).exists():
        # Its order is not recorded yet (the session's completion is queued, or was lost): record it first.
        capture.payment_intent_sync(payment_intent_id=intent_id, actor=actor)
    return dispute_record(dispute=dispute, actor=actor)


def dispute_record(*, dispute: dict, actor: str) -> Dispute | None:
    """Create or update the dispute's row under its order's lock.

    Opening it writes the order's history and queues staff's e-mail (once: the e-mail is unique per order,
    kind and dispute). Closing it writes the outcome once; a dispute already closed is not reopened by an
    older fetch. A lost dispute's amount counts against revenue: the bank took it back from the merchant,
    as a refund does. It is counted when lost, not when opened (when Stripe withdraws it), so that a won
    dispute leaves the figures as they were rather than taking the amount out and back in.
    """
    intent_id = _id(dispute.get("payment_intent"))
    order_id = Order.objects.filter(payment_intent_id=intent_id).values_list("id", flat=True).first()
    if order_id is None:
        return None
    fields = dispute_fields(dispute)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(id=order_id)
        row = Dispute.objects.filter(stripe_id=dispute["id"]).first()
        if row is None:
            row = Dispute.objects.create(order=order, stripe_id=dispute["id"][:255], **fields)
            OrderStatusChange.objects.create(
                order=order,
                action=OrderStatusChange.Action.DISPUTE_OPENED,
                amount=row.amount,
                note=row.reason,
                actor=actor[:200],
            )
            outbound_email_queue(
                order=order, kind=OutboundEmail.Kind.DISPUTE_OPENED, stripe_object_id=row.stripe_id
            )
        elif row.closed_at is None:
            changed = [name for name, value in fields.items() if getattr(row, name) != value]
            for name in changed:
                setattr(row, name, fields[name])
            if changed:
                row.save(update_fields=[*changed, "updated_at"])
        if row.is_closed and row.closed_at is None:
            row.closed_at = timezone.now()
            row.save(update_fields=["closed_at", "updated_at"])
            OrderStatusChange.objects.create(
                order=order,
                action=OrderStatusChange.Action.DISPUTE_CLOSED,
                amount=row.amount,
                note=row.status,
                actor=actor[:200],
            )
            if row.status == Dispute.Status.LOST and order.paid_at is not None:
                revenue_count_refund(order=order, amount=row.amount)
    return row


def orders_with_open_dispute(orders: QuerySet[Order]) -> QuerySet[Order]:
    """``orders`` with ``has_open_dispute``, for the orders list's "Disputed" badge: a subquery per row of
    the page, on the dispute's order index, in the list's own query."""
    still_open = Dispute.objects.filter(order=OuterRef("pk")).exclude(status__in=Dispute.CLOSED_STATUSES)
    return orders.annotate(has_open_dispute=Exists(still_open))
