"""The link editor at a phone's width (390×844) and a laptop's (1280×900), in English and French (issue 26,
part 2): a wide price picker, option sections collapsed to their summaries, a live preview beside the form
(below it on a phone) that follows the quantity and the options, and nothing wider than the screen.
Screenshots go to ``$PAYLINKS_SCREENSHOTS/editor/`` (default ``var/screenshots/``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from config.roles import staff_role_set
from tests.catalog.factories import PriceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}
LOCALES = {"en": "en-GB", "fr": "fr-FR"}
SCREENSHOTS = Path(
    os.environ.get("PAYLINKS_SCREENSHOTS") or Path(__file__).resolve().parents[2] / "var" / "screenshots"
)
PHONE_LABEL = {"en": "Collect the phone number", "fr": "Demander le numéro de téléphone"}

SECTIONS = """() => [...document.querySelectorAll("fieldset.option-section > details")].map((details) => ({
  id: details.parentElement.id, open: details.open,
  summary: details.querySelector(".section-summary").textContent.trim(),
}))"""


def _box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def _is_preview(response) -> bool:
    return response.request.method == "POST" and "preview=1" in (response.request.post_data or "")


def _preview_answer(page, action) -> None:
    """Do ``action`` and wait until the preview it asks for has been swapped in."""
    with page.expect_response(_is_preview):
        action()
    page.wait_for_timeout(200)  # htmx swaps just after the answer


def _money(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ").replace(",", ".")


def _check_editor(page, *, where: str, language: str, laptop: bool, poster) -> None:
    # Every option section collapsed to a line that says what it sets.
    sections = page.evaluate(SECTIONS)
    assert len(sections) >= 12, where
    assert not [s["id"] for s in sections if s["open"] or not s["summary"]], where

    # The price picker takes the row: ≥ 60 % of the line items' width on a laptop.
    select = _box(page, "#id_line_items-0-price")
    line_items = _box(page, "#section-line-items")
    share = 0.6 if laptop else 0.8
    assert select["width"] >= share * line_items["width"], (where, select, line_items)
    page.locator(".price-search").first.fill("poster")
    assert page.locator("#id_line_items-0-price option:not([hidden])").count() == 2  # and the empty one

    price = page.locator("#id_line_items-0-price")
    _preview_answer(page, lambda: price.select_option(poster.stripe_id))
    total = page.locator("[data-preview-total]")
    assert _money(total.text_content()) == "25.00 EUR", where
    _preview_answer(page, lambda: page.locator("#id_line_items-0-quantity").fill("3"))
    assert _money(total.text_content()) == "75.00 EUR", where
    asked = page.locator(".preview-asked li")
    before = asked.count()
    page.locator("#section-checkout summary").click()
    _preview_answer(page, lambda: page.get_by_label(PHONE_LABEL[language]).check())
    assert asked.count() == before + 1, where

    # Beside the form on a laptop, below the sections on a phone.
    preview = _box(page, "#link-preview")
    main = _box(page, ".editor-main")
    if laptop:
        assert preview["x"] >= main["x"] + main["width"], where
    else:
        assert preview["y"] >= main["y"] + main["height"], where


def test_the_editor_reads_top_to_bottom_with_a_live_preview(sandbox, staff_user, browser):
    staff_role_set(user=staff_user, role="Admins")
    poster = PriceFactory(product__name="Limited edition poster", currency="eur", unit_amount=2500)
    for n in range(9):  # a catalog long enough for the price picker's search box
        PriceFactory(product__name=f"Print {n}", currency="eur", unit_amount=1000 + n)
    for language, locale in LOCALES.items():
        for viewport in (PHONE, LAPTOP):
            context = browser.new_context(locale=locale, viewport=viewport)
            context.set_default_timeout(30_000)  # a loaded machine: the first page can be slow
            page = context.new_page()
            where = f"{language}-{viewport['width']}"
            folder = SCREENSHOTS / "editor"
            folder.mkdir(parents=True, exist_ok=True)
            page.goto(f"{sandbox.base_url}/accounts/login/")
            page.locator("#id_username").fill("alice")
            page.locator("#id_password").fill("correct-horse-battery")
            page.locator("main form button[type=submit]").click()
            page.wait_for_url(f"{sandbox.base_url}/")
            page.goto(f"{sandbox.base_url}/links/new/")
            assert page.locator("html").get_attribute("lang") == language

            _check_editor(page, where=where, language=language, laptop=viewport is LAPTOP, poster=poster)
            width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
            assert width[0] <= width[1], (where, width)
            page.screenshot(path=str(folder / f"link-editor-{where}.png"), full_page=True)
            context.close()
