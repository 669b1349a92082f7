"""Every dashboard page at a phone's width (390×844) and a laptop's (1280×900), in English and French: none is
wider than the screen, the navigation collapses into a menu on the phone, and each stacked table labels
every cell with its column (issue 26, part 1); and axe-core finds no serious or critical accessibility
violation on any of them, nor on the login page and the sandbox's hosted payment page, before and after a
failed payment (part 6).

The pages come from the URL resolver, so a new page is visited without being listed here: every dashboard
URL is asked for with GET, and each one that answers an HTML page is visited (one that answers 405 is an
action, one that answers a file is a download). A URL whose parameters the test cannot fill fails until
``_arguments`` gives it an object. Screenshots go to ``$PAYLINKS_SCREENSHOTS/dashboard/`` (default
``var/screenshots/``), one per page, width and language. While working on a few pages,
``PAYLINKS_LAYOUT_PAGES=links:`` visits only the URL names that this regular expression finds.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from catalog.models import Coupon, Price, Product, PromotionCode
from catalog.services import (
    coupon_create,
    product_create_with_price,
    promotion_code_create,
    shipping_rate_create,
)
from config.roles import staff_role_set
from links import fulfilment
from links.models import Customer, Order, OutboundEmail, PaymentLink
from links.services import payment_link_create
from tests.ui.axe import axe_violations
from webhooks.endpoints import webhook_endpoint_register
from webhooks.models import WebhookEvent
from webhooks.receiving import webhook_secrets_invalidate
from webhooks.tasks import process_webhook_event

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}
LOCALES = {"en": "en-GB", "fr": "fr-FR"}  # the Accept-Language LocaleMiddleware reads
# Not the dashboard: Django's admin (superusers only, its own look) and the sandbox, Stripe's stand-in,
# whose hosted page has its own layout test (tests/sandbox/test_browser_total.py).
OTHER_NAMESPACES = {"admin", "sandbox"}
# Pages that need a query string to be a page at all.
QUERIES = {
    "orders:success": "session_id={session_id}",
    "links:set-active": "active=false",
    # The bulk actions' confirmation pages, with a row selected (without one they only say to select).
    "links:bulk": "action=deactivate&ids={link_id}",
    "orders:bulk": "action=fulfil&ids={order_id}",
    "orders:email-bulk": "action=resend&ids={email_id}",
}
SCREENSHOTS = Path(
    os.environ.get("PAYLINKS_SCREENSHOTS") or Path(__file__).resolve().parents[2] / "var" / "screenshots"
)
PASSWORD = "correct-horse-battery"
# axe at one width per language, the phone's layout (Menu button, stacked tables) in one and the laptop's
# (navigation bar, tables) in the other: axe reads the DOM and its colours, which the width changes only
# by what it shows and the language only by the words, and it is the slow part of a visit.
AXE_RUNS = {("en", 390), ("fr", 1280)}
ONLY_PAGES = re.compile(os.environ.get("PAYLINKS_LAYOUT_PAGES", ""))


@dataclass
class Shop:
    """A populated catalog: what each URL parameter of the dashboard can name."""

    link: PaymentLink
    order: Order
    email: OutboundEmail
    product: Product
    price: Price
    coupon: Coupon
    promotion_code: PromotionCode
    event: WebhookEvent
    customer: Customer


def _pay(base_url: str, url: str, **fields) -> None:
    """A customer fills in the hosted page (a form POST, as tests/webhooks/test_end_to_end.py does)."""
    browser = requests.Session()
    page = browser.get(url, timeout=20).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    action = re.search(r'<form method="post" action="([^"]+)"', page).group(1)
    card = {"card_number": "4242424242424242", "card_expiry": "12/34", "card_cvc": "123"}
    paid = browser.post(
        base_url + action,
        data={"csrfmiddlewaretoken": token, **card, **fields},
        headers={"Referer": url},
        allow_redirects=False,
        timeout=30,
    )
    assert paid.status_code == 302, paid.text


@pytest.fixture
def shop(sandbox, settings, staff_user) -> Shop:
    """Products, a shipping rate, a coupon and its promotion code, and a long-named link with two payments
    (one with the code and the shipping, fulfilled) made on its hosted page: their events, orders and
    e-mails, one of which failed. Created through the dashboard's services, against the sandbox."""
    settings.STRIPE_WEBHOOK_SECRETS = []
    webhook_secrets_invalidate()
    staff_role_set(user=staff_user, role="Admins")  # every page, settings included
    webhook_endpoint_register(url=f"{sandbox.base_url}/webhooks/stripe/")
    poster = product_create_with_price(
        name="Limited edition poster",
        description="Printed in Lyon on 200 g paper.",
        currency="eur",
        unit_amount=2000,
        request_token="layout-poster",
    )
    product_create_with_price(
        name="Print club", currency="eur", unit_amount=900, interval="month", request_token="layout-club"
    )
    rate = shipping_rate_create(
        display_name="Express delivery",
        amount=500,
        currency="eur",
        delivery_minimum=2,
        delivery_maximum=4,
        request_token="layout-rate",
    )
    coupon = coupon_create(name="Spring sale", percent_off=10, request_token="layout-coupon")
    code = promotion_code_create(coupon=coupon, code="SPRING", request_token="layout-code")
    price = poster.prices.get()
    link = payment_link_create(
        name="Limited edition poster with international shipping and a spring discount",
        line_items=[{"price": price, "quantity": 1}],
        options={
            "allow_promotion_codes": True,
            "shipping_address_collection": {"allowed_countries": ["FR", "BE"]},
            "shipping_options": [{"shipping_rate": rate.stripe_id}],
        },
        created_by=staff_user,
        request_token="layout-link",
    )
    shipping = {
        "shipping_name": "Jeanne Martin",
        "shipping_line1": "1 rue de la Paix",
        "shipping_city": "Paris",
        "shipping_postal_code": "75002",
        "shipping_country": "FR",
        "shipping_rate": rate.stripe_id,
    }
    _pay(
        sandbox.base_url,
        link.url,
        email="jeanne.martin-dupont@example-boutique.fr",
        cardholder_name="Jeanne Martin",
        promotion_code="SPRING",
        **shipping,
    )
    _pay(sandbox.base_url, link.url, email="ada@example.com", cardholder_name="Ada Lovelace", **shipping)
    for event in WebhookEvent.objects.filter(type="checkout.session.completed"):
        process_webhook_event(event.id)
    # The order page shown is the richer one, with the promotion code (both have the shipping rate).
    first, second = Order.objects.order_by("-amount_discount", "created_at")
    assert fulfilment.order_mark_fulfilled(order=first, actor="alice")
    failed = second.emails.first()
    # A failed send, as the outbox shows one (its long error must wrap too).
    OutboundEmail.objects.filter(pk=failed.pk).update(
        status=OutboundEmail.Status.FAILED,
        last_error="SMTPRecipientsRefused: {'ada@example.com': (450, b'4.2.0 Mailbox unavailable')}",
    )
    return Shop(
        link=link,
        order=first,
        email=failed,
        product=poster,
        price=price,
        coupon=coupon,
        promotion_code=code,
        event=WebhookEvent.objects.get(
            object_id=first.checkout_session_id, type="checkout.session.completed"
        ),
        # The customer of the richer order, the one with the long address.
        customer=Customer.objects.get(email_key=first.customer_email.upper()),
    )


