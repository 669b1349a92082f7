"""Amounts for a price and a quantity: per-unit, package (``transform_quantity``), graduated and volume
tiers, and customer-chooses-price. The one place the hosted page and line items compute money.

All amounts are integers in the currency's minor unit; ``*_decimal`` amounts are rounded half-up at
the end of a line, as Stripe bills whole minor units.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.formats import number_format


def _decimal(value_int, value_decimal) -> Decimal:
    if value_decimal is not None:
        return Decimal(str(value_decimal))
    return Decimal(value_int or 0)


def _whole(amount: Decimal) -> int:
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def billed_quantity(price: dict, quantity: int) -> int:
    """Package pricing: ``quantity / divide_by`` rounded up or down (e.g. sold by packs of 5)."""
    transform = price.get("transform_quantity")
    if not transform:
        return quantity
    exact = quantity / transform["divide_by"]
    return math.ceil(exact) if transform["round"] == "up" else math.floor(exact)


def _graduated(tiers: list[dict], quantity: int) -> Decimal:
    total = Decimal(0)
    lower = 0
    for tier in tiers:
        upper = tier["up_to"]
        if quantity <= lower:
            break
        units = (quantity if upper is None else min(quantity, upper)) - lower
        total += units * _decimal(tier["unit_amount"], tier["unit_amount_decimal"])
        total += _decimal(tier["flat_amount"], tier["flat_amount_decimal"])
        if upper is None:
            break
        lower = upper
    return total


def _volume(tiers: list[dict], quantity: int) -> Decimal:
    for tier in tiers:
        if tier["up_to"] is None or quantity <= tier["up_to"]:
            unit = _decimal(tier["unit_amount"], tier["unit_amount_decimal"])
            return quantity * unit + _decimal(tier["flat_amount"], tier["flat_amount_decimal"])
    return Decimal(0)


def line_subtotal(price: dict, quantity: int, *, custom_amount: int | None = None) -> int:
    """What ``quantity`` of ``price`` costs before discounts and tax."""
    if price.get("custom_unit_amount") is not None:
        # Customer chooses price: the amount entered is the line's amount (quantity is always 1).
        custom = price["custom_unit_amount"]
        amount = (
            custom_amount
            if custom_amount is not None
            else (custom.get("preset") or custom.get("minimum") or 0)
        )
        return amount
    if price.get("billing_scheme") == "tiered":
        tiers = price["tiers"]
        total = (
            _graduated(tiers, quantity) if price["tiers_mode"] == "graduated" else _volume(tiers, quantity)
        )
        return _whole(total)
    unit = _decimal(price.get("unit_amount"), price.get("unit_amount_decimal"))
    return _whole(unit * billed_quantity(price, quantity))


def custom_amount_error(price: dict, amount: int | None) -> str | None:
    """Why a customer-chosen amount is refused, or None."""
    custom = price["custom_unit_amount"]
    if amount is None:
        return "required"
    if custom.get("minimum") is not None and amount < custom["minimum"]:
        return "too_small"
    if custom.get("maximum") is not None and amount > custom["maximum"]:
        return "too_large"
    if amount < 0:
        return "too_small"
    return None


# Currencies without minor units, and with three decimals (https://docs.stripe.com/currencies).
ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())
THREE_DECIMAL = frozenset("bhd jod kwd omr tnd".split())


def exponent(currency: str) -> int:
    currency = currency.lower()
    return 0 if currency in ZERO_DECIMAL else 3 if currency in THREE_DECIMAL else 2


def to_major(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-exponent(currency))


def to_minor(value: str, currency: str) -> int | None:
    """``"12.50"`` in usd → 1250; None when it is not a number with at most the currency's decimals."""
    try:
        amount = Decimal(value.strip().replace(",", "."))
    except (ArithmeticError, InvalidOperation):
        return None
    if not amount.is_finite():
        return None
    minor = amount.scaleb(exponent(currency))
    if minor != minor.to_integral_value():
        return None
    return int(minor)


def format_amount(amount: int, currency: str) -> str:
    """``1250, "usd"`` → ``"12.50 USD"``, in the active language's number format (``"12,50 USD"`` in
    French), as Stripe's hosted pages show amounts in the customer's language."""
    value = to_major(amount, currency)
    return f"{number_format(value, decimal_pos=exponent(currency), use_l10n=True)} {currency.upper()}"
