"""Each link's conversion in a real browser (issue 27, part 5): the link page's figure with its source, and
the home page's conversion column, fit a phone's and a laptop's width in English and French and pass axe."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from links.models import CheckoutSessionScan, LinkConversion
from links.revenue import revenue_count_payment
from tests.catalog.factories import PriceFactory
from tests.links.factories import OrderFactory, PaymentLinkFactory
from tests.ui.axe import axe_violations
from tests.ui.conftest import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOCALES = {"en": "en-GB", "fr": "fr-FR"}
WIDTHS = (390, 1280)
FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture
def links():
    """Two links that sold today: one with 12 of 40 sessions completed, one that opened none."""
    PriceFactory(currency="eur")
    poster = PaymentLinkFactory(
        currency="eur", name="Limited edition poster with international shipping and a spring discount"
    )
    mug = PaymentLinkFactory(currency="eur", name="Mugs for the team")
    for link in (poster, mug):
        order = OrderFactory(payment_link=link, currency="eur", amount_total=125_000, paid_at=timezone.now())
        revenue_count_payment(order=order, amount=125_000)
    LinkConversion.objects.create(
        link_stripe_id=poster.stripe_id, sessions_opened=40, sessions_completed=12, sessions_expired=20
    )
    CheckoutSessionScan.objects.create(key="all", scanned_at=timezone.now() - timedelta(minutes=2))
    return poster


def _log_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.locator("#id_username").fill("alice")
    page.locator("#id_password").fill("correct-horse-battery")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base_url}/")


@pytest.mark.parametrize("language", LOCALES)
def test_conversion_fits_a_phone_and_a_laptop_and_passes_axe(
    live_server, staff_user, links, browser, language
):
    context = browser.new_context(viewport={"width": WIDTHS[0], "height": 844}, locale=LOCALES[language])
    context.set_default_timeout(30_000)
    page = context.new_page()
    _log_in(page, live_server.url)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/")
        table = page.locator("#revenue table.top-links")
        assert "(12" in table.inner_text() and "40)" in table.inner_text()
        assert page.evaluate(FITS)
        assert axe_violations(page, where=f"{language} home at {width} px") == []

        page.goto(f"{live_server.url}/links/{links.public_id}/")
        section = page.locator("section[aria-labelledby=conversion-heading]")
        text = section.inner_text()
        assert "12" in text and "40" in text and "Stripe" in text
        if language == "en":
            assert "Conversion 30% — 12 of 40 checkout sessions completed" in text
        assert page.evaluate(FITS)
        assert axe_violations(page, where=f"{language} link page at {width} px") == []
        section.screenshot(path=str(SCREENSHOTS / f"conversion-link-{language}-{width}.png"))
    context.close()