def _arguments(shop: Shop) -> dict[str, object]:
    """A value for each URL parameter, by ``namespace:parameter``, or ``name:parameter`` where one URL's
    differs from its namespace's."""
    return {
        "links:public_id": shop.link.public_id,
        "links:kind": "svg",
        "orders:public_id": shop.order.public_id,
        "orders:email_id": shop.email.id,
        "catalog:stripe_id": shop.product.stripe_id,
        "catalog:price_id": shop.price.stripe_id,
        "catalog:coupon-detail:stripe_id": shop.coupon.stripe_id,
        "catalog:promotion-code-active:stripe_id": shop.promotion_code.stripe_id,
        "webhooks:stripe_event_id": shop.event.stripe_event_id,
        "customers:customer_id": shop.customer.id,
    }


def _dashboard_patterns(patterns=None, namespace: str = "") -> list[tuple[str, URLPattern]]:
    """Every named URL of the dashboard, as ``(namespace:name, pattern)``."""
    found = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace in OTHER_NAMESPACES:
                continue
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += _dashboard_patterns(entry.url_patterns, inner)
        elif entry.name:
            found.append((f"{namespace}{entry.name}", entry))
    return found


def _url(name: str, pattern: URLPattern, arguments: dict, shop: Shop) -> str:
    namespace = name.rpartition(":")[0]
    kwargs = {}
    for parameter in pattern.pattern.converters:
        value = arguments.get(f"{name}:{parameter}", arguments.get(f"{namespace}:{parameter}"))
        assert value is not None, f"give {name}'s <{parameter}> an object in _arguments()"
        kwargs[parameter] = value
    url = reverse(name, kwargs=kwargs)
    if name in QUERIES:
        url += "?" + QUERIES[name].format(
            session_id=shop.order.checkout_session_id,
            link_id=shop.link.public_id,
            order_id=shop.order.public_id,
            email_id=shop.email.id,
        )
    return url


