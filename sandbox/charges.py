"""Charges: one per payment attempt on a PaymentIntent (``charge.succeeded`` / ``charge.failed``)."""

from __future__ import annotations

import datetime
import hashlib

import stripe
from django.conf import settings

from sandbox import cards, clock, store
from sandbox.events import event_emit
from sandbox.ids import new_id
from sandbox.shapes import skeleton

# Features of a card charge Stripe leaves out unless they apply: stripe-node Charges.ts declares them
# ``capture_before?: number``, ``extended_authorization?: Card.ExtendedAuthorization``… (never null).
_CARD_OMITTED = frozenset(
    {"capture_before", "extended_authorization", "incremental_authorization", "multicapture", "overcapture"}
)


# Stripe holds an uncaptured card authorisation for 7 days: ``capture_before`` on the charge's card
# details, after which the payment is canceled (``sandbox.intents.authorisation_expire_if_due``).
AUTHORISATION_SECONDS = 7 * 24 * 3600

_OUTCOME_OMITTED = frozenset({"risk_level", "risk_score", "rule"})
# Left out of a charge unless they apply (Charges.ts: ``authorization_code?: string``, ``level3?:``,
# ``presentment_details?:``, ``radar_options?:``, ``transfer?:``).
_CHARGE_OMITTED = frozenset(
    {"authorization_code", "level3", "presentment_details", "radar_options", "transfer"}
)


def _card_details(payment) -> dict:
    number = payment.card_number
    details = {
        key: None
        for key in stripe.Charge.PaymentMethodDetails.Card.__annotations__
        if key not in _CARD_OMITTED
    }
    details.update(
        {
            "amount_authorized": None,
            "brand": cards.brand(number),
            "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"},
            "country": "US",
            "exp_month": payment.exp_month,
            "exp_year": payment.exp_year,
            # Like Stripe's, the same number always gives the same fingerprint.
            "fingerprint": hashlib.sha256(number.encode()).hexdigest()[:16],
            "funding": "credit",
            "last4": number[-4:],
            "network": cards.brand(number),
        }
    )
    return {"card": details, "type": "card"}


def sepa_settlement_seconds() -> int:
    """Sandbox seconds until a SEPA debit (or a refund to the account) settles."""
    from sandbox.checkout import DEFAULT_SEPA_SETTLEMENT_SECONDS

    return int(getattr(settings, "SANDBOX_SEPA_SETTLEMENT_SECONDS", DEFAULT_SEPA_SETTLEMENT_SECONDS))


def _sepa_details(payment) -> dict:
    debit_on = datetime.datetime.fromtimestamp(clock.now() + sepa_settlement_seconds(), tz=datetime.UTC)
    return {
        "sepa_debit": {
            "bank_code": payment.iban[4:12] or None,
            "branch_code": None,
            "country": payment.iban[:2] or None,
            "expected_debit_date": debit_on.date().isoformat(),
            "fingerprint": hashlib.sha256(payment.iban.encode()).hexdigest()[:16],
            "last4": payment.iban[-4:] or None,
            "mandate": new_id("mandate"),
        },
        "type": "sepa_debit",
    }


def charge_create(
    *,
    intent: dict,
    payment,
    decline: cards.CardDecline | None,
    status: str | None = None,
    captured: bool = True,
) -> dict:
    """Store the charge for one attempt and emit its event; ``status`` overrides (SEPA ``pending``),
    ``captured=False`` only authorises (``capture_method=manual``)."""
    sepa = payment.payment_method_type == "sepa_debit"
    status = status or ("failed" if decline else "succeeded")
    data = skeleton(stripe.Charge, omit=frozenset({"deleted"}) | _CHARGE_OMITTED)
    data.update(
        {
            "id": new_id("ch"),
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": intent["amount"] if status == "succeeded" and captured else 0,
            "amount_refunded": 0,
            "billing_details": {
                "address": payment.address,
                "email": payment.email or None,
                "name": payment.name or None,
                "phone": payment.phone,
                "tax_id": None,
            },
            "calculated_statement_descriptor": _statement_descriptor(intent),
            "statement_descriptor": intent["statement_descriptor"],
            "statement_descriptor_suffix": intent["statement_descriptor_suffix"],
            "captured": status == "succeeded" and captured,
            "created": clock.now(),
            "currency": intent["currency"],
            "customer": intent["customer"],
            "description": intent["description"],
            "disputed": False,
            "failure_code": decline.code if decline else None,
            "failure_message": str(decline.message) if decline else None,
            "fraud_details": {},
            "livemode": False,
            "metadata": dict(intent["metadata"]),
            "outcome": _outcome(decline, status),
            "paid": status == "succeeded",
            "payment_intent": intent["id"],
            "payment_method": intent["payment_method"],
            "payment_method_details": _sepa_details(payment) if sepa else _card_details(payment),
            "receipt_email": payment.email or None,
            "refunded": False,
            "status": status,
            # A charge's transfer_data has only these two keys (stripe.Charge.TransferData).
            "transfer_data": {
                "amount": intent["transfer_data"]["amount"],
                "destination": intent["transfer_data"]["destination"],
            }
            if intent["transfer_data"]
            else None,
            "application_fee_amount": intent["application_fee_amount"],
            "on_behalf_of": intent["on_behalf_of"],
        }
    )
    if not sepa and payment.card_number in cards.REFUND_FAILS:
        data["_refunds_fail"] = True
    if not sepa and payment.card_number in cards.DISPUTED:
        data["_disputed_card"] = True
        if data["captured"]:
            dispute_when_due(data)
    if status == "succeeded" and not captured and not sepa:
        data["payment_method_details"]["card"]["capture_before"] = data["created"] + AUTHORISATION_SECONDS
    store.create(object_id=data["id"], type="charge", data=data, parent=intent["id"])
    event_type = {"succeeded": "charge.succeeded", "failed": "charge.failed", "pending": "charge.pending"}[
        status
    ]
    event_emit(type=event_type, obj=data)
    return data


def dispute_when_due(charge: dict) -> None:
    """The test card's captured charge is disputed by the next tick (``sandbox.disputes.disputes_due``)."""
    if charge.get("_disputed_card"):
        charge["_dispute_at"] = clock.now()


def _statement_descriptor(intent: dict) -> str:
    """The account's prefix and the payment's suffix (``PREFIX* SUFFIX``, 22 characters at most), or the
    payment's own descriptor (non-card), as Stripe composes calculated_statement_descriptor."""
    if intent["statement_descriptor_suffix"]:
        return f"SANDBOX* {intent['statement_descriptor_suffix']}"[:22]
    return intent["statement_descriptor"] or "SANDBOX"


def _outcome(decline: cards.CardDecline | None, status: str) -> dict:
    outcome = {key: None for key in stripe.Charge.Outcome.__annotations__}
    if decline:
        outcome.update(
            {
                "network_status": "declined_by_network",
                "reason": decline.decline_code,
                "risk_level": "normal",
                "seller_message": "The bank did not return any further details with this decline.",
                "type": "issuer_declined",
            }
        )
    else:
        outcome.update(
            {
                "network_status": "approved_by_network",
                "risk_level": "normal",
                "risk_score": 20,
                "seller_message": "Payment complete." if status == "succeeded" else "Payment pending.",
                "type": "authorized",
            }
        )
    # Radar's score and matched rule are left out when there are none (Charges.ts: ``risk_score?: number``,
    # ``rule?: string | Outcome.Rule``).
    return {key: value for key, value in outcome.items() if value is not None or key not in _OUTCOME_OMITTED}
