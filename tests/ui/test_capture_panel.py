"""Manual capture in a real browser: an editor opens an authorised order, captures less than authorised
through the panel (htmx: the panel swaps in place), on a laptop and a phone, in English and French; the page
fits the screen and axe finds nothing serious at each step. A viewer sees no button."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from config.roles import staff_role_set
from links.models import Order, OrderStatusChange, PaymentLink
from tests.links.test_capture import authorised_order
from tests.ui.axe import axe_violations
from webhooks.endpoints import webhook_endpoint_register

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}
SCREENSHOTS = Path(
    os.environ.get("PAYLINKS_SCREENSHOTS") or Path(__file__).resolve().parents[2] / "var" / "screenshots"
)
WORDS = {
    "en-GB": {
        "capture": "Capture…",
        "continue": "Continue",
        "yes": "Yes, capture 25.00 EUR",
        "amount": "Amount",
    },
    "fr-FR": {
        "capture": "Capturer…",
        "continue": "Continuer",
        "yes": "Oui, capturer 25,00 EUR",
        "amount": "Montant",
    },
}


def _log_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base_url}/")


def _checked(page, where: str) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{where}: {width[0]} px wide on a {width[1]} px screen"
    assert axe_violations(page, where=where) == []


@pytest.fixture
def order(sandbox, settings, stripe_client) -> Order:
    settings.STRIPE_WEBHOOK_SECRETS = []
    webhook_endpoint_register(url=f"{sandbox.base_url}/webhooks/stripe/")
    return authorised_order(sandbox, stripe_client)


@pytest.mark.parametrize("locale", ["en-GB", "fr-FR"])
@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1280", "390"])
def test_an_editor_captures_less_than_authorised(sandbox, staff_user, order, browser, viewport, locale):
    words = WORDS[locale]
    folder = SCREENSHOTS / "capture"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{locale}-{viewport['width']}"
    context = browser.new_context(viewport=viewport, locale=locale)
    context.set_default_timeout(15_000)
    page = context.new_page()
    _log_in(page, sandbox.base_url, "alice", "correct-horse-battery")
    page.goto(f"{sandbox.base_url}/orders/{order.public_id}/")
    _checked(page, f"order page {name}")
    page.screenshot(path=str(folder / f"authorised-{name}.png"), full_page=True)

    page.get_by_role("button", name=words["capture"]).click()
    amount = page.get_by_label(words["amount"], exact=False)
    amount.wait_for()
    assert page.url.endswith(f"/orders/{order.public_id}/")  # swapped in place by htmx
    assert amount.input_value() == ("40,00" if locale == "fr-FR" else "40.00")
    amount.fill("0")
    page.get_by_role("button", name=words["continue"]).click()
    page.locator(".error-summary").wait_for()
    _checked(page, f"capture error {name}")
    page.get_by_label(words["amount"], exact=False).fill("25,00" if locale == "fr-FR" else "25.00")
    page.get_by_role("button", name=words["continue"]).click()
    yes = page.get_by_role("button", name=words["yes"])
    yes.wait_for()
    _checked(page, f"capture confirmation {name}")
    page.screenshot(path=str(folder / f"confirm-{name}.png"), full_page=True)
    yes.click()
    page.wait_for_function(
        "() => document.querySelector('#capture-state .badge-captured') !== null", timeout=15_000
    )
    _checked(page, f"captured {name}")
    page.screenshot(path=str(folder / f"captured-{name}.png"), full_page=True)
    context.close()

    order.refresh_from_db()
    assert (order.status, order.amount_received) == (Order.Status.PAID, 2500)
    assert PaymentLink.objects.get().revenue == 2500
    assert order.status_changes.get(action=OrderStatusChange.Action.CAPTURE).actor == "alice"


def test_a_viewer_sees_the_authorisation_but_no_button(sandbox, django_user_model, order, browser):
    user = django_user_model.objects.create_user(
        username="victor", password="x-long-password-1", is_staff=True
    )
    staff_role_set(user=user, role="Viewers")
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    page = context.new_page()
    _log_in(page, sandbox.base_url, "victor", "x-long-password-1")
    page.goto(f"{sandbox.base_url}/orders/{order.public_id}/")
    assert page.locator("#capture-state").is_visible()
    assert page.get_by_role("button", name="Capture…").count() == 0
    assert page.get_by_role("button", name="Cancel the authorisation…").count() == 0
    _checked(page, "order page, viewer, 390")
    context.close()


@pytest.mark.parametrize("locale", ["en-GB", "fr-FR"])
def test_a_disputed_order_fits_a_phone_and_passes_axe(sandbox, staff_user, stripe_client, browser, locale):
    from links import disputes, fulfilment
    from tests.links.test_disputes import stripe_dispute

    order = authorised_order(sandbox, stripe_client)
    stripe_client.v1.payment_intents.capture(order.payment_intent_id)
    order = fulfilment.checkout_session_fulfil(session_id=order.checkout_session_id, actor="test")
    disputes.dispute_record(dispute=stripe_dispute(order, stripe_client), actor="test")
    context = browser.new_context(viewport=PHONE, locale=locale)
    page = context.new_page()
    _log_in(page, sandbox.base_url, "alice", "correct-horse-battery")
    page.goto(f"{sandbox.base_url}/orders/{order.public_id}/")
    assert page.locator("#order-dispute .badge-disputed").is_visible()
    _checked(page, f"disputed order {locale} 390")
    folder = SCREENSHOTS / "capture"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"disputed-{locale}-390.png"), full_page=True)
    context.close()
