"""Disputes, as Stripe's test card 4000 0000 0000 0259 raises them: the payment succeeds, then the
cardholder's bank opens a ``fraudulent`` chargeback.

- Opened by the first sandbox tick after the charge is captured (as Stripe opens it shortly after):
  ``charge.dispute.created`` and ``charge.dispute.funds_withdrawn``; the charge becomes ``disputed``.
- Evidence is staged (``submit=false``) or submitted (``charge.dispute.updated``, ``under_review``).
  Stripe's test evidence decides at once: ``uncategorized_text`` ``winning_evidence`` → ``won``
  (``charge.dispute.closed``, ``charge.dispute.funds_reinstated``), ``losing_evidence`` → ``lost``
  (``charge.dispute.closed``); anything else stays under review.
- Closing accepts the loss (``lost``, ``charge.dispute.closed``).

No dispute fee is modelled: the balance transactions carry the disputed amount only.
"""

from __future__ import annotations

import copy
import datetime

import stripe

from sandbox import clock, errors, objects, store
from sandbox.events import event_emit, previous_attributes
from sandbox.ids import new_id
from sandbox.models import ApiObject
from sandbox.shapes import field_names

# Visa's reason code for card-absent fraud, which Stripe's fraudulent test dispute carries.
FRAUD_REASON_CODE = "10.4"
# Days the merchant has to answer (networks give 7 to 21); due at the end of that day, UTC.
RESPONSE_DAYS = 7
WINNING_EVIDENCE = "winning_evidence"
LOSING_EVIDENCE = "losing_evidence"
CLOSED = frozenset({"won", "lost", "warning_closed", "prevented"})
OPEN_FOR_EVIDENCE = frozenset({"needs_response", "warning_needs_response"})


def _due_by(created: int) -> int:
    day = datetime.datetime.fromtimestamp(created, tz=datetime.UTC).date() + datetime.timedelta(
        days=RESPONSE_DAYS
    )
    return int(datetime.datetime.combine(day, datetime.time(23, 59, 59), tzinfo=datetime.UTC).timestamp())


def _balance_transaction(*, dispute: dict, amount: int, description: str, category: str) -> dict:
    """A BalanceTransaction of the dispute's funds (``type`` ``adjustment``, as Stripe books them)."""
    return {
        "id": new_id("txn"),
        "object": "balance_transaction",
        "amount": amount,
        "available_on": clock.now(),
        "balance_type": "payments",
        "created": clock.now(),
        "currency": dispute["currency"],
        "description": description,
        "exchange_rate": None,
        "fee": 0,
        "fee_details": [],
        "net": amount,
        "reporting_category": category,
        "source": dispute["id"],
        "status": "available",
        "type": "adjustment",
    }


def dispute_open(*, charge: ApiObject) -> ApiObject:
    """The bank disputes a captured charge (locked) as fraudulent."""
    data = charge.data
    card = data["payment_method_details"]["card"]
    # Every evidence field, unset; enhanced evidence and eligibility are left out until they apply
    # (stripe-node Disputes.d.ts: ``visa_compelling_evidence_3?:``, ``visa_compliance?:``).
    evidence = {name: None for name in field_names(stripe.Dispute.Evidence)}
    evidence["enhanced_evidence"] = {}
    dispute = {
        "id": new_id("du"),
        "object": "dispute",
        "amount": data["amount_captured"],
        "balance_transactions": [],
        "charge": charge.stripe_id,
        "created": clock.now(),
        "currency": data["currency"],
        "enhanced_eligibility_types": [],
        "evidence": evidence,
        "evidence_details": {
            "due_by": None,
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
            "submission_method": "not_submitted",
        },
        "intended_submission_method": None,
        # A chargeback (not an inquiry): refunding the charge no longer settles it.
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "network_reason_code": FRAUD_REASON_CODE,
        "payment_intent": data["payment_intent"],
        "payment_method_details": {
            "card": {
                "brand": card["brand"],
                "case_type": "chargeback",
                "network": card["network"],
                "network_reason_code": FRAUD_REASON_CODE,
            },
            "type": "card",
        },
        "reason": "fraudulent",
        "status": "needs_response",
    }
    dispute["evidence_details"]["due_by"] = _due_by(dispute["created"])
    stored = store.create(object_id=dispute["id"], type="dispute", data=dispute, parent=charge.stripe_id)
    data["disputed"] = True
    data.pop("_dispute_at", None)
    store.save(charge)
    event_emit(type="charge.dispute.created", obj=dispute)
    dispute["balance_transactions"].append(
        _balance_transaction(
            dispute=dispute,
            amount=-dispute["amount"],
            description=f"Chargeback withdrawal for {charge.stripe_id}",
            category="dispute",
        )
    )
    store.save(stored)
    event_emit(type="charge.dispute.funds_withdrawn", obj=dispute)
    return stored


