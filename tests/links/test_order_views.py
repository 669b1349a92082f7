"""Orders pages: staff only (persona tests), filters, CSV export, actions; the public success page."""

from __future__ import annotations

import csv
import io
from unittest import mock

import pytest
from django.urls import reverse

from links import fulfilment
from links.models import Order, OutboundEmail, PaymentLink
from tests.webhooks.stripe_objects import checkout_session, line_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def link():
    return PaymentLink.objects.create(
        stripe_id="plink_test_views", name="Mugs", url="http://example.com/pay/x", currency="eur"
    )


@pytest.fixture
def order(link, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        return fulfilment.order_record_session(
            session=checkout_session(payment_link=link.stripe_id, client_reference_id="ref-7"),
            line_items=[line_item(description="Blue mug")],
            actor="test",
        )


def _pages(order):
    return [
        reverse("orders:list"),
        reverse("orders:detail", args=[order.public_id]),
        reverse("orders:email-list"),
        reverse("orders:export"),
    ]


def test_anonymous_is_sent_to_login(client, order):
    for url in _pages(order):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login"))


def test_non_staff_is_forbidden(client, other_user, order):
    client.force_login(other_user)
    for url in _pages(order):
        assert client.get(url).status_code == 403, url
    for url in _actions(order):
        assert client.post(url).status_code == 403, url


def _actions(order):
    return [
        reverse("orders:fulfil", args=[order.public_id]),
        reverse("orders:refetch", args=[order.public_id]),
        reverse(
            "orders:email-resend", args=[order.public_id, order.emails.get(kind="order_confirmation").id]
        ),
    ]


def test_anonymous_actions_are_sent_to_login(client, order):
    for url in _actions(order):
        response = client.post(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login"))
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_actions_need_post(staff_client, order):
    for url in _actions(order):
        assert staff_client.get(url).status_code == 405, url


def test_staff_sees_every_page(staff_client, order):
    for url in _pages(order):
        assert staff_client.get(url).status_code == 200, url


def test_list_queries_do_not_grow_with_orders(staff_client, order, link):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        response = staff_client.get(reverse("orders:list"))
    assert "bob@example.com" in response.text
    assert "Mugs" in response.text
    for _ in range(5):
        fulfilment.order_record_session(
            session=checkout_session(payment_link=link.stripe_id), line_items=[line_item()], actor="t"
        )
    with CaptureQueriesContext(connection) as six:
        staff_client.get(reverse("orders:list"))
    assert len(six) == len(one)


@pytest.mark.parametrize(
    ("params", "shown"),
    [
        ({"status": "paid"}, True),
        ({"status": "expired"}, False),
        ({"q": "bob@"}, True),
        ({"q": "OB@EXAMPLE.C"}, True),
        ({"q": "ref-7"}, True),
        ({"q": "nobody"}, False),
        ({"date_from": "2000-01-01"}, True),
        ({"date_to": "2000-01-01"}, False),
    ],
)
def test_list_filters(staff_client, order, params, shown):
    response = staff_client.get(reverse("orders:list"), params)
    assert ("bob@example.com" in response.text) is shown


@pytest.mark.parametrize(
    "field",
    ["checkout_session_id", "client_reference_id", "payment_intent_id", "invoice_id", "subscription_id"],
)
def test_list_search_finds_an_order_by_its_stripe_ids(staff_client, order, field):
    Order.objects.filter(pk=order.pk).update(**{field: "xx_searched_id"})
    assert "bob@example.com" in staff_client.get(reverse("orders:list"), {"q": "xx_searched_id"}).text
    assert "bob@example.com" not in staff_client.get(reverse("orders:list"), {"q": "xx_searched"}).text


def test_list_filters_by_link(staff_client, order, link):
    other = PaymentLink.objects.create(
        stripe_id="plink_other", name="Other", url="http://example.com/y", currency="eur"
    )
    assert "bob@example.com" in staff_client.get(reverse("orders:list"), {"link": str(link.public_id)}).text
    assert (
        "bob@example.com" not in staff_client.get(reverse("orders:list"), {"link": str(other.public_id)}).text
    )


def test_htmx_gets_only_the_table(staff_client, order):
    response = staff_client.get(reverse("orders:list"), headers={"HX-Request": "true"})
    assert "<html" not in response.text
    assert 'id="order-table"' in response.text


def test_export_streams_csv(staff_client, order):
    response = staff_client.get(reverse("orders:export"), {"status": "paid"})
    assert response.streaming
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1
    assert rows[0]["checkout_session_id"] == order.checkout_session_id
    assert rows[0]["payment_link"] == "plink_test_views"
    assert rows[0]["amount_total"] == "2000"


def test_export_has_the_promotion_code_and_the_shipping_rate_by_their_names(staff_client, order):
    Order.objects.filter(pk=order.pk).update(
        promotion_code="promo_1", promotion_code_text="SPRING", shipping_rate_name="Express delivery"
    )
    response = staff_client.get(reverse("orders:export"))
    row = next(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert (row["promotion_code"], row["promotion_code_text"]) == ("promo_1", "SPRING")
    assert row["shipping_rate_name"] == "Express delivery"


def test_detail_shows_items_history_and_emails(staff_client, order):
    response = staff_client.get(reverse("orders:detail", args=[order.public_id]))
    assert "Blue mug" in response.text
    assert "Order confirmation" in response.text
    assert "Mark as fulfilled" in response.text


def test_mark_fulfilled(staff_client, order, staff_user):
    response = staff_client.post(reverse("orders:fulfil", args=[order.public_id]))
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert order.status_changes.last().actor == staff_user.username


def test_resend_email(staff_client, order, django_capture_on_commit_callbacks):
    email = order.emails.get(kind=OutboundEmail.Kind.ORDER_CONFIRMATION)
    OutboundEmail.objects.filter(id=email.id).update(status=OutboundEmail.Status.SENT)
    with mock.patch("links.tasks.send_outbound_email.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            url = reverse("orders:email-resend", args=[order.public_id, email.id])
            assert staff_client.post(url).status_code == 302
    delay.assert_called_once_with(email.id)
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.PENDING


def test_refetch_failure_is_reported(staff_client, order, monkeypatch):
    def down(*, session_id):
        raise RuntimeError("no network")

    monkeypatch.setattr(fulfilment, "checkout_session_fetch", down)
    response = staff_client.post(reverse("orders:refetch", args=[order.public_id]), follow=True)
    assert response.status_code == 200
    assert "Stripe could not be reached" in response.text


def test_success_page_is_public_and_settled(client, order):
    response = client.get(reverse("orders:success"), {"session_id": order.checkout_session_id})
    assert response.status_code == 200
    assert "Payment received" in response.text
    assert "hx-trigger" not in response.text


def test_success_page_polls_while_waiting(client, monkeypatch):
    monkeypatch.setattr(fulfilment, "checkout_session_fetch", mock.Mock(side_effect=RuntimeError("late")))
    response = client.get(reverse("orders:success"), {"session_id": "cs_test_not_yet"})
    assert response.status_code == 200
    assert 'hx-trigger="every 2s"' in response.text
    fragment = client.get(
        reverse("orders:success"), {"session_id": "cs_test_not_yet"}, headers={"HX-Request": "true"}
    )
    assert "<html" not in fragment.text
    assert 'id="order-status"' in fragment.text


def test_success_page_fetches_the_session_when_the_webhook_is_late(
    client, monkeypatch, django_capture_on_commit_callbacks
):
    session = checkout_session()
    monkeypatch.setattr(fulfilment, "checkout_session_fetch", lambda *, session_id: (session, [line_item()]))
    with django_capture_on_commit_callbacks():
        response = client.get(reverse("orders:success"), {"session_id": session["id"]})
    assert "Payment received" in response.text
    assert Order.objects.get().checkout_session_id == session["id"]


def test_success_page_waits_without_fetching_while_the_cache_is_down(client, monkeypatch, cache_down):
    # The cache gates the fetches (a public page must not spend our Stripe rate limit): no gate, no fetch.
    fetch = mock.Mock(side_effect=AssertionError("fetched without the gate"))
    monkeypatch.setattr(fulfilment, "checkout_session_fetch", fetch)
    response = client.get(reverse("orders:success"), {"session_id": "cs_test_cache_down"})
    assert response.status_code == 200
    assert 'hx-trigger="every 2s"' in response.text
    fetch.assert_not_called()


def test_success_page_rejects_garbage(client):
    assert client.get(reverse("orders:success"), {"session_id": "../etc"}).status_code == 404


def test_success_url_template(settings):
    settings.PAYLINKS_BASE_URL = "https://shop.example"
    assert (
        fulfilment.order_success_url_template()
        == "https://shop.example/orders/success/?session_id={CHECKOUT_SESSION_ID}"
    )


def test_success_page_stops_polling_after_a_while(client, monkeypatch):
    from links import order_views

    monkeypatch.setattr(fulfilment, "checkout_session_fetch", mock.Mock(side_effect=RuntimeError("late")))
    params = {"session_id": "cs_test_forever", "poll": order_views.SUCCESS_MAX_POLLS}
    response = client.get(reverse("orders:success"), params, headers={"HX-Request": "true"})
    assert "hx-trigger" not in response.text
    assert "longer than usual" in response.text


def test_resend_with_htmx_returns_the_emails_section(staff_client, order, django_capture_on_commit_callbacks):
    email = order.emails.get(kind=OutboundEmail.Kind.ORDER_CONFIRMATION)
    with mock.patch("links.tasks.send_outbound_email.delay"):
        with django_capture_on_commit_callbacks(execute=True):
            response = staff_client.post(
                reverse("orders:email-resend", args=[order.public_id, email.id]),
                headers={"HX-Request": "true"},
            )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'id="order-emails"' in response.text
    assert "will be sent again" in response.text


def test_list_pages(staff_client, link):
    for _ in range(51):
        fulfilment.order_record_session(
            session=checkout_session(payment_link=link.stripe_id), line_items=[line_item()], actor="t"
        )
    response = staff_client.get(reverse("orders:list"), {"status": "paid"})
    assert "Page 1 of 2" in response.text
    assert "status=paid&amp;page=2" in response.text
    assert "Page 2 of 2" in staff_client.get(reverse("orders:list"), {"status": "paid", "page": 2}).text


def test_detail_lists_the_orders_events(staff_client, order):
    from webhooks.models import WebhookEvent

    WebhookEvent.objects.create(
        stripe_event_id="evt_for_order",
        type="checkout.session.completed",
        created=1,
        payload={},
        object_id=order.checkout_session_id,
    )
    WebhookEvent.objects.create(
        stripe_event_id="evt_other", type="product.updated", created=1, payload={}, object_id="prod_1"
    )
    response = staff_client.get(reverse("orders:detail", args=[order.public_id]))
    assert "evt_for_order" in response.text
    assert "evt_other" not in response.text


def test_link_filter_offers_the_newest_links_and_the_selected_one(staff_client):
    from links.forms import LINK_FILTER_CHOICES
    from tests.links.factories import PaymentLinkFactory

    oldest = PaymentLinkFactory(name="Oldest link")
    newer = [PaymentLinkFactory() for _ in range(LINK_FILTER_CHOICES)]

    unfiltered = staff_client.get(reverse("orders:list")).context["links"]
    filtered = staff_client.get(reverse("orders:list"), {"link": str(oldest.public_id)}).context["links"]

    assert len(unfiltered) == LINK_FILTER_CHOICES and oldest not in unfiltered
    assert oldest in filtered and set(newer) <= set(filtered)


@pytest.mark.parametrize(
    ("query", "exact"),
    [("BOB@example.com", True), ("ob@example.com", False), ("example.com", False)],
)
def test_search_by_a_whole_address_is_exact_and_by_part_of_one_a_substring(staff_client, order, query, exact):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(reverse("orders:list"), {"q": query})
    # Part of an address, even one shaped like an address, still finds bob@example.com.
    assert "bob@example.com" in response.text
    # A substring search is a LIKE '%…%' pattern; the exact one has no wildcard.
    substring = any(f"%{query}%".lower() in q["sql"].lower() for q in queries.captured_queries)
    assert substring is not exact


def test_order_search_counts_up_to_the_search_cap(staff_client, link, monkeypatch):
    monkeypatch.setattr("links.order_views.SEARCH_COUNT_CAP", 3)
    monkeypatch.setattr("links.order_views.ORDERS_PER_PAGE", 2)
    for _ in range(5):
        fulfilment.order_record_session(
            session=checkout_session(
                payment_link=link.stripe_id, customer_details={"email": "ann@shop.test"}
            ),
            line_items=[line_item()],
            actor="t",
        )
    assert "Page 1 of more than 2" in staff_client.get(reverse("orders:list"), {"q": "shop.test"}).text
    assert "Page 1 of 3" in staff_client.get(reverse("orders:list")).text


# THE ORDER PAGE IN THE MERCHANT'S WORDS -------------------------------------------------------------

LONG_SESSION_ID = "cs_test_a11YYufWQzNY63zpQ6QSNRQhkUpVph4WRmzW0zWJO2znZKdVujZ0N0S22u"


def _record(django_capture_on_commit_callbacks, session, items=None):
    with django_capture_on_commit_callbacks():
        return fulfilment.order_record_session(
            session=session, line_items=items or [line_item(description="Blue mug")], actor="test"
        )


def _page(staff_client, order, language="en"):
    response = staff_client.get(
        reverse("orders:detail", args=[order.public_id]), headers={"Accept-Language": language}
    )
    assert response.status_code == 200
    return response.text


def _amounts_table(html: str) -> tuple[list[int], dict[str, int]]:
    """The items' amounts and the footer's rows (label → minor units) of the order page's table."""
    import re

    table = html[html.index('id="order-amounts"') : html.index("</table>", html.index('id="order-amounts"'))]
    body, foot = table.split("<tfoot>")

    def cents(text: str) -> int:
        return int(re.sub(r"[^\d]", "", text))

    lines = [cents(m) for m in re.findall(r'data-label="Amount" class="amount">([^<]+)<', body)]
    rows = {
        re.sub(r"<[^>]+>|\s+", " ", label).split("(")[0].strip(): cents(amount)
        for label, amount in re.findall(r'<th scope="row"[^>]*>(.*?)</th><td class="amount">(.*?)</td>', foot)
    }
    return lines, rows


def _copy_button_name(html: str, value: str) -> str:
    """The accessible name of the copy button of ``value``: the texts its aria-labelledby names."""
    import re

    button = re.search(rf'<button [^>]*data-copy="{re.escape(value)}"[^>]*>', html).group(0)
    names = re.search(r'aria-labelledby="([^"]+)"', button).group(1).split()

    def text(element_id: str) -> str:
        return re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html).group(1)

    return " ".join(text(element_id) for element_id in names)


def test_promotion_code_and_shipping_rate_by_their_names_with_their_ids_to_copy(
    staff_client, django_capture_on_commit_callbacks
):
    order = _record(
        django_capture_on_commit_callbacks,
        checkout_session(
            id=LONG_SESSION_ID,
            amount_subtotal=5000,
            amount_total=5000 - 500 + 700,
            total_details={"amount_discount": 500, "amount_shipping": 700, "amount_tax": 0},
            discounts=[
                {"coupon": "c1", "promotion_code": {"id": "promo_1Q2w3E4r5T6y7U8i", "code": "SPRING"}}
            ],
            shipping_cost={
                "amount_total": 700,
                "shipping_rate": {"id": "shr_1Q2w3E4r5T6y7U8i9O0p", "display_name": "Express delivery"},
            },
        ),
        [line_item(amount_subtotal=5000, amount_total=4500, amount_discount=500)],
    )
    html = _page(staff_client, order)
    assert "<strong>SPRING</strong>" in html
    assert "<strong>Express delivery</strong>" in html
    # Each id shortened on the page, whole in its copy button, the button named for what it copies.
    for value, label in [
        ("promo_1Q2w3E4r5T6y7U8i", "Promotion code"),
        ("shr_1Q2w3E4r5T6y7U8i9O0p", "Shipping rate"),
        (LONG_SESSION_ID, "Checkout session"),
    ]:
        assert f'data-copy="{value}"' in html
        assert _copy_button_name(html, value) == f"Copy {label}"
    assert f">{LONG_SESSION_ID}<" not in html
    assert ">cs_test_a11YYu…S22u</code>" in html
    # The discount and the shipping in the totals say which code and which rate.
    _, rows = _amounts_table(html)
    assert rows == {"Subtotal": 5000, "Discount": 500, "Shipping": 700, "Total": 5200}
    assert 'Discount <small class="muted">(SPRING)</small>' in html
    assert 'Shipping <small class="muted">(Express delivery)</small>' in html


def test_names_of_an_order_recorded_before_they_were_kept_come_from_the_catalog(
    staff_client, order, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from catalog.models import Coupon, PromotionCode, ShippingRate

    coupon = Coupon.objects.create(stripe_id="welcome10", percent_off=10)
    code = PromotionCode.objects.create(stripe_id="promo_welcome", coupon=coupon, code="WELCOME")
    rate = ShippingRate.objects.create(
        stripe_id="shr_pickup", display_name="Pick-up in store", amount=0, currency="eur"
    )
    with CaptureQueriesContext(connection) as without_names:
        _page(staff_client, order)
    Order.objects.filter(pk=order.pk).update(promotion_code=code.stripe_id, shipping_rate_id=rate.stripe_id)
    with CaptureQueriesContext(connection) as with_names:
        html = _page(staff_client, order)
    assert "<strong>WELCOME</strong>" in html
    assert "<strong>Pick-up in store</strong>" in html
    assert len(with_names) == len(without_names) + 2  # one look-up each, and never the API

    # Unknown to the catalog too (made in Stripe's Dashboard, not mirrored): the id, still copyable.
    Order.objects.filter(pk=order.pk).update(promotion_code="promo_unknown_to_us")
    html = _page(staff_client, order)
    assert 'data-copy="promo_unknown_to_us"' in html
    assert "<strong>WELCOME</strong>" not in html


def _badges(html: str) -> tuple[str, str]:
    import re

    def badge(element_id: str) -> str:
        found = re.search(rf'id="{element_id}">([^<]+)<span class="badge badge-(\w+)">([^<]+)</span>', html)
        return f"{found.group(1).strip()}: {found.group(3)} ({found.group(2)})"

    return badge("payment-state"), badge("fulfilment-state")


@pytest.mark.parametrize(
    ("session", "after", "payment", "fulfilment_badge"),
    [
        ({}, None, "Payment: Paid (paid)", "Fulfilment: To fulfil (to_fulfil)"),
        ({}, "fulfil", "Payment: Paid (paid)", "Fulfilment: Fulfilled (fulfilled)"),
        (
            {"payment_status": "no_payment_required", "amount_total": 0},
            None,
            "Payment: No payment required (no_payment_required)",
            "Fulfilment: To fulfil (to_fulfil)",
        ),
        (
            {"payment_status": "unpaid"},
            None,
            "Payment: Awaiting payment (awaiting_payment)",
            "Fulfilment: Not fulfilled (unfulfilled)",
        ),
        (
            {"payment_status": "unpaid", "payment_intent": {"id": "pi_1", "status": "requires_capture"}},
            None,
            "Payment: Authorised (requires_capture)",
            "Fulfilment: Not fulfilled (unfulfilled)",
        ),
        (
            {"payment_status": "unpaid"},
            "expire",
            "Payment: Expired (expired)",
            "Fulfilment: Not fulfilled (unfulfilled)",
        ),
    ],
)
def test_payment_and_fulfilment_as_labelled_badges(
    staff_client, django_capture_on_commit_callbacks, session, after, payment, fulfilment_badge
):
    order = _record(django_capture_on_commit_callbacks, checkout_session(**session))
    if after == "fulfil":
        fulfilment.order_mark_fulfilled(order=order, actor="alice")
    elif after == "expire":
        fulfilment.order_status_change(order=order, to_status=Order.Status.EXPIRED, actor="t")
    html = _page(staff_client, order)
    assert _badges(html) == (payment, fulfilment_badge)
    # Stripe's raw value is not on the page any more.
    assert ">no_payment_required<" not in html and ">unpaid<" not in html


def test_badges_are_labelled_in_french(staff_client, order):
    fulfilment.order_mark_fulfilled(order=order, actor="alice")
    payment, fulfilment_state = _badges(_page(staff_client, order, "fr"))
    assert payment == "Paiement: Payée (paid)"
    assert fulfilment_state.endswith(": Traitée (fulfilled)")


@pytest.mark.parametrize(
    ("prices", "line", "totals", "tax_row", "note"),
    [
        # 8 % added to prices that exclude tax: 50.00 + 4.00 = 54.00; the line shows 50.00, as the subtotal.
        (
            "exclusive",
            {"amount_subtotal": 5000, "amount_tax": 400, "amount_total": 5400},
            {"amount_subtotal": 5000, "amount_total": 5400, "amount_tax": 400},
            ("Tax", 400),
            "Prices exclude tax: the tax is added to the total.",
        ),
        # 20 % already in a 50.00 price: 8.33 of it is tax; nothing is added.
        (
            "inclusive",
            {"amount_subtotal": 5000, "amount_tax": 833, "amount_total": 5000},
            {"amount_subtotal": 5000, "amount_total": 5000, "amount_tax": 833},
            ("Including tax", 833),
            "Prices include tax: the total already contains it.",
        ),
    ],
)
def test_amounts_add_up_and_say_whether_prices_include_tax(
    staff_client, django_capture_on_commit_callbacks, prices, line, totals, tax_row, note
):
    session = checkout_session(
        amount_subtotal=totals["amount_subtotal"],
        amount_total=totals["amount_total"] + 500,
        total_details={"amount_discount": 0, "amount_shipping": 500, "amount_tax": totals["amount_tax"]},
        shipping_cost={"amount_total": 500, "shipping_rate": "shr_1"},
    )
    order = _record(django_capture_on_commit_callbacks, session, [line_item(**line)])
    html = _page(staff_client, order)
    lines, rows = _amounts_table(html)
    assert sum(lines) == rows["Subtotal"] == 5000
    assert rows[tax_row[0]] == tax_row[1]
    added = rows.get("Tax", 0)
    assert rows["Subtotal"] - rows.get("Discount", 0) + rows["Shipping"] + added == rows["Total"]
    assert ("Including tax" in rows) is (prices == "inclusive")
    assert f'<p id="tax-note" class="muted">{note}</p>' in html
    # No tax per line: one column of amounts, before tax.
    assert "5400" not in str(lines)


def test_no_tax_note_without_tax(staff_client, order):
    html = _page(staff_client, order)
    assert 'id="tax-note"' not in html
    lines, rows = _amounts_table(html)
    assert sum(lines) == rows["Subtotal"] == rows["Total"]


@pytest.mark.parametrize(
    ("key", "url"),
    [
        ("sk_test_123", "https://dashboard.stripe.com/test/payments/pi_live_or_test"),
        ("sk_live_123", "https://dashboard.stripe.com/payments/pi_live_or_test"),
        ("rk_live_123", "https://dashboard.stripe.com/payments/pi_live_or_test"),
    ],
)
def test_a_link_to_the_payment_in_stripes_dashboard_against_stripe(staff_client, order, settings, key, url):
    Order.objects.filter(pk=order.pk).update(payment_intent_id="pi_live_or_test", customer_id="cus_42")
    settings.STRIPE_SECRET_KEY = key
    settings.STRIPE_SANDBOX_MODE = False
    html = _page(staff_client, order)
    assert f'id="stripe-dashboard" href="{url}"' in html
    customer = url.replace("payments/pi_live_or_test", "customers/cus_42")
    assert f'href="{customer}"' in html


def test_a_session_without_a_payment_links_to_the_session(staff_client, order, settings):
    Order.objects.filter(pk=order.pk).update(payment_intent_id="")
    settings.STRIPE_SECRET_KEY = "sk_test_123"
    settings.STRIPE_SANDBOX_MODE = False
    html = _page(staff_client, order)
    expected = f"https://dashboard.stripe.com/test/checkout/sessions/{order.checkout_session_id}"
    assert f'id="stripe-dashboard" href="{expected}"' in html


def test_no_stripe_dashboard_link_in_sandbox_mode(staff_client, order, settings):
    assert settings.STRIPE_SANDBOX_MODE
    html = _page(staff_client, order)
    assert "dashboard.stripe.com" not in html
    assert "View in Stripe" not in html


@pytest.mark.parametrize(
    ("language", "zone", "shown"),
    [
        ("en", "UTC", "Dec. 7, 2026, 10:44 p.m."),
        ("fr", "UTC", "7 décembre 2026 22:44"),
        ("fr", "Europe/Paris", "7 décembre 2026 23:44"),
    ],
)
def test_every_date_on_the_order_page_in_one_format(staff_client, order, settings, language, zone, shown):
    import re
    from datetime import UTC, datetime

    from links.models import OrderStatusChange

    settings.TIME_ZONE = zone
    moment = datetime(2026, 12, 7, 22, 44, 5, tzinfo=UTC)
    Order.objects.filter(pk=order.pk).update(created_at=moment, paid_at=moment, fulfilled_at=moment)
    OrderStatusChange.objects.filter(order=order).update(at=moment)
    order.emails.update(sent_at=moment, status=OutboundEmail.Status.SENT)
    html = _page(staff_client, order, language)
    shown_dates = re.findall(r"<time datetime=\"[^\"]+\"[^>]*>([^<]+)</time>", html)
    # Created, paid, fulfilled, the e-mail's sending and the history: all alike, in the shop's time zone.
    assert len(shown_dates) >= 5
    assert set(shown_dates) == {shown}
    # No second style beside it (SHORT_DATETIME_FORMAT's 12/07/2026 or 07/12/2026).
    assert not re.search(r"\b\d\d/\d\d/\d{4}\b", html)


def test_history_starts_with_the_status_the_order_was_recorded_in(staff_client, order):
    import re

    assert fulfilment.order_mark_fulfilled(order=order, actor="alice")
    html = _page(staff_client, order)
    history = html[html.index(">History</h2>") :]
    steps = [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", item)).strip()
        for item in re.findall(r"<li>(.*?)</li>", history[: history.index("</ol>")], re.S)
    ]
    # The first change has no status before it: "Paid", not "— → Paid".
    assert [step.split(" · ", 1)[1] for step in steps] == ["Paid (test)", "Paid → Fulfilled (alice)"]


def test_a_line_of_several_units_says_each_units_amount(staff_client, django_capture_on_commit_callbacks):
    session = checkout_session(amount_subtotal=5000 + 1000, amount_total=6000)
    order = _record(
        django_capture_on_commit_callbacks,
        session,
        # Two mugs at one price, and three units of a tiered price whose units differ.
        [
            line_item(description="Blue mug", quantity=2, amount_subtotal=5000, amount_total=5000),
            line_item(description="Stickers", quantity=3, amount_subtotal=1000, amount_total=1000),
        ],
    )
    html = _page(staff_client, order)
    assert 'data-label="Quantity" class="amount">2 × 25.00 EUR</td>' in html
    assert 'data-label="Quantity" class="amount">3</td>' in html
    assert sum(_amounts_table(html)[0]) == 6000
