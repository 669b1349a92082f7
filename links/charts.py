"""Server-drawn bar charts (``templates/includes/bar_chart.html`` draws what ``daily_bar_chart`` computes):
plain SVG in the page, no script and no style attribute (the CSP allows neither), sized by the stylesheet.

The chart is readable without colour (axis labels, the highest day's value written above its bar, days
that lost money hatched below the axis) and its figures are also given as a table by the page.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

from django.utils import formats

from catalog.money import currency_exponent, format_money

# The drawing's own units; the stylesheet scales it to the width available (a phone's 390 px included).
WIDTH, HEIGHT = 400, 200
LEFT, RIGHT, TOP, BOTTOM = 46, 6, 18, 24
# One x-axis label every this many days, ending on the last day.
X_LABEL_EVERY = 7


def daily_bar_chart(*, values: list[tuple[date, int]], currency: str) -> dict:
    """Bars for ``values`` ([(day, amount in minor units)], oldest first), with y-axis ticks in major units
    of ``currency`` and a label under every seventh day (dates in the active language)."""
    exponent = currency_exponent(currency)
    amounts = [amount for _day, amount in values]
    step, low, high = _axis(min([0, *amounts]), max([0, *amounts]), exponent)
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_width / max(len(values), 1)

    def y_of(amount: float) -> float:
        return round(TOP + (high - amount) / (high - low) * plot_height, 2)

    zero = y_of(0)
    # The best day's value is written on the chart (the first of them if several tie); the table has all.
    best = amounts.index(max(amounts)) if amounts and max(amounts) > 0 else None
    bars = []
    for index, (day, amount) in enumerate(values):
        y = y_of(max(amount, 0))
        bars.append(
            {
                "x": round(LEFT + index * slot + slot * 0.15, 2),
                "y": y,
                "width": round(slot * 0.7, 2),
                "height": round(abs(y_of(amount) - zero), 2),
                "negative": amount < 0,
                "title": f"{formats.date_format(day, 'DATE_FORMAT')}: {format_money(amount, currency)}",
                "label": format_money(amount, currency) if index == best else "",
                **_value_label_place(index, len(values), left=LEFT + index * slot, slot=slot, y=y),
            }
        )
    ticks = []
    count = round((high - low) / step)
    for n in range(count + 1):
        tick = low + n * step
        ticks.append({"y": y_of(tick), "label": _tick_label(tick, step, exponent)})
    days = [
        {
            "x": round(LEFT + (index + 0.5) * slot, 2),
            "label": formats.date_format(day, "j N"),
            "anchor": _anchor(index, len(values)),
        }
        for index, (day, _amount) in enumerate(values)
        if (len(values) - 1 - index) % X_LABEL_EVERY == 0
    ]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "zero": zero,
        "bars": bars,
        "ticks": ticks,
        "days": days,
        "days_y": HEIGHT - 6,
        "currency": currency.upper(),
    }


def _value_label_place(index: int, count: int, *, left: float, slot: float, y: float) -> dict:
    # A value is wider than a bar: it runs rightwards from a bar on the left of the chart, leftwards from
    # one on the right, so that it stays inside the drawing.
    if index < count / 3:
        x, anchor = left + slot * 0.15, "start"
    elif index >= count * 2 / 3:
        x, anchor = left + slot * 0.85, "end"
    else:
        x, anchor = left + slot / 2, "middle"
    return {"label_x": round(x, 2), "label_y": round(y - 4, 2), "label_anchor": anchor}


def _anchor(index: int, count: int) -> str:
    # The last label ends at the chart's edge rather than past it.
    return "end" if index == count - 1 and count > 1 else "middle"


def _axis(low: int, high: int, exponent: int) -> tuple[int, int, int]:
    """A round step (1, 2 or 5 times a power of ten, at least one minor unit) and the axis's ends in minor
    units, so that about four ticks cover the values; an axis from 0 to one unit when there are none."""
    if low == high == 0:
        high = 10**exponent
    raw = (high - low) / 4
    power = 10 ** math.floor(math.log10(raw))
    step = max(next(m * power for m in (1, 2, 5, 10) if m * power >= raw), 1)
    return step, math.floor(low / step) * step, math.ceil(high / step) * step


def _tick_label(tick: int, step: int, exponent: int) -> str:
    # In major units: whole ones when the step is (100, 5,000), else with the currency's decimals (0.50).
    places = 0 if step % 10**exponent == 0 else exponent
    major = Decimal(tick).scaleb(-exponent)
    return formats.number_format(major, decimal_pos=places, use_l10n=True, force_grouping=True)
