"""The link editor's optional items in a real browser: a row added with htmx (the "Add an optional item"
button), its price chosen and the link saved; the rows fit a phone and a laptop in English and French.
Screenshots go to ``$PAYLINKS_SCREENSHOTS/editor/`` (default ``var/screenshots/``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from catalog.services import product_create_with_price
from links.models import PaymentLink

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(
    os.environ.get("PAYLINKS_SCREENSHOTS") or Path(__file__).resolve().parents[2] / "var" / "screenshots"
)
VIEWPORTS = {"390": {"width": 390, "height": 844}, "1280": {"width": 1280, "height": 900}}
LOCALES = {"en": "en-GB", "fr": "fr-FR"}


def _log_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.locator("#id_username").fill("alice")
    page.locator("#id_password").fill("correct-horse-battery")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base_url}/")


def _htmx(page, action) -> None:
    """Do ``action`` and wait until the section it re-renders has been swapped in."""
    # A section's answer, not the live preview's (its own request on input).
    with page.expect_response(
        lambda r: (
            r.request.headers.get("hx-request") == "true" and "preview=1" not in (r.request.post_data or "")
        )
    ):
        action()
    page.wait_for_timeout(150)  # htmx settles the swap just after the answer


def _add_row(page, n: int):
    """Press "Add an optional item" (by its name, the same in French) and wait for row ``n``."""
    _htmx(page, lambda: page.locator("button[name=add_optional_item]").click())
    row = page.locator("#section-optional-items fieldset.line-item").nth(n - 1)
    row.wait_for()
    return row


def test_optional_items_are_added_with_htmx_and_fit_every_screen(sandbox, staff_user, browser):
    lamp, bulb = (
        product_create_with_price(
            name=name, currency="eur", unit_amount=amount, request_token=token * 32
        ).prices.get()
        for name, amount, token in (("Lamp", 4000, "1"), ("Bulb", 300, "2"))
    )
    wide = []
    for language, locale in LOCALES.items():
        for width, viewport in VIEWPORTS.items():
            context = browser.new_context(locale=locale, viewport=viewport)
            context.set_default_timeout(15_000)
            page = context.new_page()
            _log_in(page, sandbox.base_url)
            page.goto(f"{sandbox.base_url}/links/new/")
            price = page.locator("#id_line_items-0-price")
            _htmx(page, lambda price=price: price.select_option(lamp.stripe_id))
            page.locator("#section-optional-items summary").click()  # collapsed to its summary
            first = _add_row(page, 1)
            _add_row(page, 2)
            _htmx(page, lambda first=first: first.locator("select").select_option(bulb.stripe_id))
            _htmx(page, lambda first=first: first.locator("input[name$=adjustable]").check())
            first.locator("input[name$=maximum]").fill("4")
            scroll = page.evaluate("document.documentElement.scrollWidth")
            if scroll > viewport["width"]:
                wide.append(f"{language}-{width}: {scroll} px wide")
            folder = SCREENSHOTS / "editor"
            folder.mkdir(parents=True, exist_ok=True)
            page.locator("#section-optional-items").screenshot(
                path=str(folder / f"optional-items-{language}-{width}.png")
            )
            if (language, width) == ("en", "1280"):
                page.get_by_label("Internal name").fill("Lamp link")
                page.get_by_role("button", name="Create payment link").click()

                page.get_by_text("Payment link “Lamp link” created.").wait_for()
            context.close()
    assert not wide, wide
    link = PaymentLink.objects.get()
    # The second row, added and left empty, is not an item.
    assert link.options["optional_items"] == [
        {"price": bulb.stripe_id, "quantity": 1, "adjustable_quantity": {"enabled": True, "maximum": 4}}
    ]
