"""The merchant's day in a real browser: catalog, a link with every kind of option, a customer paying,
the order on the link's page, then the link deactivated (issue 4, point 8)."""

from __future__ import annotations

import pytest

from catalog.models import Price
from config.roles import staff_role_set
from links.models import PaymentLink
from webhooks.endpoints import webhook_endpoint_register
from webhooks.models import WebhookEvent
from webhooks.receiving import webhook_secrets_invalidate
from webhooks.tasks import process_webhook_event

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _htmx(page, action) -> None:
    """Do ``action`` and wait until the section it re-renders has been swapped in."""
    with page.expect_response(
        # A section's answer, not the live preview's (its own request on input).
        lambda r: (
            r.request.method == "POST"
            and r.request.headers.get("hx-request") == "true"
            and "preview=1" not in (r.request.post_data or "")
        )
    ):
        action()
    page.wait_for_timeout(150)  # htmx settles the swap just after the answer


def _log_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}/")


def _create_product_with_tiered_price(page, base_url: str, screenshot) -> Price:
    page.goto(f"{base_url}/catalog/new/")
    page.get_by_label("Name:", exact=True).fill("Poster")
    page.get_by_label("Amount").fill("20")
    page.get_by_label("Currency").select_option("eur")
    screenshot("product-form")
    page.get_by_role("button", name="Create product").click()
    page.get_by_role("heading", name="Poster").wait_for()
    page.get_by_role("button", name="Add a price").click()
    page.get_by_label("Currency").select_option("eur")
    _htmx(page, lambda: page.get_by_label("Tiered: the unit amount depends on the quantity").check())
    page.get_by_label("Tier 1: Up to (units)").fill("10")
    page.get_by_label("Tier 1: Per unit").fill("20")
    _htmx(page, lambda: page.get_by_role("button", name="Add a tier").click())
    page.get_by_label("Tier 2: Per unit").fill("15")
    screenshot("price-form-tiered")
    page.get_by_role("button", name="Create price").click()
    page.get_by_text("Price added to “Poster”.").wait_for()
    screenshot("product-detail")
    return Price.objects.get(billing_scheme="tiered")


def _create_shipping_rate(page, base_url: str) -> None:
    page.goto(f"{base_url}/catalog/shipping-rates/")
    page.get_by_label("Name").fill("Express")
    page.get_by_label("Amount").fill("5")
    page.get_by_label("Currency").select_option("eur")
    page.get_by_role("button", name="Create shipping rate").click()
    page.get_by_text("Shipping rate “Express” created.").wait_for()


def _create_link(page, base_url: str, price: Price, screenshot) -> PaymentLink:
    page.goto(f"{base_url}/links/new/")
    page.get_by_label("Internal name").fill("Poster sale")
    _htmx(page, lambda: page.get_by_label("Price").select_option(price.stripe_id))
    page.get_by_label("Quantity:", exact=True).fill("2")
    # The option sections are collapsed to their summaries: open the ones used.
    for section in ("shipping", "consent", "custom-fields"):
        page.locator(f"#section-{section} summary").click()
    page.get_by_label("Find a country").fill("fra")
    _htmx(page, lambda: page.get_by_label("France", exact=True).check())
    # The search is kept across the section's swap, and sets accents aside.
    assert page.get_by_label("Find a country").input_value() == "fra"
    assert page.get_by_label("Belgium", exact=True).is_hidden()
    page.get_by_label("Find a country").fill("reunion")
    assert page.get_by_label("Réunion", exact=True).is_visible()
    _htmx(page, lambda: page.get_by_label("Express — 5.00 EUR").check())
    _htmx(page, lambda: page.get_by_label("Customers must accept your terms of service").check())
    for n, (key, label, kind) in enumerate(
        [("engraving", "Engraving", "text"), ("size", "Size", "dropdown")], 1
    ):
        _htmx(page, lambda: page.get_by_role("button", name="Add a custom field").click())
        row = page.get_by_role("group", name=f"Custom field {n}")
        row.get_by_label("Key").fill(key)
        row.get_by_label("Label").fill(label)
        _htmx(page, lambda row=row, kind=kind: row.get_by_label("Type").select_option(kind))
    page.get_by_role("group", name="Custom field 2").get_by_label("Dropdown options").fill(
        "s: Small\nl: Large"
    )
    screenshot("link-editor")
    page.get_by_role("button", name="Create payment link").click()
    page.get_by_text("Payment link “Poster sale” created.").wait_for()
    link = PaymentLink.objects.get()
    assert link.line_items.get().quantity == 2
    return link


def _pay(page, link: PaymentLink, screenshot) -> None:
    page.goto(link.url)
    page.get_by_label("Email").fill("jeanne@example.com")
    page.get_by_label("Shipping name").fill("Jeanne Martin")
    page.get_by_label("Shipping address", exact=True).fill("1 rue de la Paix")
    page.get_by_label("Shipping city").fill("Paris")
    page.get_by_label("Shipping postal code").fill("75002")
    page.get_by_label("Engraving").fill("For Ada")
    page.get_by_label("Size").select_option("l")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiration (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Name on card").fill("Jeanne Martin")
    page.get_by_label("I agree to the Terms of Service").check()
    screenshot("hosted-payment-page")
    page.locator("form button[type=submit]:not([name])").click()
    page.wait_for_load_state()


def test_merchant_creates_a_link_a_customer_pays_and_the_link_is_deactivated(
    sandbox, settings, staff_user, page, screenshot
):
    settings.STRIPE_WEBHOOK_SECRETS = []
    webhook_secrets_invalidate()
    staff_role_set(user=staff_user, role="Admins")  # to see the settings page too
    webhook_endpoint_register(url=f"{sandbox.base_url}/webhooks/stripe/")
    base_url = sandbox.base_url

    _log_in(page, base_url)
    screenshot("home")
    price = _create_product_with_tiered_price(page, base_url, screenshot)
    _create_shipping_rate(page, base_url)
    link = _create_link(page, base_url, price, screenshot)
    screenshot("link-detail")

    _pay(page, link, screenshot)
    screenshot("hosted-confirmation")
    # The fulfilment task, run as the worker would (Celery's testing guide: call the task function).
    for event in WebhookEvent.objects.filter(type="checkout.session.completed"):
        process_webhook_event(event.id)

    page.goto(f"{base_url}/links/{link.public_id}/")
    orders = page.get_by_role("region", name="Payments")
    orders.get_by_text("jeanne@example.com").wait_for()
    assert "Engraving: For Ada" in orders.inner_text()
    assert "Size: l" in orders.inner_text()
    assert "from 1 paid order" in orders.inner_text()
    assert "45.00 EUR" in orders.inner_text()  # two posters at the first tier (20.00) and Express (5.00)
    screenshot("link-detail-with-order")

    page.get_by_role("button", name="Deactivate…").click()
    page.get_by_role("button", name="Yes, deactivate").click()
    page.get_by_text("Link deactivated.").wait_for()
    page.goto(link.url)
    page.get_by_role("heading", name="This link is no longer available").wait_for()
    screenshot("link-inactive")

    for name, path in (
        ("links-list", "/links/"),
        ("catalog", "/catalog/"),
        ("shipping-rates", "/catalog/shipping-rates/"),
        ("discounts", "/catalog/discounts/"),
        ("orders", "/orders/"),
        ("settings", "/settings/"),
        ("link-edit", f"/links/{link.public_id}/edit/"),
    ):
        page.goto(f"{base_url}{path}")
        assert page.get_by_role("heading", level=1).count() == 1
        screenshot(name)
