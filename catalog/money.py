"""Money: integers in the currency's minor unit, as Stripe takes them, and their decimal display.

Stripe's rules (https://docs.stripe.com/currencies#zero-decimal): most currencies have two decimals
(1000 = 10.00 USD); zero-decimal currencies are charged in whole units (1000 = ¥1000); the three-decimal
ones take thousandths (1000 = 1.000 KWD).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.utils.formats import number_format

ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    }
)
THREE_DECIMAL_CURRENCIES = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})

# The currencies offered in forms; Stripe accepts more, in lower case.
CURRENCY_CHOICES = [
    (code, code.upper())
    for code in (
        "usd",
        "eur",
        "gbp",
        "jpy",
        "chf",
        "cad",
        "aud",
        "nzd",
        "sek",
        "nok",
        "dkk",
        "pln",
        "czk",
        "huf",
        "sgd",
        "hkd",
        "mxn",
        "brl",
        "inr",
        "krw",
        "kwd",
    )
]


def currency_exponent(currency: str) -> int:
    """Number of decimals in the minor unit of ``currency`` (a three-letter ISO code, any case)."""
    code = currency.lower()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def to_minor_units(amount: Decimal, currency: str) -> int:
    """10.5 EUR → 1050; 1000 JPY → 1000. Rounds half up below the minor unit."""
    exponent = currency_exponent(currency)
    return int((Decimal(amount) * (10**exponent)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_minor_units(amount: int, currency: str) -> Decimal:
    """1050 EUR → Decimal("10.50"); 1000 JPY → Decimal("1000")."""
    exponent = currency_exponent(currency)
    return (Decimal(amount) / (10**exponent)).quantize(Decimal(1).scaleb(-exponent))


def format_money(amount: int | None, currency: str) -> str:
    """A localised display: ``1050, "eur"`` → ``"10.50 EUR"``."""
    if amount is None or not currency:
        return ""
    value = from_minor_units(amount, currency)
    digits = number_format(value, decimal_pos=currency_exponent(currency), use_l10n=True, force_grouping=True)
    return f"{digits} {currency.upper()}"
