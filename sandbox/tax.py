"""Automatic tax for the sandbox: a fixed, documented rate per billing country.

Stripe Tax computes real rates; the sandbox uses this deterministic table so tests can predict totals.
Countries not listed pay no tax. Each price's ``tax_behavior`` decides whether the rate is added on top
(``exclusive``, also used for ``unspecified`` as Stripe's default) or already included (``inclusive``).
The tax rate objects, whether automatic tax or ``/v1/tax_rates`` creates them, are shaped here.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sandbox import clock
from sandbox.ids import new_id

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


def tax_rate_data(
    *,
    display_name: str,
    percentage: float,
    inclusive: bool,
    country: str | None = None,
    jurisdiction: str | None = None,
    tax_type: str | None = None,
    description: str | None = None,
    state: str | None = None,
    metadata: dict | None = None,
) -> dict:
    return {
        "id": new_id("txr"),
        "object": "tax_rate",
        "active": True,
        "country": country,
        "created": clock.now(),
        "description": description,
        "display_name": display_name,
        "effective_percentage": percentage,
        "flat_amount": None,
        "inclusive": inclusive,
        "jurisdiction": jurisdiction,
        "jurisdiction_level": None,
        "livemode": False,
        "metadata": metadata or {},
        "percentage": percentage,
        "rate_type": "percentage",
        "state": state,
        "tax_type": tax_type,
    }


def tax_rate_object(country: str, percentage: Decimal, *, inclusive: bool) -> dict:
    data = tax_rate_data(
        display_name="VAT" if TAX_TYPE.get(country) is None else TAX_TYPE[country].upper().replace("_", " "),
        percentage=float(percentage),
        inclusive=inclusive,
        country=country,
        tax_type=TAX_TYPE.get(country, "vat"),
    )
    data["jurisdiction_level"] = "country"
    return data
