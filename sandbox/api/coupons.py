"""``/v1/coupons`` and ``/v1/promotion_codes`` (API ≥ clover: ``promotion[coupon]``, no top-level coupon)."""

from __future__ import annotations

import copy
import re
import secrets
import string

from stripe.params import (
    CouponCreateParams,
    CouponDeleteParams,
    CouponListParams,
    CouponRetrieveParams,
    CouponUpdateParams,
    PromotionCodeCreateParams,
    PromotionCodeListParams,
    PromotionCodeRetrieveParams,
    PromotionCodeUpdateParams,
)

from sandbox import clock, errors, objects, store
from sandbox.api.common import created_filter, list_page
from sandbox.discounts import coupon_valid
from sandbox.events import event_emit, previous_attributes
from sandbox.ids import new_id
from sandbox.models import ApiObject
from sandbox.params import validate

FIVE_YEARS = 5 * 366 * 24 * 3600
_CODE = re.compile(r"^[A-Za-z0-9-]+$")


def _random_code(length: int = 8) -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


store.RENDER_HOOKS["coupon"] = lambda data: {**data, "valid": coupon_valid(data)}


def coupon_create(request, raw: dict) -> dict:
    params = validate(raw, CouponCreateParams)
    _check_coupon(params)
    coupon_id = params.get("id") or _random_code()
    if ApiObject.objects.filter(type="coupon", stripe_id=coupon_id).exists():
        raise errors.ApiError("Coupon already exists.", code="resource_already_exists", param="id")
    data = {
        "id": coupon_id,
        "object": "coupon",
        "amount_off": params.get("amount_off"),
        "applies_to": {"products": params["applies_to"].get("products", [])}
        if params.get("applies_to")
        else None,
        "created": clock.now(),
        "currency": params["currency"].lower() if params.get("currency") else None,
        "currency_options": params.get("currency_options"),
        "duration": params.get("duration", "once"),
        "duration_in_months": params.get("duration_in_months"),
        "livemode": False,
        "max_redemptions": params.get("max_redemptions"),
        "metadata": objects.apply_metadata({}, params.get("metadata")),
        "name": params.get("name") or None,
        "percent_off": params.get("percent_off"),
        "redeem_by": params.get("redeem_by"),
        "times_redeemed": 0,
        "valid": True,
    }
    coupon = store.create(object_id=coupon_id, type="coupon", data=data)
    event_emit(type="coupon.created", obj=coupon.data)
    return store.render(coupon, expand=params.get("expand", []))


def _check_coupon(params: dict) -> None:
    has_percent, has_amount = "percent_off" in params, "amount_off" in params
    if has_percent == has_amount:
        raise errors.invalid("percent_off", "You must specify exactly one of amount_off or percent_off.")
    if has_percent and not 0 < params["percent_off"] <= 100:
        raise errors.invalid("percent_off", "percent_off must be greater than 0 and at most 100.")
    if has_amount:
        if params["amount_off"] < 1:
            raise errors.invalid("amount_off", "amount_off must be a positive integer.")
        if not params.get("currency"):
            raise errors.missing("currency")
    if params.get("duration") == "repeating" and not params.get("duration_in_months"):
        raise errors.missing("duration_in_months")
    if params.get("duration") != "repeating" and "duration_in_months" in params:
        raise errors.invalid(
            "duration_in_months", "duration_in_months is only allowed with duration=repeating."
        )
    if params.get("redeem_by") and params["redeem_by"] > clock.now() + FIVE_YEARS:
        raise errors.invalid("redeem_by", "redeem_by can be at most 5 years in the future.")
    if params.get("max_redemptions") is not None and params["max_redemptions"] < 1:
        raise errors.invalid("max_redemptions", "max_redemptions must be a positive integer.")


def coupon_retrieve(request, raw: dict, coupon_id: str) -> dict:
    params = validate(raw, CouponRetrieveParams)
    return store.render(store.get(type="coupon", object_id=coupon_id), expand=params.get("expand", []))


def coupon_update(request, raw: dict, coupon_id: str) -> dict:
    params = validate(raw, CouponUpdateParams)
    coupon = store.locked(type="coupon", object_id=coupon_id)
    before = copy.deepcopy(coupon.data)
    if "name" in params:
        coupon.data["name"] = params["name"] or None
    if "metadata" in params:
        coupon.data["metadata"] = objects.apply_metadata(coupon.data["metadata"], params["metadata"])
    if "currency_options" in params:
        coupon.data["currency_options"] = {
            **(coupon.data["currency_options"] or {}),
            **params["currency_options"],
        }
    previous = previous_attributes(before, coupon.data)
    if previous:
        store.save(coupon)
        event_emit(type="coupon.updated", obj=coupon.data, previous=previous)
    return store.render(coupon, expand=params.get("expand", []))


