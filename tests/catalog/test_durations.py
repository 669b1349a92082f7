"""Delivery estimates and price intervals in words, pluralised, in English and French (issue 26, part 5).

The French needs the regenerated catalog (makemessages with the helpers' French filled in)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from catalog.durations import delivery_estimate_text, duration_text, interval_text
from catalog.models import ShippingRate
from catalog.templatetags.money import price_summary, recurring_interval
from tests.catalog.factories import PriceFactory


def _estimate(minimum=None, maximum=None) -> dict:
    estimate = {}
    if minimum:
        estimate["minimum"] = {"value": minimum[0], "unit": minimum[1]}
    if maximum:
        estimate["maximum"] = {"value": maximum[0], "unit": maximum[1]}
    return estimate


@pytest.mark.parametrize(
    ("estimate", "english", "french"),
    [
        (_estimate((2, "business_day"), (4, "business_day")), "2–4 business days", "2 à 4 jours ouvrés"),
        (_estimate((1, "business_day"), (1, "business_day")), "1 business day", "1 jour ouvré"),
        (_estimate((1, "day"), (2, "week")), "1 day to 2 weeks", "1 jour à 2 semaines"),
        (_estimate((3, "hour")), "At least 3 hours", "Au moins 3 heures"),
        (_estimate(maximum=(1, "month")), "Up to 1 month", "Jusqu'à 1 mois"),
        (_estimate((5, "fortnight"), (6, "fortnight")), "5–6 fortnight", "5 à 6 fortnight"),
        (None, "", ""),
        ({}, "", ""),
    ],
)
def test_a_delivery_estimate_in_words(estimate, english, french):
    with translation.override("en"):
        assert delivery_estimate_text(estimate) == english
    with translation.override("fr"):
        assert delivery_estimate_text(estimate) == french


def test_units_are_pluralised_in_each_language():
    with translation.override("en"):
        assert [duration_text(count=n, unit="week") for n in (1, 2)] == ["1 week", "2 weeks"]
        assert interval_text(interval="month", count=1) == "month"
        assert interval_text(interval="month", count=3) == "3 months"
    with translation.override("fr"):
        # French counts 0 and 1 as singular.
        assert [duration_text(count=n, unit="day") for n in (1, 2)] == ["1 jour", "2 jours"]
        assert interval_text(interval="year", count=1) == "année"
        assert interval_text(interval="year", count=2) == "2 ans"


@pytest.mark.django_db
def test_a_recurring_price_says_what_it_is_charged_per():
    quarterly = PriceFactory.build(
        unit_amount=3000,
        currency="eur",
        type="recurring",
        recurring_interval="month",
        recurring_interval_count=3,
    )
    with translation.override("en"):
        assert price_summary(quarterly) == "30.00 EUR / 3 months"
        assert recurring_interval({"interval": "week", "interval_count": 1}) == "week"
        assert recurring_interval(None) == ""
    with translation.override("fr"):
        assert price_summary(quarterly) == "30,00 EUR / 3 mois"
        assert recurring_interval({"interval": "week", "interval_count": 2}) == "2 semaines"


@pytest.mark.django_db
def test_the_shipping_rates_page_counts_the_delivery_estimate_in_words(staff_client):
    ShippingRate.objects.create(
        stripe_id="shr_express",
        display_name="Express",
        amount=500,
        currency="eur",
        delivery_estimate=_estimate((2, "business_day"), (4, "business_day")),
    )
    ShippingRate.objects.create(stripe_id="shr_pickup", display_name="Pick-up", amount=0, currency="eur")
    english = staff_client.get(reverse("catalog:shipping-rate-list"), headers={"Accept-Language": "en"})
    assert "2–4 business days" in english.text and "businessday" not in english.text
    french = staff_client.get(reverse("catalog:shipping-rate-list"), headers={"Accept-Language": "fr"})
    assert "2 à 4 jours ouvrés" in french.text
