"""Stripe's time units in words, counted and pluralised in the page's language: a shipping rate's delivery
estimate ("2–4 business days", "2 à 4 jours ouvrés") and a price's interval ("every 3 months")."""

from __future__ import annotations

from django.utils.translation import ngettext, pgettext

# One function per unit of Stripe's ``delivery_estimate`` and ``recurring.interval``: the literal
# msgids are what makemessages extracts.
_UNITS = {
    "hour": lambda count: ngettext("%(count)d hour", "%(count)d hours", count),
    "day": lambda count: ngettext("%(count)d day", "%(count)d days", count),
    "business_day": lambda count: ngettext("%(count)d business day", "%(count)d business days", count),
    "week": lambda count: ngettext("%(count)d week", "%(count)d weeks", count),
    "month": lambda count: ngettext("%(count)d month", "%(count)d months", count),
    "year": lambda count: ngettext("%(count)d year", "%(count)d years", count),
}


def duration_text(*, count: int, unit: str) -> str:
    """``3 months``; a unit Stripe adds later is shown as Stripe spells it rather than dropped."""
    words = _UNITS.get(unit)
    return words(count) % {"count": count} if words else f"{count} {unit}"


def interval_text(*, interval: str, count: int | None) -> str:
    """What a recurring price is charged per: ``month``, ``3 months``."""
    from catalog.models import Price

    if (count or 1) == 1 and interval in Price.Interval.values:
        return str(Price.Interval(interval).label).lower()
    return duration_text(count=count or 1, unit=interval)


def _bound(estimate: dict, key: str) -> tuple[int, str] | None:
    bound = estimate.get(key) or {}
    value, unit = bound.get("value"), bound.get("unit")
    return (int(value), str(unit)) if value and unit else None


def delivery_estimate_text(estimate: dict | None) -> str:
    """Stripe's ``delivery_estimate`` (``{"minimum": {"unit", "value"}, "maximum": {...}}``, either bound
    optional) in words: ``2–4 business days``, ``1 day to 2 weeks``, ``At least 2 days``; ``""`` for none."""
    minimum, maximum = _bound(estimate or {}, "minimum"), _bound(estimate or {}, "maximum")
    if minimum and maximum:
        if minimum == maximum:
            return duration_text(count=minimum[0], unit=minimum[1])
        if minimum[1] == maximum[1]:
            return pgettext("delivery estimate in one unit", "%(minimum)d–%(maximum)s") % {
                "minimum": minimum[0],
                "maximum": duration_text(count=maximum[0], unit=maximum[1]),
            }
        return pgettext("delivery estimate in two units", "%(minimum)s to %(maximum)s") % {
            "minimum": duration_text(count=minimum[0], unit=minimum[1]),
            "maximum": duration_text(count=maximum[0], unit=maximum[1]),
        }
    if minimum:
        return pgettext("delivery estimate", "At least %(minimum)s") % {
            "minimum": duration_text(count=minimum[0], unit=minimum[1])
        }
    if maximum:
        return pgettext("delivery estimate", "Up to %(maximum)s") % {
            "maximum": duration_text(count=maximum[0], unit=maximum[1])
        }
    return ""
