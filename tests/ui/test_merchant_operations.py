"""Issue 27's pieces together in a real browser (part 6): an editor refunds half of an order and then the
rest, and captures a manual-capture order of the same customer for less than authorised, through the order
page's panels; after each step the home page's overview (its period total and the chart's table) and the
customer's page show the new figures, read as numbers. Stripe's events for each step then reach the app's
endpoint and are processed, as a worker does, and change nothing. A viewer sees the same orders without a
single action button, and a POST of their own to the refund and capture addresses is refused.

On a laptop and on a phone: every page visited fits the screen and axe finds nothing serious on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.roles import staff_role_set
from links.models import Order, OrderStatusChange, Refund
from sandbox import delivery
from tests.catalog.factories import PriceFactory
from tests.links.payments import paid_order
from tests.links.test_capture import authorised_order
from tests.ui.axe import axe_violations
from tests.ui.conftest import SCREENSHOTS
from webhooks.endpoints import webhook_endpoint_register
from webhooks.models import WebhookEvent
from webhooks.tasks import process_webhook_event

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}
EMAIL = "ada@example.com"  # authorised_order's customer: both orders are hers
ACTIONS = ("Refund…", "Capture…", "Cancel the authorisation…", "Mark as fulfilled")
# The chart's text alternative as numbers: each day's cells, the days with something in them.
TABLE_DAYS = """() => [...document.querySelectorAll("#revenue details.revenue-table tbody tr")]
  .map((row) => [...row.querySelectorAll("td")].map((cell) => cell.textContent.trim()))
  .filter((cells) => cells.slice(1).some((cell) => !/^0(\\.00)?( EUR)?$/.test(cell)))"""


def _log_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base_url}/")


class Visit:
    """One person's pages at one screen size: each page visited is checked (it fits, axe-clean) and saved."""

    def __init__(self, page, *, base_url: str, folder: Path, name: str):
        self.page, self.base_url, self.folder, self.name = page, base_url, folder, name

    def checked(self, where: str) -> None:
        width = self.page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"{where}: {width[0]} px wide on a {width[1]} px screen"
        assert axe_violations(self.page, where=f"{where} {self.name}") == []
        self.page.screenshot(path=str(self.folder / f"{where}-{self.name}.png"), full_page=True)

    def open(self, path: str, *, where: str) -> None:
        self.page.goto(f"{self.base_url}{path}")
        self.page.wait_for_load_state("load")
        self.checked(where)

    def order(self, order: Order, *, where: str) -> None:
        self.open(f"/orders/{order.public_id}/", where=where)

    def overview(self, *, where: str) -> dict:
        """The home page's revenue of the last 30 days: its total line and its table's non-empty days."""
        self.open("/", where=where)
        revenue = self.page.locator("#revenue")
        return {
            "total": revenue.locator(".revenue-total strong").inner_text(),
            "line": " ".join(revenue.locator(".revenue-total").inner_text().split()),
            # Day, received, refunded, net, orders; without the day (the shop's today, or yesterday
            # for a run across midnight: the sums are what the test knows).
            "days": [cells[1:] for cells in self.page.evaluate(TABLE_DAYS)],
        }

    def customer(self, *, where: str) -> dict:
        """The customer's page, reached from the order page's link: their totals and their orders."""
        self.page.locator("#customer-link").click()
        self.page.wait_for_url("**/customers/*/")
        self.checked(where)
        totals = self.page.locator("#customer-totals")
        rows = self.page.locator("#customer-orders tbody tr")
        return {
            "paid orders": totals.locator("dt:text-is('Paid orders') + dd").inner_text(),
            "total spent": " ".join(totals.locator("dt:text-is('Total spent') + dd").inner_text().split()),
            # Each order's link and its states' badges (paid, authorised, refunded…), as the orders list's.
            "orders": sorted(
                (
                    row.locator("td").nth(1).inner_text(),
                    row.locator("td")
                    .nth(2)
                    .locator(".badge")
                    .evaluate_all(
                        "(badges) => badges.map((badge) => badge.className.replace('badge badge-', ''))"
                    ),
                )
                for row in rows.all()
            ),
        }


def _events_processed(stripe_client) -> None:
    """The sandbox's events so far delivered to the app's endpoint, and those it stored processed, as a
    worker would: the dashboard recorded each step from Stripe's answer already, so they change nothing."""
    for event in stripe_client.v1.events.list(params={"limit": 100}).data:
        delivery.deliver_now(event_id=event.id)
    for event_id in WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING).values_list(
        "pk", flat=True
    ):
        process_webhook_event(event_id)
    assert not WebhookEvent.objects.exclude(status=WebhookEvent.Status.PROCESSED).exists()


