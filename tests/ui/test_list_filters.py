"""A list's filter bar and sortable headers in a real browser (issue 26, part 4): typing a search or picking a
filter re-renders the table with htmx and keeps the sort in the address; a header reverses the sort and keeps
the filters; on a phone, where the headers are hidden, the Sort by select sorts."""

from __future__ import annotations

import re

import pytest

from tests.links.factories import OrderFactory, PaymentLinkFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.locator("#id_username").fill("alice")
    page.locator("#id_password").fill("correct-horse-battery")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base_url}/")


def _emails(page) -> list[str]:
    return page.locator("#order-table tbody td[data-label=Customer]").all_inner_texts()


def _page(browser, viewport: dict):
    context = browser.new_context(viewport=viewport, locale="en-GB")
    # Generous: the machine running the suite may be busy, and a slow first page is not what is tested.
    context.set_default_timeout(30_000)
    return context, context.new_page()


def test_filters_and_sort_keep_each_other(live_server, staff_user, browser):
    context, page = _page(browser, {"width": 1280, "height": 900})
    link = PaymentLinkFactory(name="Posters")
    for total, email in [(3000, "cy@shop.test"), (1000, "ann@shop.test"), (2000, "bob@other.test")]:
        OrderFactory(payment_link=link, amount_total=total, customer_email=email)
    _log_in(page, live_server.url)

    page.goto(f"{live_server.url}/orders/?sort=total")
    assert _emails(page) == ["ann@shop.test", "bob@other.test", "cy@shop.test"]
    assert page.locator("th", has_text="Total").get_attribute("aria-sort") == "ascending"

    # A search typed in: htmx swaps the table and pushes the address, with the sort still in it.
    page.get_by_label("Search").fill("shop.test")
    page.wait_for_url(re.compile(r"q=shop\.test"))
    assert "sort=total" in page.url
    page.wait_for_function("document.querySelectorAll('#order-table tbody tr').length === 2")
    assert _emails(page) == ["ann@shop.test", "cy@shop.test"]

    # The header reverses the sort and keeps the search.
    page.locator("th", has_text="Total").get_by_role("link").click()
    page.wait_for_url(re.compile(r"sort=-total"))
    assert "q=shop.test" in page.url
    assert _emails(page) == ["cy@shop.test", "ann@shop.test"]
    assert page.locator("th", has_text="Total").get_attribute("aria-sort") == "descending"

    # A filter that matches nothing says so, keeps the sort, and Clear starts again.
    page.get_by_label("Status").select_option("expired")
    page.wait_for_url(re.compile(r"status=expired"))
    assert "sort=-total" in page.url
    page.get_by_text("No order matches these filters.").wait_for()
    page.get_by_role("link", name="Clear", exact=True).click()
    page.wait_for_url(f"{live_server.url}/orders/")
    assert len(_emails(page)) == 3
    context.close()


def test_on_a_phone_the_sort_select_sorts(live_server, staff_user, browser):
    for n in range(3):
        PaymentLinkFactory(name=f"Link {'cab'[n]}")
    context, page = _page(browser, {"width": 390, "height": 844})
    _log_in(page, live_server.url)
    page.goto(f"{live_server.url}/links/")
    page.get_by_label("Sort by").select_option("name")
    page.wait_for_url(re.compile(r"sort=name"))
    page.wait_for_function(
        "document.querySelector('#link-table tbody td[data-label=Name] a').textContent === 'Link a'"
    )
    names = page.locator("#link-table tbody td[data-label=Name] a").all_inner_texts()
    assert names == ["Link a", "Link b", "Link c"]
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1]
    context.close()
