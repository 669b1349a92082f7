from __future__ import annotations

from decimal import Decimal

from django.template import Context, Template

from catalog.money import format_money, from_minor_units, to_minor_units


def test_two_decimal_currency_round_trip():
    assert to_minor_units(Decimal("10.50"), "usd") == 1050
    assert from_minor_units(1050, "USD") == Decimal("10.50")


def test_zero_decimal_currency_is_charged_in_whole_units():
    assert to_minor_units(Decimal("1000"), "jpy") == 1000
    assert from_minor_units(1000, "jpy") == Decimal("1000")


def test_three_decimal_currency_uses_thousandths():
    assert to_minor_units(Decimal("1.234"), "kwd") == 1234


def test_money_filter_formats_with_currency_code():
    rendered = Template("{% load money %}{{ amount|money:'eur' }} {{ yen|money:'jpy' }}").render(
        Context({"amount": 123456, "yen": 5000})
    )
    assert rendered == "1,234.56 EUR 5,000 JPY"


def test_format_money_of_nothing_is_empty():
    assert format_money(None, "usd") == ""
