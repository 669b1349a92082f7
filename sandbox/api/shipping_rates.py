"""``/v1/shipping_rates``: fixed-amount rates; no delete (archive with ``active=false``), no events."""

from __future__ import annotations

import copy

import stripe
from stripe.params import (
    ShippingRateCreateParams,
    ShippingRateListParams,
    ShippingRateRetrieveParams,
    ShippingRateUpdateParams,
)

from sandbox import clock, errors, objects, store
from sandbox.api.common import created_filter, list_page
from sandbox.ids import new_id
from sandbox.models import ApiObject
from sandbox.params import validate
from sandbox.shapes import shape


def shipping_rate_create(request, raw: dict) -> dict:
    params = validate(raw, ShippingRateCreateParams)
    fixed = params.get("fixed_amount")
    if not fixed:
        raise errors.missing("fixed_amount")
    if fixed["amount"] < 0:
        raise errors.invalid("fixed_amount[amount]", "The amount must be at least 0.")
    data = {
        "id": new_id("shr"),
        "object": "shipping_rate",
        "active": True,
        "created": clock.now(),
        "delivery_estimate": shape(stripe.ShippingRate.DeliveryEstimate, params.get("delivery_estimate")),
        "display_name": params["display_name"],
        "fixed_amount": {
            "amount": fixed["amount"],
            "currency": fixed["currency"].lower(),
            **({"currency_options": fixed["currency_options"]} if fixed.get("currency_options") else {}),
        },
        "livemode": False,
        "metadata": objects.apply_metadata({}, params.get("metadata")),
        "tax_behavior": params.get("tax_behavior", "unspecified"),
        "tax_code": params.get("tax_code"),
        "type": params.get("type", "fixed_amount"),
    }
    rate = store.create(object_id=data["id"], type="shipping_rate", data=data)
    return store.render(rate, expand=params.get("expand", []))


def shipping_rate_retrieve(request, raw: dict, rate_id: str) -> dict:
    params = validate(raw, ShippingRateRetrieveParams)
    return store.render(store.get(type="shipping_rate", object_id=rate_id), expand=params.get("expand", []))


def shipping_rate_update(request, raw: dict, rate_id: str) -> dict:
    params = validate(raw, ShippingRateUpdateParams)
    rate = store.locked(type="shipping_rate", object_id=rate_id)
    before = copy.deepcopy(rate.data)
    if "active" in params:
        rate.data["active"] = params["active"]
    if "metadata" in params:
        rate.data["metadata"] = objects.apply_metadata(rate.data["metadata"], params["metadata"])
    if "tax_behavior" in params:
        if (
            rate.data["tax_behavior"] in ("inclusive", "exclusive")
            and params["tax_behavior"] != rate.data["tax_behavior"]
        ):
            raise errors.invalid(
                "tax_behavior", "tax_behavior cannot be changed once it is set to inclusive or exclusive."
            )
        rate.data["tax_behavior"] = params["tax_behavior"]
    if rate.data != before:
        store.save(rate)
    return store.render(rate, expand=params.get("expand", []))


def shipping_rate_list(request, raw: dict) -> dict:
    params = validate(raw, ShippingRateListParams)
    queryset = created_filter(ApiObject.objects.filter(type="shipping_rate"), params.get("created"))
    if "active" in params:
        queryset = queryset.filter(data__active=params["active"])
    if params.get("currency"):
        queryset = queryset.filter(data__fixed_amount__currency=params["currency"].lower())
    return list_page(queryset, params, url="/v1/shipping_rates", kind="shipping_rate")
