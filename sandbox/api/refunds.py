"""``/v1/refunds``: full or partial refunds of a succeeded charge (what follows: ``sandbox/refunds.py``)."""

from __future__ import annotations

from stripe.params import RefundCreateParams, RefundListParams, RefundRetrieveParams, RefundUpdateParams

from sandbox import errors, refunds, store
from sandbox.api.common import created_filter, list_page
from sandbox.models import ApiObject
from sandbox.params import validate


def _charge_to_refund(params: dict) -> ApiObject:
    if params.get("charge") and params.get("payment_intent"):
        raise errors.invalid(
            "payment_intent", "You may only specify one of these parameters: charge, payment_intent."
        )
    if params.get("charge"):
        return store.locked(type="charge", object_id=params["charge"], param="charge")
    if not params.get("payment_intent"):
        raise errors.missing("charge")
    intent = store.get(type="payment_intent", object_id=params["payment_intent"], param="payment_intent")
    if not intent.data["latest_charge"] or intent.data["status"] != "succeeded":
        raise errors.invalid(
            "payment_intent",
            f"This PaymentIntent ({intent.stripe_id}) does not have a successful charge to refund.",
        )
    return store.locked(type="charge", object_id=intent.data["latest_charge"], param="payment_intent")


def _dispute_refundable(charge_id: str) -> bool:
    dispute = ApiObject.objects.filter(type="dispute", parent=charge_id).order_by("-seq").first()
    return dispute is None or dispute.data["is_charge_refundable"]


def refund_create(request, raw: dict) -> dict:
    params = validate(raw, RefundCreateParams)
    charge = _charge_to_refund(params)
    data = charge.data
    if data["status"] != "succeeded":
        raise errors.invalid("charge", f"Charge {charge.stripe_id} has not succeeded and cannot be refunded.")
    if data["disputed"] and not _dispute_refundable(charge.stripe_id):
        raise errors.invalid(
            "charge",
            f"Charge {charge.stripe_id} has been charged back; cannot issue a refund.",
            code="charge_disputed",
        )
    remaining = data["amount_captured"] - data["amount_refunded"]
    amount = params.get("amount", remaining)
    if remaining <= 0:
        raise errors.invalid(
            "charge", f"Charge {charge.stripe_id} has already been refunded.", code="charge_already_refunded"
        )
    if not 1 <= amount <= remaining:
        raise errors.invalid(
            "amount",
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining}).",
            code="amount_too_large",
        )
    stored = refunds.refund_create(
        charge=charge, amount=amount, reason=params.get("reason"), metadata=params.get("metadata")
    )
    return store.render(stored, expand=params.get("expand", []))


def refund_update(request, raw: dict, refund_id: str) -> dict:
    params = validate(raw, RefundUpdateParams)
    refund = store.locked(type="refund", object_id=refund_id)
    refunds.refund_update(refund=refund, metadata=params.get("metadata"))
    return store.render(refund, expand=params.get("expand", []))


def refund_retrieve(request, raw: dict, refund_id: str) -> dict:
    params = validate(raw, RefundRetrieveParams)
    return store.render(store.get(type="refund", object_id=refund_id), expand=params.get("expand", []))


def refund_list(request, raw: dict) -> dict:
    params = validate(raw, RefundListParams)
    queryset = created_filter(ApiObject.objects.filter(type="refund"), params.get("created"))
    if params.get("charge"):
        queryset = queryset.filter(parent=params["charge"])
    if params.get("payment_intent"):
        queryset = queryset.filter(data__payment_intent=params["payment_intent"])
    return list_page(queryset, params, url="/v1/refunds", kind="refund")
