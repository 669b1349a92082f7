"""Stripe's limits, each stated once with where the number comes from.

The models apply them as ``max_length`` and validators, so that ``full_clean()`` (the services, the sync
from Stripe, the webhook handlers) and the dashboard's forms refuse the same values; the forms reuse
these constants for their fields so the error shows at the field before anything is sent to Stripe.

Sources: [SDK] docstrings of the installed stripe package (``stripe/params/_<object>_create_params.py``);
[SPEC] ``maxLength`` of Stripe's OpenAPI spec as quoted in shared/reference/payment-links.md;
[DOCS] docs.stripe.com.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# LENGTHS (characters) -----------------------------------------------------------------------------

# Issue 23 and the column since 0001 (Stripe's spec allows 5000; 250 is what Paylinks has always kept).
PRODUCT_NAME_MAX_LENGTH = 250
PRODUCT_DESCRIPTION_MAX_LENGTH = 40_000  # [SPEC] product create `description`
PRODUCT_UNIT_LABEL_MAX_LENGTH = 12  # [SPEC] product create `unit_label`
PRICE_NICKNAME_MAX_LENGTH = 5000  # [SPEC] price create `nickname`: "Max length: 5000"
PRICE_LOOKUP_KEY_MAX_LENGTH = 200  # [SDK] price create `lookup_key`: "up to 200 characters"
SHIPPING_RATE_NAME_MAX_LENGTH = 100  # [SPEC] shipping rate create `display_name`
COUPON_NAME_MAX_LENGTH = 40  # [SPEC] coupon create `name`
PROMOTION_CODE_MAX_LENGTH = 500  # [SPEC] promotion code create `code`

# NUMBERS ------------------------------------------------------------------------------------------

# One ceiling for every currency: the eight digits in the minor unit that Stripe accepts for most
# currencies ([DOCS] /currencies#minimum-and-maximum-charge-amounts: "up to eight digits", e.g.
# 99999999 for 999,999.99 USD). Stricter than Stripe for the few currencies that allow more.
MAX_AMOUNT = 99_999_999
# Counts Stripe stores as 32-bit signed integers (package size, tier `up_to`, completed-sessions limit,
# delivery estimates, redemption limits): the API refuses anything larger.
MAX_COUNT = 2**31 - 1
# [SDK] payment link create `adjustable_quantity.maximum`: "You can specify a value up to 999999";
# the same ceiling for a line item's quantity and its adjustable minimum.
MAX_QUANTITY = 999_999

# CURRENCIES ---------------------------------------------------------------------------------------

# The ISO 4217 codes Stripe accepts as presentment currencies ([DOCS] /currencies#presentment-currencies),
# lower case as the API takes them. A currency missing here makes the sync skip its objects: add it.
STRIPE_CURRENCIES = frozenset(
    """
    usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp byn bzd
    cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gnf gtq gyd
    hkd hnl htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd kzt lak lbp lkr lrd lsl mad
    mdl mga mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr pln
    pyg qar ron rsd rub rwf sar sbd scr sek sgd shp sle sll sos srd std szl thb tjs tnd top try ttd twd
    tzs uah ugx uyu uzs vnd vuv wst xaf xcd xcg xof xpf yer zar zmw
    """.split()
)

# MESSAGES -----------------------------------------------------------------------------------------

AMOUNT_TOO_LARGE = _(
    "Stripe accepts at most %(max)s here (99,999,999 in the currency's smallest unit, its maximum "
    "for most currencies)."
)
UNSUPPORTED_CURRENCY = _("“%(value)s” is not a currency Stripe supports.")
INVALID_VALUE = _("Stripe would not accept this value: %(detail)s.")


# VALIDATORS ---------------------------------------------------------------------------------------
# Module-level functions, so that migrations can name them.


def validate_currency(value: str) -> None:
    if value not in STRIPE_CURRENCIES:
        raise ValidationError(UNSUPPORTED_CURRENCY, code="invalid_currency", params={"value": value})


def _check_int(value, *, name: str, low: int, high: int) -> None:
    """``value`` absent (None) or an integer in [low, high]; anything else names ``name``."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(
            INVALID_VALUE, code="out_of_range", params={"detail": f"{name} must be from {low} to {high}"}
        )


def _mapping(value, name: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(INVALID_VALUE, code="invalid", params={"detail": f"{name} is not an object"})
    return value


def validate_tiers(value) -> None:
    """Stripe's ``tiers``: [{"up_to": int | None | "inf", "unit_amount": int, "flat_amount": int}]."""
    if value is None:
        return
    if not isinstance(value, list):
        raise ValidationError(INVALID_VALUE, code="invalid", params={"detail": "tiers is not a list"})
    for tier in value:
        tier = _mapping(tier, "a tier")
        if tier.get("up_to") != "inf":
            _check_int(tier.get("up_to"), name="up_to", low=1, high=MAX_COUNT)
        for key in ("unit_amount", "flat_amount"):
            _check_int(tier.get(key), name=key, low=0, high=MAX_AMOUNT)


def validate_transform_quantity(value) -> None:
    """Stripe's ``transform_quantity``: {"divide_by": int, "round": "up" | "down"}."""
    _check_int(
        _mapping(value, "transform_quantity").get("divide_by"), name="divide_by", low=1, high=MAX_COUNT
    )


def validate_custom_unit_amount(value) -> None:
    """Stripe's ``custom_unit_amount``: {"minimum", "maximum", "preset"}, each an amount or None."""
    for key, amount in _mapping(value, "custom_unit_amount").items():
        if key in ("minimum", "maximum", "preset"):
            _check_int(amount, name=key, low=0, high=MAX_AMOUNT)


def validate_delivery_estimate(value) -> None:
    """Stripe's ``delivery_estimate``: {"minimum": {"unit", "value"}, "maximum": {...}}."""
    for key, bound in _mapping(value, "delivery_estimate").items():
        if key in ("minimum", "maximum"):
            _check_int(_mapping(bound, key).get("value"), name=f"{key} value", low=1, high=MAX_COUNT)


def validate_adjustable_quantity(value) -> None:
    """Stripe's ``adjustable_quantity``: {"enabled", "minimum", "maximum"}."""
    value = _mapping(value, "adjustable_quantity")
    _check_int(value.get("minimum"), name="minimum", low=0, high=MAX_QUANTITY)
    _check_int(value.get("maximum"), name="maximum", low=1, high=MAX_QUANTITY)


def validate_price_data(value) -> None:
    """A line item's ad-hoc ``price_data``: its amount and currency."""
    value = _mapping(value, "price_data")
    _check_int(value.get("unit_amount"), name="unit_amount", low=0, high=MAX_AMOUNT)
    if value.get("currency") is not None:
        validate_currency(value["currency"])


def validate_link_options(value) -> None:
    """The numbers Stripe caps among a payment link's options (the create parameters we keep)."""
    value = _mapping(value, "options")
    restrictions = _mapping(value.get("restrictions"), "restrictions")
    limit = _mapping(restrictions.get("completed_sessions"), "completed_sessions").get("limit")
    _check_int(limit, name="completed_sessions limit", low=1, high=MAX_COUNT)
    _check_int(value.get("application_fee_amount"), name="application_fee_amount", low=0, high=MAX_AMOUNT)
