"""The shipping countries: Stripe's list, named by django-countries in the page's language, sorted by name."""

from __future__ import annotations

import re
import unicodedata

import pytest
from django.urls import reverse
from django.utils import translation

from links.countries import STRIPE_ISO_CODES, STRIPE_REGIONS, shipping_country_choices
from links.option_groups import ShippingForm


def _folded(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()


def test_every_code_stripe_accepts_is_offered_once():
    codes = [code for code, _name in shipping_country_choices()]
    assert len(codes) == len(set(codes)) == len(STRIPE_ISO_CODES) + len(STRIPE_REGIONS) == 238


def test_french_names_sorted_in_french():
    with translation.override("fr"):
        choices = shipping_country_choices()
    names = dict(choices)
    assert names["DE"] == "Allemagne"
    assert names["ZA"] == "Afrique du Sud"
    # "Afrique du Sud" comes right after "Afghanistan", as in a French atlas (by code, ZA would be last).
    assert [code for code, _name in choices[:5]] == ["AF", "ZA", "AL", "DZ", "DE"]
    # "États-Unis" among the E's, not after "Zimbabwe".
    assert [_folded(name) for _code, name in choices] == sorted(_folded(name) for _code, name in choices)
    assert choices[-1][1] != "États-Unis"


def test_english_names_sorted_in_english():
    with translation.override("en"):
        choices = shipping_country_choices()
    assert dict(choices)["DE"] == "Germany"
    assert [code for code, _name in choices[:3]] == ["AF", "AX", "AL"]  # Afghanistan, Åland Islands, Albania


@pytest.mark.django_db
def test_stripe_regions_outside_iso_are_named_and_accepted():
    with translation.override("en"):
        assert dict(shipping_country_choices())["XK"] == "Kosovo"
    form = ShippingForm({"shipping-countries": ["XK", "DE"]})
    assert form.is_valid()
    assert form.to_params() == {"shipping_address_collection": {"allowed_countries": ["XK", "DE"]}}


@pytest.mark.django_db
def test_the_french_editor_lists_countries_in_french_order(staff_client):
    with translation.override("en"):  # the middleware's French stays in this thread otherwise
        page = staff_client.get(reverse("links:create"), HTTP_ACCEPT_LANGUAGE="fr-FR").content.decode()
    labels = re.findall(r'name="shipping-countries" value="(\w+)"', page)
    assert labels[:2] == ["AF", "ZA"]
    assert "Allemagne" in page and "Germany" not in page
    assert 'data-filter-list="id_shipping-countries-list"' in page  # the filter box is kept
