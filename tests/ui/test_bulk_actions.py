"""Bulk actions in a real browser (issue 26, part 4): an editor selects two links on the list, one with the
mouse and one with the keyboard, deactivates them, confirms, and reads the report, on a laptop and a phone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from catalog import services as catalog_services
from links import services
from links.models import PaymentLink

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}
SCREENSHOTS = Path(
    os.environ.get("PAYLINKS_SCREENSHOTS") or Path(__file__).resolve().parents[2] / "var" / "screenshots"
)


def _log_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.locator("#id_username").fill("alice")
    page.locator("#id_password").fill("correct-horse-battery")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base_url}/")


def _fits(page) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{page.url} is {width[0]} px wide on a {width[1]} px screen"


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1280", "390"])
def test_an_editor_deactivates_two_selected_links(sandbox, staff_user, browser, stripe_client, viewport):
    price = catalog_services.product_create_with_price(
        name="Poster", currency="eur", unit_amount=2000, request_token="2" * 32
    ).prices.get()
    links = {
        name: services.payment_link_create(
            name=name, line_items=[{"price": price, "quantity": 1}], request_token=f"{n:032x}"
        )
        for n, name in enumerate(["Spring poster", "Summer poster", "Autumn poster"], start=1)
    }
    folder = SCREENSHOTS / "bulk-actions"
    folder.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=viewport, locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    _log_in(page, sandbox.base_url)
    page.goto(f"{sandbox.base_url}/links/")

    # "Select all" follows the rows: all of them, then mixed once one is unchecked.
    select_all = page.get_by_label("Select all on this page")
    select_all.check()
    boxes = [page.get_by_label(f"Select “{name}”") for name in links]
    assert all(box.is_checked() for box in boxes)
    boxes[0].uncheck()
    assert not select_all.is_checked() and select_all.evaluate("box => box.indeterminate")
    select_all.click()  # from mixed, as in a file manager: every row again
    assert all(box.is_checked() for box in boxes)
    select_all.uncheck()
    assert not any(box.is_checked() for box in boxes)

    page.get_by_label("Select “Spring poster”").click()  # the mouse
    page.get_by_label("Select “Autumn poster”").focus()  # the keyboard
    page.keyboard.press("Space")
    assert [box.is_checked() for box in boxes] == [True, False, True]
    _fits(page)
    page.screenshot(path=str(folder / f"list-selected-{viewport['width']}.png"), full_page=True)

    page.get_by_role("button", name="Deactivate…").click()
    # With JavaScript the confirmation opens above the list and takes the focus (without it, its own page).
    page.get_by_role("heading", name="Deactivate 2 payment links?").wait_for()
    assert page.url == f"{sandbox.base_url}/links/"
    # htmx moves the focus once the swap has settled, a few milliseconds after the heading appears.
    expect(page.locator("#bulk-confirm")).to_be_focused(timeout=2_000)
    confirmation = page.locator("#bulk-confirm table")
    assert "Spring poster" in confirmation.inner_text() and "Summer poster" not in confirmation.inner_text()
    _fits(page)
    page.screenshot(path=str(folder / f"confirm-{viewport['width']}.png"), full_page=True)

    page.get_by_role("button", name="Yes, deactivate them").click()
    page.get_by_text("2 links deactivated.").wait_for()
    assert page.url.startswith(f"{sandbox.base_url}/links/")
    _fits(page)
    page.screenshot(path=str(folder / f"report-{viewport['width']}.png"), full_page=True)
    context.close()

    active = {name: PaymentLink.objects.get(pk=link.pk).active for name, link in links.items()}
    assert active == {"Spring poster": False, "Summer poster": True, "Autumn poster": False}
    assert stripe_client.v1.payment_links.retrieve(links["Autumn poster"].stripe_id).active is False
