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
    from links.order_views import LINK_FILTER_CHOICES
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
