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
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from catalog.money import currency_exponent, format_money

# The drawing's own units; the stylesheet scales it to the width available (a phone's 390 px included).
WIDTH, HEIGHT = 400, 200
LEFT, RIGHT, TOP, BOTTOM = 52, 6, 18, 24
# One x-axis label every this many days, ending on the last day.
X_LABEL_EVERY = 7


def daily_bar_chart(*, values: list[tuple[date, int]], currency: str, chart_id: str) -> dict:
    """Bars for ``values`` ([(day, amount in minor units)], oldest first), with y-axis ticks in major units
    of ``currency`` and a label under every seventh day (dates in the active language); ``chart_id`` is
    unique in the page (the ids of its title, description and hatching derive from it)."""
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
        # The repeated marks, written here in one pass rather than by the template for each day: 30 bars and
        # their titles were a third of the home page's rendering time.
        "id": chart_id,
        "bars_svg": _bars_svg(bars, hatch=f"{chart_id}-hatch"),
        "days_svg": format_html_join(
            "",
            '<text x="{}" y="{}" text-anchor="{}">{}</text>',
            ((day["x"], HEIGHT - 6, day["anchor"], day["label"]) for day in days),
        ),
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


def _bars_svg(bars: list[dict], *, hatch: str) -> SafeString:
    rects = format_html_join(
        "",
        '<rect class="{}" x="{}" y="{}" width="{}" height="{}"{}><title>{}</title></rect>',
        (
            (
                "bar-negative" if bar["negative"] else "bar",
                bar["x"],
                bar["y"],
                bar["width"],
                bar["height"],
                format_html(' fill="url(#{})"', hatch) if bar["negative"] else "",
                bar["title"],
            )
            for bar in bars
        ),
    )
    values = format_html_join(
        "",
        '<text class="bar-value" x="{}" y="{}" text-anchor="{}">{}</text>',
        ((bar["label_x"], bar["label_y"], bar["label_anchor"], bar["label"]) for bar in bars if bar["label"]),
    )
    return rects + values


def revenue_table_rows(*, rows: list[dict], currency: str) -> SafeString:
    """The table alternative's rows (day, received, refunded, net, orders), each cell labelled with its
    column for the stacked layout of a phone; written in one pass, as the bars."""
    labels = [_("Day"), _("Received"), _("Refunded"), _("Net"), _("Orders")]
    return format_html_join(
        "\n",
        '<tr><td data-label="{}"><time datetime="{}">{}</time></td>'
        '<td data-label="{}" class="amount">{}</td><td data-label="{}" class="amount">{}</td>'
        '<td data-label="{}" class="amount">{}</td><td data-label="{}" class="amount">{}</td></tr>',
        (
            (
                labels[0],
                row["day"].isoformat(),
                formats.date_format(row["day"], "DATE_FORMAT"),
                labels[1],
                format_money(row["received"], currency),
                labels[2],
                format_money(row["refunded"], currency),
                labels[3],
                format_money(row["net"], currency),
                labels[4],
                formats.number_format(row["orders"], use_l10n=True, force_grouping=True),
            )
            for row in rows
        ),
    )


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
