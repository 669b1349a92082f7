"""Countries Stripe accepts in a payment link's ``shipping_address_collection[allowed_countries]``.

The codes are the stripe SDK's list for this API version. Their names, in the page's language, and
their order come from django-countries (its translated ISO 3166-1 names, sorted by name in the active
language); Stripe's regions that ISO 3166-1 lacks are named here.
"""

from __future__ import annotations

import unicodedata

from django.utils.translation import gettext_lazy as _
from django_countries import Countries

STRIPE_ISO_CODES = tuple(
    """
    AD AE AF AG AI AL AM AO AQ AR AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
    BS BT BV BW BY BZ CA CD CF CG CH CI CK CL CM CN CO CR CV CW CY CZ DE DJ DK DM DO DZ EC EE
    EG EH ER ES ET FI FJ FK FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK
    HN HR HT HU ID IE IL IM IN IO IQ IS IT JE JM JO JP KE KG KH KI KM KN KR KW KY KZ LA LB LC
    LI LK LR LS LT LU LV LY MA MC MD ME MF MG MK ML MM MN MO MQ MR MS MT MU MV MW MX MY MZ NA
    NC NE NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SZ TC TD TF TG TH TJ TK TL TM TN
    TO TR TT TV TW TZ UA UG US UY UZ VA VC VE VG VN VU WF WS YE YT ZA ZM ZW
    """.split()
)
# Stripe's codes outside ISO 3166-1.
STRIPE_REGIONS = (
    ("AC", _("Ascension Island")),
    ("TA", _("Tristan da Cunha")),
    ("XK", _("Kosovo")),
    ("ZZ", _("Unknown region")),
)


class ShippingCountries(Countries):
    """django-countries limited to Stripe's list (``only``: an ISO code takes django-countries' name)."""

    only = [*STRIPE_ISO_CODES, *STRIPE_REGIONS]


shipping_countries = ShippingCountries()


def _collation_key(country) -> str:
    # As a dictionary orders words: accents and case set aside ("Île Jan Mayen" after "Île de la
    # Réunion", "États-Unis" among the E's). django-countries' own order, without pyuca, is by code point
    # once accents are removed, which puts capitals before lower case.
    return unicodedata.normalize("NFKD", country.name).encode("ascii", "ignore").decode().casefold()


def shipping_country_choices() -> list[tuple[str, str]]:
    """``(code, name)`` for every country Stripe ships to, named and sorted in the active language."""
    return [(country.code, country.name) for country in shipping_countries.sorted(key=_collation_key)]
