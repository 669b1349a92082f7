"""The order page says in words what Stripe spells as codes: consent, the subscription's and the manual
capture's states, and address countries by their names (issue 26, part 5). The French needs the
regenerated catalog."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse
from django.utils import translation

from links import order_labels
from tests.links.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def order():
    return OrderFactory(
        currency="eur",
        consent={"promotions": "opt_in", "terms_of_service": "accepted"},
        billing_address={"line1": "Hauptstraße 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
        shipping_details={
            "name": "Ada",
            "address": {"line1": "Rue Neuve 2", "city": "Bruxelles", "country": "BE"},
        },
        capture_method="manual",
        payment_intent_id="pi_1",
        payment_intent_status="requires_payment_method",
        subscription_id="sub_1",
        subscription_status="past_due",
    )


def _text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def test_the_order_page_says_stripes_values_in_words(staff_client, order):
    path = reverse("orders:detail", args=[order.public_id])
    english = _text(staff_client.get(path, headers={"Accept-Language": "en"}))
    for words in [
        "Agreed to receive promotional e-mails Accepted the terms of service",
        "Waiting for a payment method",
        "Past due",
        "10115 Berlin Germany",
        "Bruxelles Belgium",
    ]:
        assert words in english
    for code in ("opt_in", "accepted", "requires_payment_method", "past_due", "Berlin DE"):
        assert code not in english
    french = _text(staff_client.get(path, headers={"Accept-Language": "fr"}))
    for words in [
        "Accepte de recevoir des e-mails promotionnels",
        "En attente d'un moyen de paiement",
        "En retard de paiement",
        "Allemagne",
        "Belgique",
    ]:
        assert words in french


def test_a_value_stripe_adds_later_is_shown_as_it_comes():
    with translation.override("en"):
        assert order_labels.consent_given({"promotions": "opt_out", "terms_of_service": None}) == [
            "Declined promotional e-mails"
        ]
        assert order_labels.consent_given({"newsletter": "maybe"}) == ["newsletter: maybe"]
        assert order_labels.subscription_status_label("trialing") == "In trial"
        assert order_labels.subscription_status_label("hibernating") == "hibernating"
        assert order_labels.payment_intent_status_label("succeeded") == "Captured"
        assert order_labels.country_name("xk") == "Kosovo"
        assert order_labels.country_name("QQ") == "QQ"
