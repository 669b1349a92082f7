"""An order captured for less than authorised, or refunded in full, reads the same wherever a row shows it
(the order page, the orders list, the link's payments, the customer's orders, the CSV): the amount it
received, not the amount authorised, and its refund badge beside its status."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from links.customers import customers_rebuild
from links.emails import outbound_email_message, outbound_email_queue
from links.models import Customer, Dispute, Order, OutboundEmail
from tests.links.factories import OrderFactory, PaymentLinkFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def link():
    return PaymentLinkFactory(name="Pottery class", currency="eur")


@pytest.fixture
def captured_for_less(link):
    return OrderFactory(
        payment_link=link,
        customer_email="less@example.com",
        currency="eur",
        status=Order.Status.PAID,
        paid_at=timezone.now(),
        capture_method="manual",
        payment_intent_status="succeeded",
        amount_total=4000,
        amount_received=2500,
    )


@pytest.fixture
def refunded_in_full(link):
    return OrderFactory(
        payment_link=link,
        customer_email="full@example.com",
        currency="eur",
        status=Order.Status.PAID,
        paid_at=timezone.now(),
        amount_total=3100,
        amount_refunded=3100,
    )


def _row(page: str, email: str) -> str:
    rows = [row for row in re.findall(r"<tr>.*?</tr>", page, flags=re.S) if email in row]
    assert len(rows) == 1, email
    return rows[0]


def test_the_order_page_heads_with_what_was_captured(staff_client, captured_for_less):
    page = staff_client.get(reverse("orders:detail", args=[captured_for_less.public_id])).content.decode()
    heading = re.search(r"<h1>(.*?)</h1>", page).group(1)
    assert "25.00" in heading and "40.00" not in heading


def test_the_orders_list_shows_what_was_captured(staff_client, captured_for_less, refunded_in_full):
    page = staff_client.get("/orders/").content.decode()
    row = _row(page, "less@example.com")
    assert "25.00" in row.split('class="amount"')[1] and "40.00" not in row  # its checkbox's label too
    assert "Refunded" in _row(page, "full@example.com")


def test_the_link_page_shows_what_was_captured_and_the_refund(
    staff_client, link, captured_for_less, refunded_in_full
):
    page = staff_client.get(reverse("links:detail", args=[link.public_id])).content.decode()
    row = _row(page, "less@example.com")
    assert "25.00" in row and "40.00" not in row
    assert "Refunded" in _row(page, "full@example.com")


def test_the_customer_page_shows_what_was_captured_and_the_refund(
    staff_client, captured_for_less, refunded_in_full
):
    customers_rebuild()
    less = Customer.objects.get(email_key="LESS@EXAMPLE.COM")
    page = staff_client.get(reverse("customers:detail", args=[less.id])).content.decode()
    amounts = [row.split('class="amount"')[1] for row in re.findall(r"<tr>.*?</tr>", page, flags=re.S)]
    assert amounts and all("40.00" not in cell for cell in amounts)
    assert any("25.00" in cell for cell in amounts)
    full = Customer.objects.get(email_key="FULL@EXAMPLE.COM")
    page = staff_client.get(reverse("customers:detail", args=[full.id])).content.decode()
    assert "Refunded" in page.split("<tbody>")[-1]


def test_the_export_has_what_was_captured(staff_client, captured_for_less):
    response = staff_client.get("/orders/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [(row["amount_total"], row["amount_paid"]) for row in rows] == [("4000", "2500")]


@pytest.mark.parametrize(
    "kind",
    [
        OutboundEmail.Kind.ORDER_CONFIRMATION,
        OutboundEmail.Kind.STAFF_NOTIFICATION,
        OutboundEmail.Kind.DISPUTE_OPENED,
    ],
)
def test_the_emails_say_what_was_charged(captured_for_less, kind, settings):
    settings.PAYLINKS_STAFF_EMAIL = "staff@example.com"
    email = outbound_email_queue(order=captured_for_less, kind=kind, stripe_object_id="dp_1")
    message = outbound_email_message(email=email)
    html = message.alternatives[0][0]
    for text in (message.body, html):
        assert "25.00" in text
    if kind == OutboundEmail.Kind.ORDER_CONFIRMATION:
        assert "Charged" in message.body and "40.00" in message.body  # the items' total, then the charge
    else:
        assert "40.00" not in message.subject + message.body + html


def test_the_link_page_and_home_mark_an_open_dispute_and_what_was_captured(
    staff_client, link, captured_for_less
):
    Dispute.objects.create(
        order=captured_for_less, stripe_id="dp_shown", amount=2500, currency="eur", status="needs_response"
    )
    page = staff_client.get(reverse("links:detail", args=[link.public_id])).content.decode()
    assert "Disputed" in _row(page, "less@example.com")
    home = staff_client.get("/").content.decode()
    recent = re.search(r'<ul class="recent">(?:(?!</ul>).)*less@example\.com.*?</ul>', home, flags=re.S)
    item = [
        li for li in re.findall(r"<li>.*?</li>", recent.group(0), flags=re.S) if "less@example.com" in li
    ][0]
    assert "25.00" in item and "40.00" not in item


def test_the_bulk_confirmation_shows_what_was_captured(staff_client, captured_for_less):
    response = staff_client.get(
        reverse("orders:bulk"), {"action": "fulfil", "ids": [str(captured_for_less.public_id)]}
    )
    row = _row(response.content.decode(), "less@example.com")
    assert "25.00" in row and "40.00" not in row
