"""A session's PaymentIntent and its outcomes: created on the first attempt, then declined, waiting for
3-D Secure, succeeded (or authorised only for manual capture); each attempt records a Charge."""

from __future__ import annotations

from typing import TYPE_CHECKING

import stripe

from sandbox import cards, charges, clock, errors, objects, store
from sandbox.events import event_emit
from sandbox.ids import new_id
from sandbox.models import ApiObject
from sandbox.shapes import shape

if TYPE_CHECKING:
    from sandbox.checkout import Payment


def intent_require_action(intent: ApiObject, session: ApiObject) -> None:
    intent.data["status"] = "requires_action"
    intent.data["next_action"] = {
        "redirect_to_url": {"return_url": session.data["url"], "url": session.data["url"] + "/authenticate"},
        "type": "redirect_to_url",
    }
    payment_method_id(intent)
    store.save(intent)


def intent_for_session(session: dict, link: dict, payment: Payment) -> ApiObject:
    """The session's PaymentIntent: created on the first attempt, reused by retries like Stripe."""
    if session["payment_intent"]:
        intent = store.locked(type="payment_intent", object_id=session["payment_intent"])
        intent.data["amount"] = session["amount_total"]
        return intent
    intent_data = link.get("payment_intent_data") or {}
    data = objects.payment_intent(
        amount=session["amount_total"],
        currency=session["currency"],
        customer_id=None,
        metadata=intent_data.get("metadata") or {},
        description=intent_data.get("description"),
        receipt_email=None,
        payment_method_types=session["payment_method_types"],
    )
    data["capture_method"] = intent_data.get("capture_method") or "automatic"
    # The customer was told the card is kept for later payments (the page's reuse agreement).
    data["setup_future_usage"] = intent_data.get("setup_future_usage")
    # What the customer's statement shows: the suffix (cards), or the full descriptor (non-card links).
    data["statement_descriptor"] = intent_data.get("statement_descriptor")
    data["statement_descriptor_suffix"] = intent_data.get("statement_descriptor_suffix")
    # Connect: the link's fee, settlement merchant and destination are recorded on the payment.
    data["application_fee_amount"] = link.get("application_fee_amount")
    data["on_behalf_of"] = link.get("on_behalf_of")
    transfer = link.get("transfer_data")
    if transfer:
        data["transfer_data"] = shape(
            stripe.PaymentIntent.TransferData,
            {"amount": transfer.get("amount"), "destination": transfer["destination"]},
        )
        data["transfer_group"] = f"group_{data['id']}"
    intent = store.create(object_id=data["id"], type="payment_intent", data=data)
    session["payment_intent"] = intent.stripe_id
    event_emit(type="payment_intent.created", obj=intent.data)
    return intent


def charge_settle(charge_id: str | None) -> None:
    """A pending (SEPA) charge succeeds when the debit settles."""
    if not charge_id:
        return
    charge = store.locked(type="charge", object_id=charge_id)
    charge.data.update(
        {"status": "succeeded", "paid": True, "captured": True, "amount_captured": charge.data["amount"]}
    )
    store.save(charge)
    event_emit(type="charge.succeeded", obj=charge.data)


def payment_method_id(intent: ApiObject) -> str:
    intent.data["payment_method"] = intent.data.get("payment_method") or new_id("pm")
    return intent.data["payment_method"]


def intent_decline(
    intent: ApiObject, decline: cards.CardDecline, *, payment: Payment | None = None, method: str = "card"
) -> None:
    charge_id = intent.data.get("latest_charge")
    if payment is not None:
        charge = charges.charge_create(intent=intent.data, payment=payment, decline=decline)
        charge_id = charge["id"]
        intent.data["latest_charge"] = charge_id
    intent.data["status"] = "requires_payment_method"
    intent.data["next_action"] = None
    intent.data["last_payment_error"] = {
        "advice_code": None,
        "charge": charge_id,
        "code": decline.code,
        "decline_code": decline.decline_code,
        "doc_url": f"https://stripe.com/docs/error-codes/{decline.code.replace('_', '-')}",
        "message": str(decline.message),
        "network_advice_code": None,
        "network_decline_code": None,
        "param": None,
        "payment_intent": None,
        "payment_method": None,
        "payment_method_type": method,
        "request_log_url": None,
        "setup_intent": None,
        "source": None,
        "type": "card_error" if method == "card" else "invalid_request_error",
    }
    payment_method_id(intent)
    store.save(intent)
    event_emit(type="payment_intent.payment_failed", obj=intent.data)


def intent_succeed(intent: ApiObject, *, customer_id: str | None, payment: Payment | None = None) -> None:
    """The charge went through: ``succeeded``, or ``requires_capture`` for ``capture_method=manual``."""
    manual = intent.data["capture_method"] == "manual"
    amount = intent.data["amount"]
    intent.data.update(
        {
            "status": "requires_capture" if manual else "succeeded",
            "amount_received": 0 if manual else amount,
            "amount_capturable": amount if manual else 0,
            "last_payment_error": None,
            "next_action": None,
            "customer": customer_id,
        }
    )
    payment_method_id(intent)
    if payment is not None:
        charge = charges.charge_create(intent=intent.data, payment=payment, decline=None, captured=not manual)
        intent.data["latest_charge"] = charge["id"]
        capture_before = (charge["payment_method_details"].get("card") or {}).get("capture_before")
        if manual and capture_before:
            # When the tick cancels the authorisation if it is still uncaptured (partial index).
            intent.data["_capture_before"] = capture_before
    else:
        charge_settle(intent.data["latest_charge"])
    store.save(intent)
    event_type = "payment_intent.amount_capturable_updated" if manual else "payment_intent.succeeded"
    event_emit(type=event_type, obj=intent.data)


