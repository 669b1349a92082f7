"""The home page's overview and the link page's chart: revenue of the last 30 days net of refunds, against
the 30 before, per currency, the top links, a chart with axis labels and a table as its text alternative,
read from the daily figures at a cost that does not grow with the orders."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone, translation

from links.charts import daily_bar_chart
from links.daily_revenue import SHOP_SHARDS, period_days, shop_day
from links.models import DailyRevenue, Dispute, LinkDailyRevenue
from links.revenue import revenue_count_payment, revenue_count_refund
from links.selectors import revenue_change
from tests.catalog.factories import PriceFactory
from tests.links.factories import OrderFactory, PaymentLinkFactory

pytestmark = pytest.mark.django_db


def _pay(link, amount: int, *, days_ago: int = 0, currency: str | None = None):
    order = OrderFactory(
        payment_link=link,
        currency=currency or link.currency,
        amount_total=amount,
        paid_at=timezone.now() - timedelta(days=days_ago),
    )
    revenue_count_payment(order=order, amount=amount)
    return order


def _section(html: str, start: str, end: str) -> str:
    return html[html.index(start) : html.index(end, html.index(start))]


def test_home_shows_the_period_total_its_change_in_words_and_the_top_links(staff_client):
    PriceFactory(currency="eur")  # the shop sells in euros
    poster, mug = (
        PaymentLinkFactory(currency="eur", name="Poster"),
        PaymentLinkFactory(currency="eur", name="Mug"),
    )
    _pay(poster, 4000, days_ago=1)
    refunded = _pay(mug, 9000, days_ago=2)
    revenue_count_refund(order=refunded, amount=6000)
    _pay(poster, 5000, days_ago=45)  # the previous 30 days

    html = staff_client.get(reverse("home")).content.decode()
    revenue = _section(html, '<section id="revenue"', "</section>")
    assert "70.00 EUR" in revenue  # 40 + 90 - 60
    assert "from 2 paid orders" in revenue and "60.00 EUR refunded" in revenue
    # Up from 50.00: said in words and with its sign, not only in a colour.
    assert "<strong>+40.0%</strong> Up 40.0% on the previous 30 days: 20.00 EUR more." in revenue
    top = _section(revenue, '<table class="striped stack top-links"', "</table>")
    assert top.index("Poster") < top.index("Mug")  # 40.00 net before 30.00 net
    assert re.search(r"Poster</a></td>\s*<td[^>]*>40.00 EUR", top)
    assert re.search(r"Mug</a></td>\s*<td[^>]*>30.00 EUR<br><small[^>]*>60.00 EUR refunded", top)
    # One currency: no choice to make.
    assert "Currency shown" not in revenue


def test_home_chart_has_axis_labels_a_name_and_a_table_alternative(staff_client):
    link = PaymentLinkFactory(currency="usd")
    _pay(link, 12_345, days_ago=0)
    order = _pay(link, 1000, days_ago=3)
    # A day that refunds more than it receives: below the axis.
    revenue_count_refund(order=order, amount=3000, at=timezone.now() - timedelta(days=2))

    html = staff_client.get(reverse("home")).content.decode()
    svg = _section(html, '<svg class="bar-chart"', "</svg>")
    assert 'role="img"' in svg and 'aria-labelledby="home-revenue-title home-revenue-desc"' in svg
    assert '<title id="home-revenue-title">Revenue per day, last 30 days</title>' in svg
    assert "103.45 USD in all" in svg
    assert svg.count('<rect class="bar"') + svg.count('<rect class="bar-negative"') == 30
    # The day that lost money is hatched (a pattern, not a colour), the best day carries its value.
    assert svg.count('class="bar-negative"') == 1 and 'fill="url(#home-revenue-hatch)"' in svg
    assert re.search(r'class="bar-value"[^>]*>123.45 USD</text>', svg)
    # The y axis in dollars (round steps from the loss to the best day), dates under every 7th day.
    ticks = re.findall(r'dominant-baseline="middle">([^<]+)</text>', svg)
    assert ticks[0].startswith("-") and float(ticks[-1].replace(",", "")) >= 123.45
    today = shop_day()
    days = re.findall(r'<text x="[\d.]+" y="194" text-anchor="\w+">([^<]+)</text>', svg)
    assert len(days) == 5 and days[-1] == formats.date_format(today, "j N")
    # No inline style anywhere (the CSP forbids it).
    assert "style=" not in svg
    table = _section(html, '<details class="revenue-table">', "</details>")
    assert table.count("<tr>") == 31  # a header and 30 days
    assert "123.45 USD" in table and "30.00 USD" in table and "-30.00 USD" in table


def test_home_in_french_dates_and_words(staff_client):
    link = PaymentLinkFactory(currency="eur")
    _pay(link, 2000)
    with translation.override("fr"):
        html = staff_client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    svg = _section(html, '<svg class="bar-chart"', "</svg>")
    with translation.override("fr"):
        today = formats.date_format(shop_day(), "j N")
    english = formats.date_format(shop_day(), "j N")
    # "8 déc." under the French page's bars, not "8 Dec.".
    assert f">{today}</text>" in svg and today != english and english not in svg


def test_home_offers_the_other_currencies_shop_currency_first(staff_client):
    PriceFactory(currency="eur")
    _pay(PaymentLinkFactory(currency="usd", name="Dollars"), 7000)
    _pay(PaymentLinkFactory(currency="eur", name="Euros"), 3000)
    _pay(PaymentLinkFactory(currency="jpy", name="Yen"), 1500)

    html = staff_client.get(reverse("home")).content.decode()
    choice = _section(html, '<nav aria-label="Currency shown"', "</nav>")
    assert re.findall(r">([A-Z]{3})</a>", choice) == ["EUR", "JPY", "USD"]
    assert 'aria-current="true">EUR' in choice
    revenue = _section(html, '<section id="revenue"', "</section>")
    assert "30.00 EUR" in revenue and "Euros" in revenue and "Dollars" not in revenue

    # The choice works without JavaScript (a link) and with htmx (the section alone).
    html = staff_client.get(reverse("home"), {"currency": "jpy"}).content.decode()
    revenue = _section(html, '<section id="revenue"', "</section>")
    assert "1,500 JPY" in revenue and "Yen" in revenue and "Euros" not in revenue
    partial = staff_client.get(reverse("home"), {"currency": "jpy"}, HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<section id="revenue"') and "Recent orders" not in partial
    # An unknown currency shows the shop's.
    assert "30.00 EUR" in staff_client.get(reverse("home"), {"currency": "xx'"}).content.decode()


def test_zero_decimal_currency_axis_and_values_are_whole_units():
    days = period_days(days=30)
    chart = daily_bar_chart(
        values=[(day, 0) for day in days[:-1]] + [(days[-1], 25_000)], currency="jpy", chart_id="c"
    )
    assert [tick["label"] for tick in chart["ticks"]] == ["0", "10,000", "20,000", "30,000"]
    assert chart["bars"][-1]["label"] == "25,000 JPY"
    # An empty period still draws an axis.
    empty = daily_bar_chart(values=[(day, 0) for day in days], currency="eur", chart_id="c")
    assert [tick["label"] for tick in empty["ticks"]] == ["0.00", "0.50", "1.00"]
    assert not any(bar["label"] for bar in empty["bars"])


def test_change_in_words():
    assert revenue_change(total=0, previous=0, currency="eur")["direction"] == "none"
    assert revenue_change(total=500, previous=0, currency="eur")["signed"] == "+5.00 EUR"
    down = revenue_change(total=750, previous=1000, currency="eur")
    assert down["signed"] == "−25.0%" and down["text"] == "Down 25.0% on the previous 30 days: 2.50 EUR less."
    assert revenue_change(total=1000, previous=1000, currency="eur")["direction"] == "same"


def test_link_page_shows_its_revenue_chart(staff_client):
    link = PaymentLinkFactory(currency="eur", name="Poster")
    other = PaymentLinkFactory(currency="eur")
    _pay(link, 2500, days_ago=2)
    _pay(other, 99_900, days_ago=2)
    html = staff_client.get(reverse("links:detail", args=[link.public_id])).content.decode()
    section = _section(html, '<section id="link-revenue"', "</section>")
    assert "25.00 EUR" in section and "999.00 EUR" not in section
    assert 'aria-labelledby="link-revenue-title link-revenue-desc"' in section
    assert "<summary>The figures per day as a table</summary>" in section


def _seed(links: list, *, orders_per_day: int, days: int = 5) -> None:
    for link in links:
        for day in range(days):
            for _ in range(orders_per_day):
                _pay(link, 1000, days_ago=day)


def test_home_reads_the_daily_figures_not_the_orders(staff_client):
    links = [PaymentLinkFactory(currency="usd") for _ in range(3)]
    _seed(links, orders_per_day=1)
    rows = DailyRevenue.objects.count(), LinkDailyRevenue.objects.count()
    with CaptureQueriesContext(connection) as small:
        assert staff_client.get(reverse("home")).status_code == 200

    _seed(links, orders_per_day=6)  # six times the orders, on the same links and days
    with CaptureQueriesContext(connection) as large:
        assert staff_client.get(reverse("home")).status_code == 200

    # The figures the page reads do not grow with the orders (only with links and days)...
    assert LinkDailyRevenue.objects.count() == rows[1] == 3 * 5
    assert rows[0] <= DailyRevenue.objects.count() <= 5 * SHOP_SHARDS
    assert len(large.captured_queries) == len(small.captured_queries)
    # ... and the only read of the orders table is the five most recent orders.
    order_reads = [q["sql"] for q in large.captured_queries if '"links_order"' in q["sql"]]
    assert order_reads and all("LIMIT 5" in sql for sql in order_reads)


def test_home_recent_orders_show_refunds_and_disputes_as_the_orders_list_does(staff_client):
    link = PaymentLinkFactory(currency="eur")
    refunded = OrderFactory(payment_link=link, currency="eur", amount_total=3700, amount_refunded=3700)
    partly = OrderFactory(payment_link=link, currency="eur", amount_total=3700, amount_refunded=1000)
    disputed = OrderFactory(payment_link=link, currency="eur", amount_total=3700)
    Dispute.objects.create(
        order=disputed,
        stripe_id="dp_test_1",
        amount=3700,
        currency="eur",
        reason="fraudulent",
        status="needs_response",
    )

    html = staff_client.get(reverse("home")).content.decode()
    recent = _section(html, 'id="recent-orders-heading"', "</ul>")
    rows = {email: row for email, row in re.findall(r"· (\S+@example\.com) · (.*?)</li>", recent, re.S)}
    assert "badge-refunded" in rows[refunded.customer_email]
    assert "badge-partially_refunded" in rows[partly.customer_email]
    assert "badge-refunded" not in rows[partly.customer_email]
    assert "badge-disputed" in rows[disputed.customer_email]