def _refund(visit: Visit, *, amount: str | None, shown: str, where: str) -> None:
    """ "Refund…", the amount (or what remains, prefilled), Continue, then "Refund <shown>": each step
    swapped in place by htmx, the last one a whole new page."""
    page = visit.page
    page.get_by_role("button", name="Refund…").click()
    field = page.locator("#order-refund").get_by_label("Amount", exact=False)
    field.wait_for()
    if amount is not None:
        field.fill(amount)
    page.get_by_role("button", name="Continue").click()
    yes = page.get_by_role("button", name=f"Refund {shown}")
    yes.wait_for()
    visit.checked(f"{where}-confirm")
    yes.click()


def _history(page) -> list[str]:
    """The order's history entries, what happened and who did it (the time aside)."""
    entries = page.locator("#order-history li").all_inner_texts()
    return [" ".join(entry.split()).split(" · ", 1)[1] for entry in entries]


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1280", "390"])
def test_an_editor_refunds_and_captures_and_the_figures_follow(
    sandbox, settings, stripe_client, staff_user, django_user_model, browser, viewport
):
    PriceFactory(currency="eur")  # the shop's currency, the overview's first
    settings.STRIPE_WEBHOOK_SECRETS = []
    webhook_endpoint_register(url=f"{sandbox.base_url}/webhooks/stripe/")
    staff_role_set(user=staff_user, role="Editors")
    books = paid_order(sandbox, stripe_client, email=EMAIL)  # 2 × 9.00 EUR, paid
    lamp = authorised_order(sandbox, stripe_client)  # 40.00 EUR authorised, not captured
    assert (books.customer_email, lamp.customer_email) == (EMAIL, EMAIL)
    _events_processed(stripe_client)

    folder = SCREENSHOTS / "merchant-operations"
    folder.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=viewport, locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    _log_in(page, sandbox.base_url, "alice", "correct-horse-battery")
    editor = Visit(page, base_url=sandbox.base_url, folder=folder, name=f"editor-{viewport['width']}")

    # Before: only the paid order is revenue; the authorisation is money not taken yet.
    assert editor.overview(where="1-overview-before") == {
        "total": "18.00 EUR",
        "line": "18.00 EUR net of refunds, from 1 paid order",
        "days": [["18.00 EUR", "0.00 EUR", "18.00 EUR", "1"]],
    }
    editor.order(books, where="1-books-before")
    assert editor.customer(where="1-customer-before") == {
        "paid orders": "1",
        "total spent": "18.00 EUR 1 order",
        "orders": [("Books", ["paid"]), ("Lamps", ["requires_capture"])],
    }

    # Half of the books refunded.
    editor.order(books, where="2-books")
    _refund(editor, amount="9.00", shown="9.00 EUR", where="2-refund-half")
    page.locator("#payment-state .badge-partially_refunded").wait_for()
    editor.checked("2-books-partially-refunded")
    assert page.locator("#payment-state").inner_text().split() == ["Payment", "Partially", "refunded"]
    assert page.locator("#refund-amounts").inner_text().split() == [
        "Refunded",
        "9.00",
        "EUR",
        "Net",
        "9.00",
        "EUR",
    ]
    history = _history(page)
    assert [entry for entry in history if entry.startswith("Refund")] == ["Refunded 9.00 EUR (alice)"]
    _events_processed(stripe_client)
    assert editor.overview(where="2-overview-half-refunded") == {
        "total": "9.00 EUR",
        "line": "9.00 EUR net of refunds, from 1 paid order (9.00 EUR refunded)",
        "days": [["18.00 EUR", "9.00 EUR", "9.00 EUR", "1"]],
    }
    editor.order(books, where="2-books-again")
    assert _history(page) == history  # the refund's events added nothing
    after_half = editor.customer(where="2-customer-half-refunded")
    assert (after_half["total spent"], after_half["orders"][0]) == (
        "9.00 EUR 1 order",
        ("Books", ["paid", "partially_refunded"]),
    )

    # The rest: the amount is prefilled with what remains.
    editor.order(books, where="3-books")
    _refund(editor, amount=None, shown="9.00 EUR", where="3-refund-rest")
    page.locator("#payment-state .badge-refunded").wait_for()
    editor.checked("3-books-refunded")
    assert page.locator("#refund-amounts").inner_text().split() == [
        "Refunded",
        "18.00",
        "EUR",
        "Net",
        "0.00",
        "EUR",
    ]
    assert page.locator("#refund-list tbody tr").count() == 2
    assert page.locator("#payment-state").inner_text().split() == ["Payment", "Refunded"]
    history = _history(page)
    assert [entry for entry in history if entry.startswith("Refund")] == ["Refunded 9.00 EUR (alice)"] * 2
    assert page.get_by_role("button", name="Refund…").count() == 0  # nothing left to refund
    _events_processed(stripe_client)
    assert editor.overview(where="3-overview-refunded") == {
        "total": "0.00 EUR",
        "line": "0.00 EUR net of refunds, from 1 paid order (18.00 EUR refunded)",
        "days": [["18.00 EUR", "18.00 EUR", "0.00 EUR", "1"]],
    }
    editor.order(books, where="3-books-again")
    assert _history(page) == history
    after_refunds = editor.customer(where="3-customer-refunded")
    assert after_refunds == {
        "paid orders": "1",
        "total spent": "0.00 EUR 1 order",
        "orders": [("Books", ["paid", "refunded"]), ("Lamps", ["requires_capture"])],
    }

    # The lamp captured for 25.00 of the 40.00 EUR authorised.
    editor.order(lamp, where="4-lamp-authorised")
    assert page.locator("#capture-state .badge-requires_capture").is_visible()
    page.get_by_role("button", name="Capture…").click()
    amount = page.locator("#order-capture").get_by_label("Amount", exact=False)
    amount.wait_for()
    assert amount.input_value() == "40.00"
    amount.fill("25.00")
    page.get_by_role("button", name="Continue").click()
    yes = page.get_by_role("button", name="Yes, capture 25.00 EUR")
    yes.wait_for()
    editor.checked("4-capture-confirm")
    yes.click()
    page.locator("#capture-state .badge-captured").wait_for()
    editor.checked("4-lamp-captured")
    assert " ".join(page.locator("#capture-state").inner_text().split()) == (
        "Captured 25.00 EUR of 40.00 EUR: the rest was released to the customer."
    )
    assert page.locator("#payment-state .badge-paid").is_visible()
    history = _history(page)
    assert history[-2:] == ["Awaiting payment → Paid (alice)", "Captured 25.00 EUR (alice)"]
    _events_processed(stripe_client)
    assert editor.overview(where="4-overview-captured") == {
        "total": "25.00 EUR",
        "line": "25.00 EUR net of refunds, from 2 paid orders (18.00 EUR refunded)",
        "days": [["43.00 EUR", "18.00 EUR", "25.00 EUR", "2"]],
    }
    editor.order(lamp, where="4-lamp-again")
    assert _history(page) == history  # charge.captured and payment_intent.succeeded added nothing
    assert editor.customer(where="4-customer-captured") == {
        "paid orders": "2",
        "total spent": "25.00 EUR 2 orders",
        "orders": [("Books", ["paid", "refunded"]), ("Lamps", ["paid"])],
    }
    context.close()

    # What the pages showed is what was recorded, once, by the editor.
    books.refresh_from_db()
    lamp.refresh_from_db()
    assert (books.amount_refunded, lamp.amount_received, lamp.status) == (1800, 2500, Order.Status.PAID)
    assert sorted(Refund.objects.values_list("amount", flat=True)) == [900, 900]
    # The events for each step did arrive (and were processed above, changing nothing).
    received = set(WebhookEvent.objects.values_list("type", flat=True))
    assert {"charge.refunded", "refund.created", "charge.captured", "payment_intent.succeeded"} <= received
    Action = OrderStatusChange.Action
    assert list(
        OrderStatusChange.objects.filter(action__in=[Action.REFUND, Action.CAPTURE])
        .order_by("id")
        .values_list("action", "amount", "actor")
    ) == [(Action.REFUND, 900, "alice"), (Action.REFUND, 900, "alice"), (Action.CAPTURE, 2500, "alice")]

    # A viewer: the same two orders, not one action button; a POST of their own is refused.
    viewer = django_user_model.objects.create_user(
        username="victor", password="x-long-password-1", is_staff=True
    )
    staff_role_set(user=viewer, role="Viewers")
    context = browser.new_context(viewport=viewport, locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    _log_in(page, sandbox.base_url, "victor", "x-long-password-1")
    reader = Visit(page, base_url=sandbox.base_url, folder=folder, name=f"viewer-{viewport['width']}")
    for order, where in ((books, "5-viewer-books"), (lamp, "5-viewer-lamp")):
        reader.order(order, where=where)
        assert page.locator("#order-refund").is_visible()
        for name in ACTIONS:
            assert page.get_by_role("button", name=name).count() == 0, f"{where}: {name}"
    token = page.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    refused = {
        "refund": page.request.post(
            f"{sandbox.base_url}/orders/{books.public_id}/refund/",
            form={"csrfmiddlewaretoken": token, "amount": "1.00", "reason": "", "confirm": "on"},
            max_redirects=0,
        ),
        "capture": page.request.post(
            f"{sandbox.base_url}/orders/{lamp.public_id}/capture/",
            form={"csrfmiddlewaretoken": token, "amount": "1.00", "confirm": "True"},
            max_redirects=0,
        ),
    }
    context.close()
    assert {action: response.status for action, response in refused.items()} == {
        "refund": 403,
        "capture": 403,
    }
    assert Refund.objects.count() == 2
    assert OrderStatusChange.objects.filter(actor="victor").count() == 0