# What Stripe lets POST /v1/payment_intents/{id}/cancel cancel (API reference, "Cancel a PaymentIntent").
CANCELABLE = (
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
)


def _unexpected_state(intent: ApiObject, message: str) -> errors.ApiError:
    # Stripe's payment_intent_unexpected_state errors carry the PaymentIntent as it is.
    return errors.ApiError(
        message, code="payment_intent_unexpected_state", payment_intent=store.public(intent.data)
    )


def intent_capture(*, intent: ApiObject, amount_to_capture: int | None) -> None:
    """Capture an authorised payment in full or in part. Since API version 2025-03-31.basil the part not
    captured is released without a Refund: the charge's ``amount_refunded`` stays 0 and no
    ``charge.refunded`` is sent (Stripe changelog, "Partially capturing or canceling payments no longer
    creates a Refund")."""
    data = intent.data
    if data["status"] != "requires_capture":
        raise _unexpected_state(
            intent,
            f"This PaymentIntent could not be captured because it has a status of {data['status']}. "
            "Only a PaymentIntent with one of the following statuses may be captured: requires_capture.",
        )
    capturable = data["amount_capturable"]
    amount = capturable if amount_to_capture is None else amount_to_capture
    if amount > capturable:
        raise errors.ApiError(
            "The payment could not be captured because the requested capture amount is greater than the "
            "amount you can capture for this charge.",
            code="amount_too_large",
            param="amount_to_capture",
        )
    if amount < 1:
        raise errors.invalid(
            "amount_to_capture",
            "This value must be greater than or equal to 1.",
            code="parameter_invalid_integer",
        )
    data.update({"status": "succeeded", "amount_received": amount, "amount_capturable": 0})
    data.pop("_capture_before", None)
    store.save(intent)
    charge = store.locked(type="charge", object_id=data["latest_charge"])
    charge.data.update({"captured": True, "amount_captured": amount})
    charges.dispute_when_due(charge.data)
    store.save(charge)
    # previous_attributes is sent only with ``*.updated`` events (Event object reference).
    event_emit(type="charge.captured", obj=charge.data)
    event_emit(type="payment_intent.succeeded", obj=data)


def intent_cancel(*, intent: ApiObject, reason: str | None) -> None:
    """Cancel a PaymentIntent (``payment_intent.canceled``). An authorised card payment is released: no
    Refund is made and the charge keeps ``amount_refunded`` 0 and ``refunded`` false (basil and later)."""
    data = intent.data
    if data["status"] not in CANCELABLE:
        raise _unexpected_state(
            intent,
            f"You cannot cancel this PaymentIntent because it has a status of {data['status']}. Only a "
            f"PaymentIntent with one of the following statuses may be canceled: {', '.join(CANCELABLE)}.",
        )
    # "You can directly cancel the PaymentIntent for a Checkout Session only when the PaymentIntent has a
    # status of requires_capture. Otherwise, you must expire the Checkout Session." (API reference)
    if data["status"] != "requires_capture" and _session_of(data["id"]):
        raise _unexpected_state(
            intent,
            "This PaymentIntent was created by a Checkout Session and can only be canceled when its status "
            "is requires_capture. Expire the Checkout Session instead.",
        )
    _cancel(intent, reason=reason)


def _session_of(intent_id: str) -> bool:
    return ApiObject.objects.filter(type="checkout.session", data__payment_intent=intent_id).exists()


def _cancel(intent: ApiObject, *, reason: str | None) -> None:
    data = intent.data
    data.update(
        {
            "status": "canceled",
            "canceled_at": clock.now(),
            "cancellation_reason": reason,
            "amount_capturable": 0,
            "next_action": None,
        }
    )
    data.pop("_capture_before", None)
    store.save(intent)
    event_emit(type="payment_intent.canceled", obj=data)


def authorisation_expire_if_due(*, intent_id: str, at: int) -> bool:
    """An uncaptured card authorisation past its charge's ``capture_before``: ``charge.expired``, then the
    PaymentIntent is canceled with ``cancellation_reason`` ``expired`` (which replaced ``automatic`` in
    2025-03-31.basil). Call inside ``transaction.atomic``."""
    intent = store.locked(type="payment_intent", object_id=intent_id)
    due = intent.data.get("_capture_before")
    if intent.data["status"] != "requires_capture" or due is None or due > at:
        return False
    charge = store.get(type="charge", object_id=intent.data["latest_charge"])
    event_emit(type="charge.expired", obj=charge.data)
    _cancel(intent, reason="expired")
    return True
