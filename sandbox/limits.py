"""Stripe's input limits, in one place; params.py applies them to every request before a handler runs.

Where each number comes from:
- string lengths: the installed SDK's docstrings (``stripe/params/*.py``: "up to 22 characters", "Up to 80
  characters long"…) and the OpenAPI spec's ``maxLength`` (../shared/reference/payment-links.md, [TS]);
  other strings get the spec's usual ``maxLength`` of 5000 (stripe/openapi#51).
- amounts: "The amount value supports up to eight digits (e.g., a value of 99999999 for a USD charge of
  $999,999.99)" (docs.stripe.com/api/payment_intents/create, amount). We apply that one rule to every
  amount and every currency, including zero-decimal ones (99,999,999 JPY), rather than Stripe's per-product
  exceptions (a price's unit_amount accepts 12 digits): a sandbox that accepts less is the safe side.
- error codes: only codes Stripe documents, as listed by the SDK's ``LastPaymentError.code`` literal
  (``stripe/_payment_intent.py``; docs.stripe.com/error-codes): ``amount_too_large``,
  ``parameter_invalid_integer``, ``invalid_characters``, ``resource_missing``. Too-long strings and past
  timestamps carry no code at Stripe ("Invalid string: …; must be at most 40 characters"), so none here.
"""

from __future__ import annotations

MAX_AMOUNT = 99_999_999
# Counts (quantities, tiers, limits…) are 32-bit at Stripe; other integers (timestamps) 64-bit.
MAX_COUNT = 2**31 - 1
MAX_INTEGER = 2**63 - 1
MAX_DECIMAL_PLACES = (
    12  # "a decimal value in cents … with at most 12 decimal places" (SDK, unit_amount_decimal)
)
DEFAULT_STRING_MAX = 5000

# The request itself: Stripe's deepest parameter is five levels
# (``custom_fields[0][dropdown][options][0][value]``); fields are bounded so parsing stays cheap.
MAX_NESTING = 16
MAX_FIELDS = 5000

# The sandbox clock: one advance moves at most ten years, and the clock never passes 9999-12-31 (the last
# second a datetime can hold, so pages and receipts can still format every timestamp).
MAX_CLOCK_ADVANCE = 10 * 366 * 24 * 3600
MAX_TIMESTAMP = 253_402_300_799

# Parameter paths are tuples of names, ``"*"`` standing for any list index or map key; a rule matches a
# parameter whose path ends with it.
AMOUNTS = (
    ("amount",),
    ("amount_off",),
    ("application_fee_amount",),
    ("flat_amount",),
    ("flat_amount_decimal",),
    ("minimum_amount",),
    ("unit_amount",),
    ("unit_amount_decimal",),
    ("custom_unit_amount", "maximum"),
    ("custom_unit_amount", "minimum"),
    ("custom_unit_amount", "preset"),
)
COUNTS = (
    ("adjustable_quantity", "maximum"),
    ("adjustable_quantity", "minimum"),
    ("completed_sessions", "limit"),
    ("delivery_estimate", "*", "value"),
    ("divide_by",),
    ("duration_in_months",),
    ("interval_count",),
    ("max_redemptions",),
    ("maximum_length",),
    ("minimum_length",),
    ("quantity",),
    ("trial_period_days",),
    ("up_to",),
)

# Lengths that hold wherever the parameter appears (a product's fields inside ``product_data`` too).
STRINGS = {
    ("product_data", "name"): 250,
    ("product_data", "description"): 40_000,
    ("statement_descriptor",): 22,
    ("unit_label",): 12,
    ("marketing_features", "*", "name"): 80,
    ("lookup_key",): 200,
    ("custom_fields", "*", "key"): 200,
    ("custom_fields", "*", "label", "custom"): 100,
    ("dropdown", "options", "*", "label"): 100,
    ("dropdown", "options", "*", "value"): 100,
    ("custom_text", "*", "message"): 1200,
    ("hosted_confirmation", "custom_message"): 500,
    ("inactive_message",): 500,
    ("invoice_data", "custom_fields", "*", "name"): 40,
    ("invoice_data", "custom_fields", "*", "value"): 140,
}
# Lengths of one object's own top-level fields, by the SDK's resource name (``ProductCreateParams`` →
# ``Product``).
RESOURCE_STRINGS = {
    "Product": {("name",): 250, ("description",): 40_000},
    "Coupon": {("name",): 40},
    "PromotionCode": {("code",): 500},
    "ShippingRate": {("display_name",): 100},
    "TaxRate": {("display_name",): 50, ("jurisdiction",): 50},
}
# Timestamps that must lie in the future, by resource.
FUTURE_TIMESTAMPS = {
    "Coupon": (("redeem_by",),),
    "PromotionCode": (("expires_at",),),
}

# Stripe's presentment currencies (docs.stripe.com/currencies, the list its "Invalid currency" error gives).
CURRENCIES = frozenset(
    """
    usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp byn bzd
    cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gnf gtq gyd
    hkd hnl htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd kzt lak lbp lkr lrd lsl mad
    mdl mga mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr pln
    pyg qar ron rsd rub rwf sar sbd scr sek sgd shp sle sos srd std szl thb tjs tnd top try ttd twd tzs
    uah ugx uyu uzs vnd vuv wst xaf xcd xof xpf yer zar zmw
    """.split()
)


def matches(path: list[str], rules) -> tuple[str, ...] | None:
    """The rule of ``rules`` that ``path`` ends with (list indexes read as ``"*"``), if any."""
    for rule in rules:
        tail = path[-len(rule) :]
        if len(tail) == len(rule) and all(r in ("*", p) for r, p in zip(rule, tail, strict=True)):
            return rule
    return None


def string_max(resource: str, path: list[str]) -> int:
    own = RESOURCE_STRINGS.get(resource, {})
    if tuple(path) in own:
        return own[tuple(path)]
    rule = matches(path, STRINGS)
    return STRINGS[rule] if rule else DEFAULT_STRING_MAX


def is_currency(path: list[str]) -> bool:
    """``currency``, ``minimum_amount_currency``… and the keys of ``currency_options``."""
    return path[-1] == "currency" or path[-1].endswith("_currency")
