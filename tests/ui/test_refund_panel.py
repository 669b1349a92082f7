"""Refunds in a real browser: an editor refunds half an order and then the rest through the order page's
panel (htmx swaps the form and its confirmation in place), on a laptop and a phone, in English and French;
the page fits the screen and axe finds nothing serious at each step. A viewer sees no button."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from config.roles import staff_role_set
from links.models import Order, OrderStatusChange, PaymentLink
from tests.links.payments import paid_order
from tests.ui.axe import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}
SCREENSHOTS = Path(
    os.environ.get("PAYLINKS_SCREENSHOTS") or Path(__file__).resolve().parents[2] / "var" / "screenshots"
)
WORDS = {
    "en-GB": {"open": "Refund…", "continue": "Continue", "amount": "Amount", "yes": "Refund {} EUR"},
    "fr-FR": {
        "open": "Rembourser…",
        "continue": "Continuer",
        "amount": "Montant",
        "yes": "Rembourser {} EUR",
    },
}
# Typed with a point (the form reads it as well as the page's own format), shown in the page's language.
HALF = {"en-GB": ("9.00", "9.00"), "fr-FR": ("9.00", "9,00")}


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


def _refund(page, words: dict, *, amount: str | None, shown: str, where: str, folder: Path) -> None:
    page.get_by_role("button", name=words["open"]).click()
    field = page.get_by_label(words["amount"], exact=False)
    field.wait_for()
    _checked(page, f"refund form {where}")
    if amount is not None:
        field.fill("0")
        page.get_by_role("button", name=words["continue"]).click()
        page.locator("#order-refund .error-summary").wait_for()
        _checked(page, f"refund error {where}")
        page.get_by_label(words["amount"], exact=False).fill(amount)
    page.get_by_role("button", name=words["continue"]).click()
    yes = page.get_by_role("button", name=words["yes"].format(shown))
    yes.wait_for()
    _checked(page, f"refund confirmation {where}")
    page.screenshot(path=str(folder / f"confirm-{where}.png"), full_page=True)
    yes.click()


@pytest.mark.parametrize("locale", ["en-GB", "fr-FR"])
@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1280", "390"])
def test_an_editor_refunds_half_then_the_rest(sandbox, stripe_client, staff_user, browser, viewport, locale):
    words = WORDS[locale]
    order = paid_order(sandbox, stripe_client)  # 18.00 EUR
    folder = SCREENSHOTS / "refunds"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{locale}-{viewport['width']}"
    context = browser.new_context(viewport=viewport, locale=locale)
    context.set_default_timeout(15_000)
    page = context.new_page()
    _log_in(page, sandbox.base_url, "alice", "correct-horse-battery")
    page.goto(f"{sandbox.base_url}/orders/{order.public_id}/")
    _checked(page, f"order page {name}")

    typed, shown = HALF[locale]
    _refund(page, words, amount=typed, shown=shown, where=f"half-{name}", folder=folder)
    page.locator("#payment-state .badge-partially_refunded").wait_for()
    _checked(page, f"partially refunded {name}")
    # The rest: the amount is prefilled with what remains.
    _refund(page, words, amount=None, shown=shown, where=f"rest-{name}", folder=folder)
    page.locator("#payment-state .badge-refunded").wait_for()
    assert page.locator("#refund-list tbody tr").count() == 2
    _checked(page, f"refunded {name}")
    page.screenshot(path=str(folder / f"refunded-{name}.png"), full_page=True)
    context.close()

    order.refresh_from_db()
    assert (order.amount_refunded, PaymentLink.objects.get().revenue) == (1800, 0)
    history = order.status_changes.filter(action=OrderStatusChange.Action.REFUND)
    assert list(history.values_list("amount", "actor")) == [(900, "alice"), (900, "alice")]
    assert order.status == Order.Status.PAID


def test_a_viewer_sees_the_refunds_but_no_button(sandbox, stripe_client, django_user_model, browser):
    order = paid_order(sandbox, stripe_client)
    user = django_user_model.objects.create_user(
        username="victor", password="x-long-password-1", is_staff=True
    )
    staff_role_set(user=user, role="Viewers")
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    page = context.new_page()
    _log_in(page, sandbox.base_url, "victor", "x-long-password-1")
    page.goto(f"{sandbox.base_url}/orders/{order.public_id}/")
    assert page.locator("#order-refund").is_visible()
    assert page.get_by_role("button", name="Refund…").count() == 0
    _checked(page, "order page, viewer, 390")
    context.close()
