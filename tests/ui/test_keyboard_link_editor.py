"""The link editor with the keyboard alone (issue 26, part 6): from the links list to a saved link with Tab,
Shift+Tab, Space, Enter, the arrow keys and typing, the focus always visible. Elements are found by their
accessible names, as a screen reader user would find them, never by their place in the page.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from catalog.services import product_create_with_price
from config.roles import staff_role_set
from links.models import PaymentLink
from tests.catalog.factories import PriceFactory
from tests.ui.axe import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(
    os.environ.get("PAYLINKS_SCREENSHOTS") or Path(__file__).resolve().parents[2] / "var" / "screenshots"
)
MAX_TABS = 400  # more Tab presses than this to reach a control is a failure in itself

# Where the focus is, and whether a sighted keyboard user can see it: an outline at least 2 px wide (the
# dashboard's :focus-visible style, which no component's own style may take away), opaque, with a contrast
# of 3:1 or more against the page (WCAG 1.4.11).
FOCUSED = """(target) => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  const name = (element.getAttribute("aria-label") || element.labels?.[0]?.textContent
    || element.textContent || element.name || "").trim().slice(0, 40);
  const rgba = (colour) => colour.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => [r, g, b]
    .map((c) => c / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4))
    .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
  const ring = rgba(style.outlineColor);
  const page = [document.body, document.documentElement]
    .map((e) => rgba(getComputedStyle(e).backgroundColor)).find((c) => (c[3] ?? 1) > 0) || [255, 255, 255];
  const [light, dark] = [luminance(ring), luminance(page)].sort((a, b) => b - a);
  return {
    reached: element === target,
    describe: element.tagName.toLowerCase() + (element.id ? "#" + element.id : "") + " "
      + JSON.stringify(name),
    visible: element.matches(":focus-visible") && style.outlineStyle !== "none"
      && parseFloat(style.outlineWidth) >= 2 && (ring[3] ?? 1) === 1 && (light + 0.05) / (dark + 0.05) >= 3,
  };
}"""
# Whether ``target`` comes after the focused element in the page (so Tab, not Shift+Tab, reaches it).
AFTER_FOCUS = """(target) => {
  const focused = document.activeElement;
  if (focused === document.body || focused === target) return true;
  return Boolean(focused.compareDocumentPosition(target) & Node.DOCUMENT_POSITION_FOLLOWING);
}"""


class Keyboard:
    """Moves the focus with Tab and Shift+Tab only, noting each element focused without a visible focus."""

    def __init__(self, page):
        self.page = page
        self.invisible_focus: list[str] = []
        self.presses = 0

    def focus(self, target) -> None:
        """Tab (or Shift+Tab, when ``target`` is above the focus) until ``target`` has the focus."""
        target.wait_for()
        key = "Tab" if target.evaluate(AFTER_FOCUS) else "Shift+Tab"
        if target.evaluate("(target) => target === document.activeElement"):
            return
        for _ in range(MAX_TABS):
            self.page.keyboard.press(key)
            self.presses += 1
            focused = target.evaluate(FOCUSED)
            if not focused["visible"]:
                self.invisible_focus.append(f"{focused['describe']} (on the way to {target})")
            if focused["reached"]:
                return
        raise AssertionError(f"{MAX_TABS} presses of {key} did not reach {target}")

    def press(self, target, key: str) -> None:
        self.focus(target)
        self.page.keyboard.press(key)


@pytest.fixture
def catalog(sandbox, staff_user):
    """The poster's price, among enough others that the price picker has its search box (local rows only:
    the link sells the poster, created in the sandbox)."""
    staff_role_set(user=staff_user, role="Editors")
    PriceFactory.create_batch(9, currency="eur")
    poster = product_create_with_price(
        name="Limited edition poster", currency="eur", unit_amount=2000, request_token="kb-poster"
    )
    return poster.prices.get()


def _log_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}/")


def _wait_until(check, page, *, seconds: float = 2.0) -> None:
    """Polls ``check`` from here (a predicate evaluated in the page by Playwright's wait_for_function is
    a string run by eval, which the dashboard's CSP refuses)."""
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        page.wait_for_timeout(50)
    assert check()


def test_a_keyboard_user_creates_a_link_with_a_price_a_quantity_and_an_adjustable_quantity(
    catalog, sandbox, page
):
    base_url = sandbox.base_url
    price = catalog
    _log_in(page, base_url)
    keys = Keyboard(page)
    page.goto(f"{base_url}/links/")

    # Space presses a button, even one that is a link underneath.
    keys.press(page.get_by_role("button", name="New payment link"), "Space")
    page.wait_for_url(f"{base_url}/links/new/")

    # Saving an empty form: the error summary takes the focus, and its first link leads to the name.
    keys.press(page.get_by_role("button", name="Create payment link"), "Enter")
    summary = page.get_by_role("alert").filter(has_text="Nothing was saved")
    summary.wait_for()
    # The page's script moves the focus once the page has loaded, just after the summary is there.
    _wait_until(lambda: summary.evaluate("(summary) => summary.contains(document.activeElement)"), page)
    errors = axe_violations(page, where="editor with errors")
    keys.press(summary.get_by_role("link").first, "Enter")
    name = page.get_by_label("Internal name")
    assert name.evaluate("(name) => name === document.activeElement")
    page.keyboard.type("Keyboard sale")

    # The price: typing in the picker's search box narrows it, the arrows choose (each choice re-renders
    # the line items, keeping the focus).
    line_item = page.get_by_role("group", name="Line item 1")
    keys.focus(line_item.get_by_role("searchbox", name="Filter by product or amount"))
    page.keyboard.type("poster")
    price_picker = line_item.get_by_label("Price")
    keys.focus(price_picker)

    # The line items' answer to this choice (leaving the search box may have sent one before, without it).
    def line_items_with_the_price(response) -> bool:
        sent = response.request.post_data or ""
        return "section=line-items" in sent and f"price={price.stripe_id}" in sent

    with page.expect_response(line_items_with_the_price):
        page.keyboard.press("ArrowDown")
    page.wait_for_timeout(150)  # htmx settles the swap just after the answer
    assert price_picker.input_value() == price.stripe_id
    assert price_picker.evaluate("(picker) => picker === document.activeElement")

    # A checkbox takes Space, and shows the limits it enables (once the line items it re-renders are back:
    # a Tab pressed while they are swapped in would start again from the page's top).
    def line_items_adjustable(response) -> bool:
        sent = response.request.post_data or ""
        return "section=line-items" in sent and "adjustable=on" in sent

    with page.expect_response(line_items_adjustable):
        keys.press(line_item.get_by_role("checkbox", name="Customers can change the quantity"), "Space")
    page.wait_for_timeout(150)
    keys.focus(line_item.get_by_label(re.compile(r"^Maximum quantity")))
    page.keyboard.type("5")

    # A collapsed section opens with Enter, its fields come next in the Tab order, and it closes again.
    adhoc = line_item.locator("summary", has_text="Or an item that is not in the catalog")
    keys.press(adhoc, "Enter")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "link-editor-keyboard-focus.png"))  # the focus ring, as seen
    assert adhoc.evaluate("(summary) => summary.parentElement.open")
    page.keyboard.press("Tab")
    assert line_item.get_by_label(re.compile(r"^Item name")).evaluate("(e) => e === document.activeElement")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    assert not adhoc.evaluate("(summary) => summary.parentElement.open")

    # A collapsed section of options opens with Enter at its summary; its checkbox takes Space.
    consent = page.get_by_role("group", name="Consent", exact=True)
    keys.press(consent.locator("summary"), "Enter")
    assert consent.locator("details").evaluate("(details) => details.open")
    terms = consent.get_by_role("checkbox", name="Customers must accept your terms of service")
    with page.expect_response(lambda r: "section=consent" in (r.request.post_data or "")):
        keys.press(terms, "Space")
    page.wait_for_timeout(150)

    # Back up to the quantity (Shift+Tab), then save with Enter in the field, as in any form.
    keys.focus(line_item.get_by_label(re.compile(r"^Quantity:?$")))
    page.keyboard.press("Control+a")
    page.keyboard.type("3")
    page.keyboard.press("Enter")
    page.get_by_text("Payment link “Keyboard sale” created.").wait_for()

    link = PaymentLink.objects.get(name="Keyboard sale")
    item = link.line_items.get()
    assert (item.price, item.quantity) == (price, 3)
    assert item.adjustable_quantity["enabled"] and item.adjustable_quantity["maximum"] == 5
    assert link.options["consent_collection"]["terms_of_service"] == "required"
    assert not keys.invisible_focus, "focus not visible on: " + ", ".join(dict.fromkeys(keys.invisible_focus))
    assert not errors, "\n".join(errors)
