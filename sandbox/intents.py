"""A session's PaymentIntent and its outcomes: created on the first attempt, then declined, waiting for
3-D Secure, succeeded (or authorised only for manual capture); each attempt records a Charge."""

from __future__ import annotations

from typing import TYPE_CHECKING

import stripe

from sandbox import cards, charges, objects, store
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
    else:
        charge_settle(intent.data["latest_charge"])
    store.save(intent)
    event_type = "payment_intent.amount_capturable_updated" if manual else "payment_intent.succeeded"
    event_emit(type=event_type, obj=intent.data)