def coupon_list(request, raw: dict) -> dict:
    params = validate(raw, CouponListParams)
    queryset = created_filter(ApiObject.objects.filter(type="coupon"), params.get("created"))
    return list_page(queryset, params, url="/v1/coupons", kind="coupon")


def coupon_delete(request, raw: dict, coupon_id: str) -> dict:
    validate(raw, CouponDeleteParams)
    coupon = store.locked(type="coupon", object_id=coupon_id)
    event_emit(type="coupon.deleted", obj=coupon.data)
    coupon.delete()
    return {"id": coupon_id, "object": "coupon", "deleted": True}


def promotion_code_create(request, raw: dict) -> dict:
    params = validate(raw, PromotionCodeCreateParams)
    coupon_id = params["promotion"].get("coupon")
    if not coupon_id:
        raise errors.missing("promotion[coupon]")
    coupon = store.get(type="coupon", object_id=coupon_id, param="promotion[coupon]").data
    code = params.get("code") or _random_code()
    if not _CODE.match(code):
        raise errors.invalid(
            "code",
            "Valid characters are lower case letters (a-z), upper case letters (A-Z), digits (0-9), "
            "and dashes (-).",
        )
    if _active_code_exists(code, customer=params.get("customer")):
        raise errors.invalid("code", f"An active promotion code with `code: {code}` already exists.")
    if coupon.get("redeem_by") and params.get("expires_at") and params["expires_at"] > coupon["redeem_by"]:
        raise errors.invalid("expires_at", "expires_at cannot be later than the coupon's redeem_by.")
    restrictions = params.get("restrictions") or {}
    if restrictions.get("minimum_amount") is not None and not restrictions.get("minimum_amount_currency"):
        raise errors.missing("restrictions[minimum_amount_currency]")
    data = {
        "id": new_id("promo"),
        "object": "promotion_code",
        "active": params.get("active", True),
        "code": code,
        "created": clock.now(),
        "customer": params.get("customer"),
        "customer_account": params.get("customer_account"),
        "expires_at": params.get("expires_at"),
        "livemode": False,
        "max_redemptions": params.get("max_redemptions"),
        "metadata": objects.apply_metadata({}, params.get("metadata")),
        "promotion": {"coupon": coupon_id, "type": "coupon"},
        "restrictions": {
            "currency_options": restrictions.get("currency_options") or {},
            "first_time_transaction": restrictions.get("first_time_transaction", False),
            "minimum_amount": restrictions.get("minimum_amount"),
            "minimum_amount_currency": (restrictions.get("minimum_amount_currency") or "").lower() or None,
        },
        "times_redeemed": 0,
    }
    promo = store.create(object_id=data["id"], type="promotion_code", data=data, key=code.upper())
    event_emit(type="promotion_code.created", obj=promo.data)
    return store.render(promo, expand=params.get("expand", []))


def _active_code_exists(code: str, *, customer: str | None) -> bool:
    """Codes are unique, case-insensitively, across active codes for one customer (or none)."""
    existing = ApiObject.objects.filter(type="promotion_code", key=code.upper(), data__active=True)
    return any(p.data.get("customer") == customer for p in existing)


def promotion_code_retrieve(request, raw: dict, promo_id: str) -> dict:
    params = validate(raw, PromotionCodeRetrieveParams)
    return store.render(store.get(type="promotion_code", object_id=promo_id), expand=params.get("expand", []))


def promotion_code_update(request, raw: dict, promo_id: str) -> dict:
    params = validate(raw, PromotionCodeUpdateParams)
    promo = store.locked(type="promotion_code", object_id=promo_id)
    before = copy.deepcopy(promo.data)
    if "active" in params:
        if (
            params["active"]
            and not before["active"]
            and _active_code_exists(promo.data["code"], customer=promo.data["customer"])
        ):
            raise errors.invalid("active", "Another active promotion code already uses this code.")
        promo.data["active"] = params["active"]
    if "metadata" in params:
        promo.data["metadata"] = objects.apply_metadata(promo.data["metadata"], params["metadata"])
    if params.get("restrictions", {}).get("currency_options"):
        promo.data["restrictions"]["currency_options"].update(params["restrictions"]["currency_options"])
    previous = previous_attributes(before, promo.data)
    if previous:
        store.save(promo)
        event_emit(type="promotion_code.updated", obj=promo.data, previous=previous)
    return store.render(promo, expand=params.get("expand", []))


def promotion_code_list(request, raw: dict) -> dict:
    params = validate(raw, PromotionCodeListParams)
    queryset = created_filter(ApiObject.objects.filter(type="promotion_code"), params.get("created"))
    if "active" in params:
        queryset = queryset.filter(data__active=params["active"])
    if params.get("code"):
        queryset = queryset.filter(key=params["code"].upper())
    if params.get("coupon"):
        queryset = queryset.filter(data__promotion__coupon=params["coupon"])
    if params.get("customer"):
        queryset = queryset.filter(data__customer=params["customer"])
    return list_page(queryset, params, url="/v1/promotion_codes", kind="promotion_code")
