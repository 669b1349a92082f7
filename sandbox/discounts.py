"""Coupons and promotion codes: whether a coupon is still valid, whether a code applies on the hosted page,
and how much it takes off."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext_lazy as _

from sandbox import clock, pricing
from sandbox.models import ApiObject

CODE_INVALID = _("This code is invalid.")
CODE_EXPIRED = _("This code has expired.")
CODE_USED_UP = _("This code has reached its redemption limit.")
CODE_MINIMUM = _("This code requires a minimum order of %(amount)s.")
CODE_FIRST_TIME = _("This code is only valid for first-time customers.")
CODE_NOT_APPLICABLE = _("This code is not valid for the items in your order.")
CODE_CURRENCY = _("This code is not valid for this currency.")


class PromotionCodeRefused(Exception):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def coupon_valid(data: dict) -> bool:
    """Stripe's computed ``valid``: not past ``redeem_by`` and not at ``max_redemptions``."""
    if data.get("redeem_by") and data["redeem_by"] < clock.now():
        return False
    if data.get("max_redemptions") is not None and data["times_redeemed"] >= data["max_redemptions"]:
        return False
    return True


def promotion_code_lookup(
    *, code: str, currency: str, subtotal: int, email: str | None, product_ids: list[str]
) -> tuple[ApiObject, ApiObject]:
    """The active promotion code and its coupon, or ``PromotionCodeRefused`` with the customer message."""
    promo = ApiObject.objects.filter(
        type="promotion_code", key=code.strip().upper(), data__active=True
    ).first()
    if promo is None:
        raise PromotionCodeRefused(CODE_INVALID)
    coupon = ApiObject.objects.filter(type="coupon", stripe_id=promo.data["promotion"]["coupon"]).first()
    if coupon is None:
        raise PromotionCodeRefused(CODE_INVALID)
    data = promo.data
    if (data["expires_at"] and data["expires_at"] < clock.now()) or not coupon_valid(coupon.data):
        raise PromotionCodeRefused(CODE_EXPIRED)
    if data["max_redemptions"] is not None and data["times_redeemed"] >= data["max_redemptions"]:
        raise PromotionCodeRefused(CODE_USED_UP)
    _check_restrictions(data["restrictions"], currency=currency, subtotal=subtotal, email=email)
    if coupon.data["amount_off"] is not None and _amount_off(coupon.data, currency) is None:
        raise PromotionCodeRefused(CODE_CURRENCY)
    applies = (coupon.data.get("applies_to") or {}).get("products")
    if applies and not set(applies) & set(product_ids):
        raise PromotionCodeRefused(CODE_NOT_APPLICABLE)
    return promo, coupon


def _check_restrictions(restrictions: dict, *, currency: str, subtotal: int, email: str | None) -> None:
    minimum = restrictions.get("minimum_amount")
    if restrictions.get("minimum_amount_currency") != currency:
        minimum = (
            (restrictions.get("currency_options") or {}).get(currency, {}).get("minimum_amount", minimum)
        )
    if minimum is not None and subtotal < minimum:
        raise PromotionCodeRefused(CODE_MINIMUM % {"amount": pricing.format_amount(minimum, currency)})
    if restrictions.get("first_time_transaction") and email:
        earlier = ApiObject.objects.filter(
            type="checkout.session", data__status="complete", data__customer_details__email=email
        )
        if earlier.exists():
            raise PromotionCodeRefused(CODE_FIRST_TIME)


def _amount_off(coupon: dict, currency: str) -> int | None:
    if coupon["currency"] == currency:
        return coupon["amount_off"]
    return ((coupon.get("currency_options") or {}).get(currency) or {}).get("amount_off")


def line_discounts(*, coupon: dict, lines: list[dict], currency: str) -> list[int]:
    """The discount on each line: percent off each applicable line, or an amount spread in order."""
    applies = (coupon.get("applies_to") or {}).get("products")
    eligible = [not applies or line["price"]["product"] in applies for line in lines]
    if coupon["percent_off"] is not None:
        percent = Decimal(str(coupon["percent_off"])) / 100
        return [
            int((Decimal(line["amount_subtotal"]) * percent).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            if ok
            else 0
            for line, ok in zip(lines, eligible, strict=True)
        ]
    remaining = _amount_off(coupon, currency) or 0
    result = []
    for line, ok in zip(lines, eligible, strict=True):
        take = min(remaining, line["amount_subtotal"]) if ok else 0
        remaining -= take
        result.append(take)
    return result
