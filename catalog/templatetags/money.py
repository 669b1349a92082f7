from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

from catalog.durations import interval_text
from catalog.money import format_money

register = template.Library()


@register.filter
def money(amount: int | None, currency: str) -> str:
    """``{{ price.unit_amount|money:price.currency }}`` → ``10.50 USD``."""
    return format_money(amount, currency)


@register.filter
def price_summary(price) -> str:
    """One line describing a price in the merchant's words: ``10.00 USD / 3 months``, ``Tiered (volume)``…"""
    if price.custom_unit_amount is not None:
        text = _("Customer chooses")
        preset = price.custom_unit_amount.get("preset")
        if preset is not None:
            text = _("Customer chooses (suggested %(amount)s)") % {
                "amount": format_money(preset, price.currency)
            }
    elif price.billing_scheme == "tiered":
        text = _("Tiered (%(mode)s), %(currency)s") % {
            "mode": price.get_tiers_mode_display().lower(),
            "currency": price.currency.upper(),
        }
    elif price.transform_quantity:
        text = _("%(amount)s per %(count)s units") % {
            "amount": format_money(price.unit_amount, price.currency),
            "count": price.transform_quantity.get("divide_by"),
        }
    else:
        text = format_money(price.unit_amount, price.currency)
    if price.is_recurring:
        text += " / " + interval_text(interval=price.recurring_interval, count=price.recurring_interval_count)
    return text


@register.filter
def recurring_interval(recurring: dict | None) -> str:
    """Stripe's ``recurring`` of an ad-hoc price (``price_data``) in words: ``{{ …|recurring_interval }}`` →
    ``month``, ``3 months``."""
    if not recurring or not recurring.get("interval"):
        return ""
    return interval_text(interval=recurring["interval"], count=recurring.get("interval_count"))
