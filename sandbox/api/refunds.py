"""``/v1/refunds``: full or partial refunds of a succeeded charge (emits ``charge.refunded``)."""

from __future__ import annotations

import copy

import stripe
from stripe.params import RefundCreateParams, RefundListParams, RefundRetrieveParams

from sandbox import clock, errors, objects, store
from sandbox.api.common import created_filter, list_page
from sandbox.events import event_emit, previous_attributes
from sandbox.ids import new_id
from sandbox.models import ApiObject
from sandbox.params import validate
from sandbox.shapes import skeleton


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


def refund_create(request, raw: dict) -> dict:
    params = validate(raw, RefundCreateParams)
    charge = _charge_to_refund(params)
    data = charge.data
    if data["status"] != "succeeded":
        raise errors.invalid("charge", f"Charge {charge.stripe_id} has not succeeded and cannot be refunded.")
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
    refund = skeleton(stripe.Refund)
    refund.update(
        {
            "id": new_id("re"),
            "object": "refund",
            "amount": amount,
            "charge": charge.stripe_id,
            "created": clock.now(),
            "currency": data["currency"],
            "destination_details": None,
            "metadata": objects.apply_metadata({}, params.get("metadata")),
            "payment_intent": data["payment_intent"],
            "reason": params.get("reason"),
            "status": "succeeded",
        }
    )
    stored = store.create(object_id=refund["id"], type="refund", data=refund, parent=charge.stripe_id)
    before = copy.deepcopy(data)
    data["amount_refunded"] += amount
    data["refunded"] = data["amount_refunded"] == data["amount_captured"]
    store.save(charge)
    event_emit(type="refund.created", obj=refund)
    event_emit(type="charge.refunded", obj=data, previous=previous_attributes(before, data))
    return store.render(stored, expand=params.get("expand", []))


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
