"""The hosted page in chromium: the total shown after each change is the amount then charged, and the
layout (summary beside the form on a wide screen, above it on a phone, no horizontal scrolling).

``PAYLINKS_SCREENSHOTS=1`` saves var/screenshots/hosted-*.png (English and French, 390 and 1280 wide).
Skipped with a reason when chromium is absent (shared/notes/browser-tests.md).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import requests

from sandbox.pricing import format_amount

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HEADERS = {"Authorization": "Bearer sk_test_browser_total"}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def browser(sandbox, monkeypatch):
    """Headless chromium, started after the live server and stopped before it (see test_browser.py)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


def _page(browser, *, locale: str = "en-GB", viewport: dict = DESKTOP):
    context = browser.new_context(locale=locale, viewport=viewport)
    context.set_default_timeout(15_000)
    return context.new_page()


def _post(sandbox, path: str, data: dict) -> dict:
    response = requests.post(f"{sandbox.api_base}/v1/{path}", data=data, headers=HEADERS, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def _shop(sandbox) -> dict:
    """20.00 EUR a poster (quantity adjustable), Post 4.90 (pre-selected) or Express 15.00, automatic tax,
    and the promotion code SPRING (-10 %)."""
    price = _post(
        sandbox,
        "prices",
        {
            "product_data[name]": "Poster",
            "currency": "eur",
            "unit_amount": "2000",
            "tax_behavior": "exclusive",
        },
    )
    rates = [
        _post(
            sandbox,
            "shipping_rates",
            {
                "display_name": name,
                "type": "fixed_amount",
                "fixed_amount[amount]": amount,
                "fixed_amount[currency]": "eur",
            },
        )
        for name, amount in (("Post", "490"), ("Express", "1500"))
    ]
    coupon = _post(sandbox, "coupons", {"percent_off": "10"})
    _post(
        sandbox,
        "promotion_codes",
        {"promotion[type]": "coupon", "promotion[coupon]": coupon["id"], "code": "SPRING"},
    )
    return _post(
        sandbox,
        "payment_links",
        {
            "line_items[0][price]": price["id"],
            "line_items[0][quantity]": "1",
            "line_items[0][adjustable_quantity][enabled]": "true",
            "shipping_options[0][shipping_rate]": rates[0]["id"],
            "shipping_options[1][shipping_rate]": rates[1]["id"],
            "automatic_tax[enabled]": "true",
            "allow_promotion_codes": "true",
        },
    )


def _recomputed(page, change) -> None:
    """Make a change and wait until the server's new summary is in the page."""
    with page.expect_response(lambda r: "/sandbox/checkout/" in r.url and r.request.method == "POST"):
        change()
    page.wait_for_load_state()
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping')")


def _set_quantity(page) -> None:
    page.get_by_label("Quantity of Poster").fill("3")
    page.get_by_label("Quantity of Poster").press("Tab")


def _choose_express(page) -> None:
    page.get_by_label("Express (15.00 EUR)").check()


def _enter_code(page) -> None:
    page.get_by_label("Promotion code").fill("SPRING")
    page.get_by_label("Promotion code").press("Tab")


def _fill_payment(page) -> None:
    page.get_by_label("Email").fill("jeanne@example.com")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiration (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Name on card").fill("Jeanne Martin")
    page.get_by_label("Billing address").fill("1 Downing Street")
    page.get_by_label("City", exact=True).fill("London")
    page.get_by_label("Postal code").fill("SW1A 2AA")


def _charged(sandbox, page) -> int:
    """Pay, then read the PaymentIntent's amount through the sandbox API."""
    page.locator("#pay-form > button[type=submit]").click()
    page.wait_for_url("**/sandbox/checkout/cs_test_*")
    page.get_by_text("Thanks for your payment").wait_for()
    session_id = page.url.rsplit("/", 1)[1]
    session = requests.get(
        f"{sandbox.api_base}/v1/checkout/sessions/{session_id}",
        params={"expand[]": "payment_intent"},
        headers=HEADERS,
        timeout=30,
    ).json()
    assert session["status"] == "complete"
    return session["payment_intent"]["amount"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # en-GB: the billing country is the United Kingdom, 20 % VAT.
        ([], 2000 + 400 + 490),
        ([_set_quantity], 6000 + 1200 + 490),
        ([_set_quantity, _choose_express], 6000 + 1200 + 1500),
        ([_set_quantity, _choose_express, _enter_code], 5400 + 1080 + 1500),
    ],
    ids=["as-opened", "quantity", "quantity-shipping", "quantity-shipping-code"],
)
def test_the_total_shown_after_each_change_is_the_amount_charged(sandbox, browser, changes, expected):
    link = _shop(sandbox)
    page = _page(browser)
    page.goto(link["url"])
    for change in changes:
        before = page.locator("#total").inner_text()
        _recomputed(page, lambda change=change: change(page))
        assert page.locator("#total").inner_text() != before
    _fill_payment(page)
    shown = page.locator("#total").inner_text()
    assert page.locator("#total-due").inner_text() == shown
    assert _charged(sandbox, page) == expected
    assert shown == format_amount(expected, "eur")


def _layout(page) -> dict:
    return page.evaluate(
        """() => {
          const box = (selector) => document.querySelector(selector).getBoundingClientRect();
          const summary = box('.checkout-summary'), form = box('#pay-form');
          return {scroll: document.documentElement.scrollWidth,
                  summary: [summary.left, summary.top, summary.bottom], form: [form.left, form.top]};
        }"""
    )


@pytest.mark.parametrize("locale", ["en-GB", "fr-FR"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_summary_beside_the_form_on_a_wide_screen_above_it_on_a_phone(sandbox, browser, locale, viewport):
    link = _shop(sandbox)
    page = _page(browser, locale=locale, viewport=viewport)
    page.goto(link["url"])
    layout = _layout(page)
    assert layout["scroll"] <= viewport["width"], "no horizontal scrolling"
    if viewport is PHONE:
        assert layout["summary"][2] <= layout["form"][1], "summary above the form"
    else:
        assert layout["summary"][0] < layout["form"][0] and layout["summary"][1] <= layout["form"][1] + 1
    name = f"hosted-{locale[:2]}-{viewport['width']}"
    if os.environ.get("PAYLINKS_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    # A failed submit: the error summary at the top, focused, its links reaching the fields.
    page.locator("#pay-form > button[type=submit]").click()
    page.wait_for_load_state()
    summary = page.locator("[data-error-summary]")
    summary.wait_for()
    assert page.evaluate("() => document.activeElement.hasAttribute('data-error-summary')")
    assert summary.get_by_role("link").count() >= 4
    assert _layout(page)["scroll"] <= viewport["width"]
    if os.environ.get("PAYLINKS_SCREENSHOTS"):
        page.screenshot(path=str(SCREENSHOTS / f"{name}-errors.png"), full_page=True)


def _cross_sell_shop(sandbox) -> dict:
    """A 20.00 EUR lamp, with a bulb (3.00, up to 5) and a shade (12.00) to add, and the customer's full name
    required."""
    lamp, bulb, shade = (
        _post(sandbox, "prices", {"product_data[name]": name, "currency": "eur", "unit_amount": amount})
        for name, amount in (("Lamp", "2000"), ("Bulb", "300"), ("Shade", "1200"))
    )
    return _post(
        sandbox,
        "payment_links",
        {
            "line_items[0][price]": lamp["id"],
            "line_items[0][quantity]": "1",
            "optional_items[0][price]": bulb["id"],
            "optional_items[0][quantity]": "1",
            "optional_items[0][adjustable_quantity][enabled]": "true",
            "optional_items[0][adjustable_quantity][maximum]": "5",
            "optional_items[1][price]": shade["id"],
            "optional_items[1][quantity]": "1",
            "name_collection[individual][enabled]": "true",
        },
    )


def test_optional_items_added_change_the_total_and_it_is_what_is_charged(sandbox, browser):
    link = _cross_sell_shop(sandbox)
    page = _page(browser)
    page.goto(link["url"])
    assert page.locator("#total").inner_text() == format_amount(2000, "eur")

    def add_bulbs():
        page.get_by_label("Add Bulb (3.00 EUR each)").fill("2")
        page.get_by_label("Add Bulb (3.00 EUR each)").press("Tab")

    _recomputed(page, add_bulbs)
    assert page.locator("#total").inner_text() == format_amount(2600, "eur")
    _recomputed(page, lambda: page.get_by_label("Add Shade (12.00 EUR each)").check())
    assert page.locator("#total").inner_text() == format_amount(3800, "eur")
    assert page.locator(".summary-lines").get_by_text("Shade").count() == 1

    # The full name is required: the page says so at the field and at the top, and charges nothing.
    page.get_by_label("Email").fill("jeanne@example.com")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiration (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Name on card").fill("Jeanne Martin")
    page.locator("#pay-form > button[type=submit]").click()
    page.wait_for_load_state()
    page.locator("[data-error-summary]").get_by_role(
        "link", name="Full name: This field is required."
    ).wait_for()
    assert page.locator("#individual_name-error").inner_text() == "This field is required."
    # Re-shown with the customer's selection, and its total.
    shown = page.locator("#total").inner_text()
    assert shown == format_amount(3800, "eur")

    page.get_by_label("Full name").fill("Jeanne Martin")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("CVC").fill("123")
    assert _charged(sandbox, page) == 3800
