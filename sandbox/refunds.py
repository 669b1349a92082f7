"""Refunds of a charge and how they end, as Stripe's do.

- A card refund succeeds at once (``refund.created``, ``charge.refunded``).
- A SEPA Debit refund is ``pending`` (``pending_reason`` ``processing``) until the sandbox clock passes its
  settlement, then ``succeeded`` (``refund.updated`` and ``charge.refund.updated``).
- A refund of Stripe's test card 4000 0000 0000 5126 begins ``succeeded`` and fails a little later
  (``failure_reason``; ``refund.updated``, ``charge.refund.updated``, ``refund.failed``); the charge's
  ``amount_refunded`` is given back.

The charge's ``amount_refunded`` counts a refund from its creation (pending ones too) until it fails.
"""

from __future__ import annotations

import copy
import hashlib

import stripe
from django.conf import settings

from sandbox import charges, clock, objects, store
from sandbox.events import event_emit, previous_attributes
from sandbox.ids import new_id
from sandbox.models import ApiObject
from sandbox.shapes import skeleton

# Left out of a refund unless they apply (stripe-node types/Refunds.d.ts: ``description?: string``,
# ``destination_details?:``, ``failure_balance_transaction?:``, ``failure_reason?: string``,
# ``instructions_email?: string``, ``next_action?:``; ``pending_reason`` only while ``pending``, as the
# 2025-04-30.basil changelog that added it says; ``presentment_details?:`` as on other objects).
OMITTED = frozenset(
    {
        "deleted",
        "description",
        "destination_details",
        "failure_balance_transaction",
        "failure_reason",
        "instructions_email",
        "next_action",
        "pending_reason",
        "presentment_details",
    }
)
# How long after its creation a refund of the failing test card fails (sandbox seconds).
DEFAULT_REFUND_FAILURE_SECONDS = 60
# The reason Stripe gives for the test card's failed refund.
TEST_CARD_FAILURE_REASON = "expired_or_canceled_card"


def refund_create(*, charge: ApiObject, amount: int, reason: str | None, metadata: dict | None) -> ApiObject:
    """Store the refund of ``amount`` of a locked, succeeded ``charge`` and count it on the charge."""
    data = charge.data
    sepa = data["payment_method_details"]["type"] == "sepa_debit"
    refund = skeleton(stripe.Refund, omit=OMITTED)
    refund.update(
        {
            "id": new_id("re"),
            "object": "refund",
            "amount": amount,
            "charge": charge.stripe_id,
            "created": clock.now(),
            "currency": data["currency"],
            "customer": data["customer"],
            "metadata": objects.apply_metadata({}, metadata),
            "payment_intent": data["payment_intent"],
            "payment_method": data["payment_method"],
            "reason": reason,
            "status": "pending" if sepa else "succeeded",
        }
    )
    if sepa:
        refund["pending_reason"] = "processing"
        refund["_settles_at"] = refund["created"] + charges.sepa_settlement_seconds()
    else:
        refund["destination_details"] = _card_destination(refund["id"])
        if data.get("_refunds_fail"):
            refund["_fails_at"] = refund["created"] + int(
                getattr(settings, "SANDBOX_REFUND_FAILURE_SECONDS", DEFAULT_REFUND_FAILURE_SECONDS)
            )
    stored = store.create(object_id=refund["id"], type="refund", data=refund, parent=charge.stripe_id)
    data["amount_refunded"] += amount
    data["refunded"] = data["amount_refunded"] == data["amount_captured"]
    store.save(charge)
    event_emit(type="refund.created", obj=refund)
    event_emit(type="charge.refunded", obj=data)
    return stored


def _card_destination(refund_id: str) -> dict:
    """Where a card refund went: the acquirer reference number the customer's bank can trace."""
    reference = str(int(hashlib.sha256(refund_id.encode()).hexdigest(), 16))[:23]
    return {
        "card": {
            "reference": reference,
            "reference_status": "available",
            "reference_type": "acquirer_reference_number",
            "type": "refund",
        },
        "type": "card",
    }


def refund_update(*, refund: ApiObject, metadata: dict | None) -> None:
    """``POST /v1/refunds/{id}``: the metadata changes (``refund.updated``, ``charge.refund.updated``)."""
    before = copy.deepcopy(refund.data)
    refund.data["metadata"] = objects.apply_metadata(refund.data["metadata"] or {}, metadata)
    store.save(refund)
    _emit_updated(refund.data, before)


def _emit_updated(data: dict, before: dict) -> None:
    previous = previous_attributes(before, data)
    if not previous:
        return
    event_emit(type="refund.updated", obj=data, previous=previous)
    event_emit(type="charge.refund.updated", obj=data, previous=previous)


def refunds_due(current: int) -> int:
    """Settle the pending SEPA refunds and fail the test card's refunds that are due; return how many."""
    from django.db import transaction

    count = 0
    for key in ("_settles_at", "_fails_at"):
        due = ApiObject.objects.filter(type="refund", data__has_key=key, **{f"data__{key}__lte": current})
        for refund_id in due.values_list("stripe_id", flat=True):
            with transaction.atomic():
                count += _refund_end_if_due(refund_id=refund_id, at=current)
    return count


def _refund_end_if_due(*, refund_id: str, at: int) -> bool:
    refund = store.locked(type="refund", object_id=refund_id)
    data = refund.data
    before = copy.deepcopy(data)
    if data.get("_settles_at", at + 1) <= at:
        data.pop("_settles_at")
        data.pop("pending_reason", None)
        data["status"] = "succeeded"
        store.save(refund)
        _emit_updated(data, before)
        return True
    if data.get("_fails_at", at + 1) <= at:
        data.pop("_fails_at")
        data.update({"status": "failed", "failure_reason": TEST_CARD_FAILURE_REASON})
        store.save(refund)
        charge = store.locked(type="charge", object_id=data["charge"])
        charge.data["amount_refunded"] -= data["amount"]
        charge.data["refunded"] = charge.data["amount_refunded"] == charge.data["amount_captured"]
        store.save(charge)
        _emit_updated(data, before)
        event_emit(type="refund.failed", obj=data)
        return True
    return False