def disputes_due(current: int) -> int:
    """Open the disputes of the test card's charges captured by now; return how many."""
    from django.db import transaction

    count = 0
    due = ApiObject.objects.filter(type="charge", data__has_key="_dispute_at", data___dispute_at__lte=current)
    for charge_id in due.values_list("stripe_id", flat=True):
        with transaction.atomic():
            charge = store.locked(type="charge", object_id=charge_id)
            if "_dispute_at" in charge.data:
                dispute_open(charge=charge)
                count += 1
    return count


def _closed_error(dispute: dict) -> errors.ApiError:
    return errors.ApiError(f"This dispute is already closed (its status is {dispute['status']}).")


def dispute_update(
    *,
    dispute: ApiObject,
    evidence: dict | None,
    metadata: dict | None,
    submit: bool | None,
    intended_submission_method: str | None,
) -> None:
    """``POST /v1/disputes/{id}``: stage or submit evidence, change metadata."""
    data = dispute.data
    wants_evidence = evidence is not None or submit
    if wants_evidence and data["status"] in CLOSED:
        raise _closed_error(data)
    if wants_evidence and data["status"] not in OPEN_FOR_EVIDENCE:
        raise errors.ApiError(
            f"This dispute is {data['status']} and its evidence can no longer be changed.", param="evidence"
        )
    before = copy.deepcopy(data)
    data["metadata"] = objects.apply_metadata(data["metadata"], metadata)
    if intended_submission_method is not None:
        data["intended_submission_method"] = intended_submission_method
    if evidence is not None:
        # Files are ids of uploads (not served here): kept as given. Enhanced evidence is not modelled.
        given = {key: value or None for key, value in evidence.items() if key != "enhanced_evidence"}
        data["evidence"].update(given)
        data["evidence_details"]["has_evidence"] = True
    # Stripe's default is to submit what the request brings; a metadata-only update submits nothing.
    submitting = submit if submit is not None else evidence is not None
    if submitting:
        details = data["evidence_details"]
        details.update(
            {
                "has_evidence": True,
                "past_due": clock.now() > details["due_by"],
                "submission_count": details["submission_count"] + 1,
                "submission_method": "manual",
            }
        )
        data["status"] = "under_review"
    store.save(dispute)
    previous = previous_attributes(before, data)
    if previous:
        event_emit(type="charge.dispute.updated", obj=data, previous=previous)
    if submitting:
        outcome = {WINNING_EVIDENCE: "won", LOSING_EVIDENCE: "lost"}.get(
            data["evidence"]["uncategorized_text"]
        )
        if outcome:
            _close(dispute, status=outcome)


def dispute_close(*, dispute: ApiObject) -> None:
    """``POST /v1/disputes/{id}/close``: the merchant accepts the dispute as lost."""
    data = dispute.data
    if data["status"] in CLOSED:
        raise _closed_error(data)
    if data["status"] not in OPEN_FOR_EVIDENCE:
        raise errors.ApiError(f"This dispute is {data['status']} and can no longer be closed.")
    _close(dispute, status="lost")


def _close(dispute: ApiObject, *, status: str) -> None:
    data = dispute.data
    data["status"] = status
    store.save(dispute)
    event_emit(type="charge.dispute.closed", obj=data)
    if status == "won":
        data["balance_transactions"].append(
            _balance_transaction(
                dispute=data,
                amount=data["amount"],
                description=f"Chargeback reversal for {data['charge']}",
                category="dispute_reversal",
            )
        )
        store.save(dispute)
        event_emit(type="charge.dispute.funds_reinstated", obj=data)