def _pages(context, base_url: str, shop: Shop) -> list[tuple[str, str]]:
    """``(name, path)`` of every dashboard URL that answers GET with an HTML page, for a signed-in admin."""
    arguments = _arguments(shop)
    pages = []
    for name, pattern in _dashboard_patterns():
        if not ONLY_PAGES.search(name):
            continue
        path = _url(name, pattern, arguments, shop)
        response = context.request.get(base_url + path, max_redirects=0)
        if response.status == 405:
            continue  # an action: POST only
        assert response.status == 200, f"GET {path} ({name}) answered {response.status}"
        if response.headers["content-type"].startswith("text/html"):
            pages.append((name, path))
        # Otherwise a download (CSV, QR code) or the health check's JSON.
    return pages


# What the browser measures on each page: the page's width, and what hides or loses content.
MEASURE = """() => {
  const problems = [];
  for (const element of document.body.querySelectorAll("*")) {
    if (element.matches("input, select, textarea, option, svg *")) continue;
    const style = getComputedStyle(element);
    if (["auto", "scroll"].includes(style.overflowX) && element.scrollWidth > element.clientWidth + 1) {
      problems.push("scrolls sideways: " + element.tagName.toLowerCase() + "." + element.className);
    }
  }
  for (const table of document.querySelectorAll("main table")) {
    const headers = new Set([...table.querySelectorAll("thead th")].map((th) => th.textContent.trim()));
    const cells = table.querySelectorAll("tbody td");
    if (getComputedStyle(table.querySelector("tbody tr") || table).display === "table-row") continue;
    for (const cell of cells) {
      const label = cell.dataset.label;
      const text = cell.textContent.trim().slice(0, 40);
      if (label === undefined) problems.push("unlabelled stacked cell: " + text);
      else if (label && !headers.has(label)) problems.push("cell labelled " + label + ", not a column");
    }
  }
  return {scroll: document.documentElement.scrollWidth, width: window.innerWidth, problems};
}"""


def _log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base_url}/")


def _check_menu(page, viewport: dict, folder: Path) -> None:
    """On the phone the navigation is one Menu button that opens and closes it (Escape too); on the laptop
    it is shown."""
    toggle = page.locator("[data-nav-toggle]")
    menu = page.locator("#nav-menu")
    if viewport is LAPTOP:
        assert not toggle.is_visible() and menu.is_visible()
        return
    assert toggle.is_visible() and not menu.is_visible()
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    assert menu.is_visible() and toggle.get_attribute("aria-expanded") == "true"
    page.screenshot(path=str(folder / "menu-open.png"))
    page.keyboard.press("Escape")
    assert not menu.is_visible() and toggle.get_attribute("aria-expanded") == "false"


def test_every_dashboard_page_fits_a_phone_and_a_laptop_in_english_and_french(shop, sandbox, browser):
    base_url = sandbox.base_url
    failures = []
    visited = 0
    pages = None
    for language, locale in LOCALES.items():
        for viewport in (PHONE, LAPTOP):
            context = browser.new_context(locale=locale, viewport=viewport)
            context.set_default_timeout(15_000)
            page = context.new_page()
            where = f"{language}-{viewport['width']}"
            run_axe = (language, viewport["width"]) in AXE_RUNS
            folder = SCREENSHOTS / "dashboard" / where
            folder.mkdir(parents=True, exist_ok=True)
            if run_axe:
                page.goto(f"{base_url}/accounts/login/")
                failures += axe_violations(page, where=f"{where} /accounts/login/")
                page.goto(shop.link.url)
                failures += axe_violations(page, where=f"{where} hosted payment page")
                # Pay with nothing filled in.
                page.locator("form.checkout-form button[type=submit]:not([name])").click()
                page.locator("[data-error-summary]").wait_for()
                failures += axe_violations(page, where=f"{where} hosted payment page with errors")
            _log_in(page, base_url, "alice")
            _check_menu(page, viewport, folder)
            if pages is None:
                pages = _pages(context, base_url, shop)
            for name, path in pages:
                page.goto(base_url + path)
                assert page.locator("html").get_attribute("lang") == language
                measured = page.evaluate(MEASURE)
                if measured["scroll"] > measured["width"]:
                    failures.append(f"{where} {path}: {measured['scroll']} px wide")
                failures += [f"{where} {path}: {problem}" for problem in measured["problems"]]
                page.screenshot(path=str(folder / f"{name.replace(':', '-')}.png"), full_page=True)
                if run_axe:  # after the screenshot: it opens the collapsed sections
                    failures += axe_violations(page, where=f"{where} {path}")
                visited += 1
            context.close()
    assert not failures, "\n".join(failures)
    assert visited == 4 * len(pages)
    if not ONLY_PAGES.pattern:
        names = {name for name, _ in pages}
        assert {"home", "links:detail", "orders:detail", "catalog:coupon-detail", "settings"} <= names
