"""The overview in a real browser (issue 27, part 5): the home page's revenue chart, its table and the
currency choice fit a phone's width in English and French, pass axe, and the choice swaps the section
with htmx; the link page's chart too."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from links.revenue import revenue_count_payment, revenue_count_refund
from tests.catalog.factories import PriceFactory
from tests.links.factories import OrderFactory, PaymentLinkFactory
from tests.ui.axe import axe_violations
from tests.ui.conftest import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LOCALES = {"en": "en-GB", "fr": "fr-FR"}
FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"


def _pay(link, amount: int, *, days_ago: int, currency: str | None = None):
    order = OrderFactory(
        payment_link=link,
        currency=currency or link.currency,
        amount_total=amount,
        paid_at=timezone.now() - timedelta(days=days_ago),
    )
    revenue_count_payment(order=order, amount=amount)
    return order


@pytest.fixture
def sales():
    """Euros (the shop's currency) every few days with a day refunded more than it took, and dollars."""
    PriceFactory(currency="eur")
    poster = PaymentLinkFactory(
        currency="eur", name="Limited edition poster with international shipping and a spring discount"
    )
    for days_ago in range(0, 60, 3):
        _pay(poster, 125_000 + days_ago * 1000, days_ago=days_ago)
    refunded = _pay(PaymentLinkFactory(currency="eur", name="Mugs for the team"), 500_000, days_ago=20)
    revenue_count_refund(order=refunded, amount=400_000, at=timezone.now() - timedelta(days=4))
    _pay(PaymentLinkFactory(currency="usd", name="Dollar course"), 9900, days_ago=2)
    return poster


def _log_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.locator("#id_username").fill("alice")
    page.locator("#id_password").fill("correct-horse-battery")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base_url}/")


@pytest.mark.parametrize("language", LOCALES)
def test_overview_fits_a_phone_and_passes_axe(live_server, staff_user, sales, browser, language):
    context = browser.new_context(viewport=PHONE, locale=LOCALES[language])
    context.set_default_timeout(30_000)
    page = context.new_page()
    _log_in(page, live_server.url)

    chart = page.locator("#revenue svg[role=img]")
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert page.evaluate(FITS)
    # The table alternative, opened, fits too.
    page.locator("#revenue details summary").click()
    assert page.locator("#revenue details table").is_visible() and page.evaluate(FITS)
    assert axe_violations(page, where=f"{language} home") == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"overview-home-{language}-390.png"), full_page=True)

    # The other currency, with htmx: the section alone is swapped and the address says which.
    page.locator("#revenue nav a", has_text="USD").click()
    page.wait_for_url("**/?currency=usd")
    page.locator("#revenue nav a[aria-current]", has_text="USD").wait_for()
    assert "Dollar course" in page.locator("#revenue table.top-links").inner_text()
    assert page.evaluate(FITS)

    page.goto(f"{live_server.url}/links/{sales.public_id}/")
    assert page.locator("#link-revenue svg[role=img]").is_visible()
    page.locator("#link-revenue details summary").click()
    assert page.evaluate(FITS)
    assert axe_violations(page, where=f"{language} link page") == []
    page.screenshot(path=str(SCREENSHOTS / f"overview-link-{language}-390.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/")
    assert page.evaluate(FITS)
    page.screenshot(path=str(SCREENSHOTS / f"overview-home-{language}-1280.png"), full_page=True)
    context.close()
