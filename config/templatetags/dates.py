"""The one way the dashboard shows a moment: ``{% load dates %}`` then ``{{ order.paid_at|shop_datetime }}``
(or ``|shop_date`` where the day is enough).

Django's localized ``DATETIME_FORMAT`` (``DATE_FORMAT``) in the page's language, in the shop's time zone
(``TIME_ZONE``), inside a ``<time>`` element whose ``datetime`` is the exact moment and whose title adds
the seconds and the zone, so that staff can match it with Stripe's Dashboard or a log line. Nothing
(``""``) for a missing value, so that ``|default:"—"`` applies.
"""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils import formats, timezone
from django.utils.html import format_html

register = template.Library()


def _local(value: datetime) -> datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value


@register.filter(is_safe=True)
def shop_datetime(value: datetime | None) -> str:
    if not value:
        return ""
    local = _local(value)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.isoformat(timespec="seconds"),
        f"{local:%Y-%m-%d %H:%M:%S} {local.tzname() or ''}".strip(),
        formats.date_format(local, "DATETIME_FORMAT"),
    )


@register.filter(is_safe=True)
def shop_date(value: date | datetime | None) -> str:
    if not value:
        return ""
    day = _local(value).date() if isinstance(value, datetime) else value
    return format_html(
        '<time datetime="{}">{}</time>', day.isoformat(), formats.date_format(day, "DATE_FORMAT")
    )
