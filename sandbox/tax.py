"""Automatic tax for the sandbox: a fixed, documented rate per billing country.

Stripe Tax computes real rates; the sandbox uses this deterministic table so tests can predict totals.
Countries not listed pay no tax. Each price's ``tax_behavior`` decides whether the rate is added on top
(``exclusive``, also used for ``unspecified`` as Stripe's default) or already included (``inclusive``).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# Percentages, by ISO country code: a standard VAT/GST rate, or a flat 0 where sales tax varies.
RATES = {
    "AT": Decimal("20"),
    "AU": Decimal("10"),
    "BE": Decimal("21"),
    "CA": Decimal("5"),
    "CH": Decimal("8.1"),
    "DE": Decimal("19"),
    "DK": Decimal("25"),
    "ES": Decimal("21"),
    "FI": Decimal("25.5"),
    "FR": Decimal("20"),
    "GB": Decimal("20"),
    "IE": Decimal("23"),
    "IT": Decimal("22"),
    "JP": Decimal("10"),
    "NL": Decimal("21"),
    "NO": Decimal("25"),
    "NZ": Decimal("15"),
    "PL": Decimal("23"),
    "PT": Decimal("23"),
    "SE": Decimal("25"),
    "US": Decimal("0"),
}
TAX_TYPE = {"AU": "gst", "CA": "gst", "JP": "jct", "NZ": "gst", "US": "sales_tax"}


def rate_for(country: str | None) -> Decimal | None:
    return RATES.get((country or "").upper())


def line_tax(*, amount: int, percentage: Decimal, behavior: str) -> int:
    """Tax on one line's (discounted) amount."""
    rate = percentage / 100
    if behavior == "inclusive":
        net = (Decimal(amount) / (1 + rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return amount - int(net)
    return int((Decimal(amount) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def tax_rate_object(country: str, percentage: Decimal, *, inclusive: bool) -> dict:
    from sandbox.api.tax_rates import tax_rate_data

    data = tax_rate_data(
        display_name="VAT" if TAX_TYPE.get(country) is None else TAX_TYPE[country].upper().replace("_", " "),
        percentage=float(percentage),
        inclusive=inclusive,
        country=country,
        tax_type=TAX_TYPE.get(country, "vat"),
    )
    data["jurisdiction_level"] = "country"
    return data
