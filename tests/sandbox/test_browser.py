"""The hosted page in a real browser (Debian's chromium through Playwright): CSP, labels, 3-D Secure.

Skipped with a reason when chromium is absent (shared/notes/browser-tests.md).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import requests

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HEADERS = {"Authorization": "Bearer sk_test_browser"}


@pytest.fixture
def page(sandbox, monkeypatch):
    """A fresh headless chromium page, started after the live server and stopped before it.

    ``DJANGO_ALLOW_ASYNC_UNSAFE`` only for this test: Playwright's sync API runs an event loop in this
    thread, and a subprocess started by another test must not inherit the variable.
    """
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
        context = browser.new_context()
        context.set_default_timeout(15_000)
        yield context.new_page()
        context.close()
        browser.close()


def _link(sandbox, **options) -> dict:
    api = f"{sandbox.api_base}/v1"
    price = requests.post(
        f"{api}/prices",
        data={"product_data[name]": "Poster", "currency": "eur", "unit_amount": "2000"},
        headers=HEADERS,
        timeout=30,
    ).json()
    data = {"line_items[0][price]": price["id"], "line_items[0][quantity]": "1", **options}
    return requests.post(f"{api}/payment_links", data=data, headers=HEADERS, timeout=30).json()


def _fill_card(page, number: str) -> None:
    page.get_by_label("Email").fill("jeanne@example.com")
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiration (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Name on card").fill("Jeanne Martin")


def test_customer_pays_and_sees_the_confirmation(sandbox, page):
    link = _link(
        sandbox,
        **{
            "after_completion[type]": "hosted_confirmation",
            "after_completion[hosted_confirmation][custom_message]": "Merci Jeanne",
        },
    )
    page.goto(link["url"])
    _fill_card(page, "4242 4242 4242 4242")
    page.get_by_role("button", name="Pay").click()
    page.get_by_text("Merci Jeanne").wait_for()
    assert "/sandbox/checkout/cs_test_" in page.url


def test_declined_card_message_then_success(sandbox, page):
    page.goto(_link(sandbox)["url"])
    _fill_card(page, "4000 0000 0000 0002")
    page.get_by_role("button", name="Pay").click()
    # exact: the error summary at the top repeats it after the field's label.
    page.get_by_text("Your card was declined.", exact=True).wait_for()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name="Pay").click()
    page.get_by_text("Thanks for your payment").wait_for()


def test_three_d_secure_challenge(sandbox, page):
    page.goto(_link(sandbox)["url"])
    _fill_card(page, "4000 0025 0000 3155")
    page.get_by_role("button", name="Pay").click()
    page.get_by_role("button", name="Complete authentication").click()
    page.get_by_text("Thanks for your payment").wait_for()


def test_redirect_to_the_merchant_is_not_blocked_by_csp(sandbox, page):
    target = f"{sandbox.base_url}/healthz?session={{CHECKOUT_SESSION_ID}}"
    link = _link(sandbox, **{"after_completion[type]": "redirect", "after_completion[redirect][url]": target})
    page.goto(link["url"])
    _fill_card(page, "4242 4242 4242 4242")
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url("**/healthz?session=cs_test_*")
