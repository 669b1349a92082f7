"""Bulk actions on the orders list (mark fulfilled, export) and the e-mail outbox (resend the failed ones):
selected rows, confirmed, run through the single action's service, and reported on the list."""

from __future__ import annotations

import csv
import html
import io
import re
from unittest import mock

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from config.roles import staff_role_set
from links.models import Order, OutboundEmail
from links.order_views import EMAILS_PER_PAGE
from links.tasks import send_outbound_email
from tests.links.factories import OrderFactory

REPORT = re.compile(r'<p class="bulk-report[^"]*" role="status">(.*?)</p>')
pytestmark = pytest.mark.django_db

ORDERS_BULK = reverse("orders:bulk")
EMAILS_BULK = reverse("orders:email-bulk")


@pytest.fixture
def viewer_client(django_user_model):
    user = django_user_model.objects.create_user(
        username="victor", password="x-long-password-1", is_staff=True
    )
    staff_role_set(user=user, role="Viewers")
    client = Client()
    client.force_login(user)
    return client


def _report(client, response) -> list[str]:
    """The report as the list page shows it after the redirect: in place, one paragraph per message."""
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    return [
        html.unescape(text)
        for text in re.findall(r'<p class="bulk-report[^"]*" role="status">(.*?)</p>', page)
    ]


def _email(order: Order, *, status: str, kind: str = OutboundEmail.Kind.ORDER_CONFIRMATION) -> OutboundEmail:
    return OutboundEmail.objects.create(
        order=order,
        kind=kind,
        to=order.customer_email,
        subject="Your order",
        status=status,
        last_error="SMTP down",
    )


# ORDERS ------------------------------------------------------------------------------------------


def test_marking_orders_fulfilled_reports_done_and_why_not(staff_client, staff_user):
    paid = OrderFactory(customer_email="ada@example.com", amount_total=2500, currency="eur")
    also_paid = OrderFactory()
    waiting = OrderFactory(
        customer_email="bob@example.com", status=Order.Status.AWAITING_PAYMENT, currency="eur"
    )
    data = {
        "action": "fulfil",
        "ids": [str(o.public_id) for o in (paid, waiting, also_paid)],
        "confirm": "on",
    }
    response = staff_client.post(ORDERS_BULK, {**data, "back": "status=paid"})
    assert response["Location"] == f"{reverse('orders:list')}?status=paid"
    assert _report(staff_client, response) == [
        "2 orders marked as fulfilled.",
        "1 failed: bob@example.com (15.00 EUR): not paid (Awaiting payment)",
    ]
    # Through order_mark_fulfilled: the status, its time and the history with who did it.
    for order in (paid, also_paid):
        order.refresh_from_db()
        assert order.status == Order.Status.FULFILLED and order.fulfilled_at is not None
        assert order.status_changes.get().actor == staff_user.username
    waiting.refresh_from_db()
    assert waiting.status == Order.Status.AWAITING_PAYMENT
    # A second run (a double submit) changes nothing and says why.
    again = staff_client.post(ORDERS_BULK, {**data, "ids": [str(paid.public_id)]})
    assert _report(staff_client, again) == ["1 failed: ada@example.com (25.00 EUR): already fulfilled"]


def test_orders_are_not_fulfilled_without_confirmation(staff_client):
    order = OrderFactory()
    for response in (
        staff_client.get(ORDERS_BULK, {"action": "fulfil", "ids": [str(order.public_id)]}),
        staff_client.post(ORDERS_BULK, {"action": "fulfil", "ids": [str(order.public_id)]}),
    ):
        page = response.content.decode()
        assert "Mark 1 order as fulfilled?" in page and "Will be marked as fulfilled" in page
        assert "Yes, mark it as fulfilled" in page
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_viewers_export_orders_but_cannot_fulfil_them(viewer_client):
    order = OrderFactory()
    page = viewer_client.get(reverse("orders:list")).content.decode()
    assert "Mark as fulfilled…" not in page and "Export selected as CSV" in page
    data = {"action": "fulfil", "ids": [str(order.public_id)], "confirm": "on"}
    assert viewer_client.post(ORDERS_BULK, data).status_code == 403
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert "data-editor-required" in viewer_client.get(ORDERS_BULK, data).content.decode()


def test_export_has_the_selected_orders_only(staff_client):
    chosen = [OrderFactory(customer_email="=cmd@example.com"), OrderFactory(customer_email="b@example.com")]
    OrderFactory(customer_email="not-chosen@example.com")
    response = staff_client.get(ORDERS_BULK, {"action": "export", "ids": [str(o.public_id) for o in chosen]})
    assert response["Content-Disposition"] == 'attachment; filename="orders.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    # The export's columns, as the whole list's export writes them, newest first.
    assert sorted(row["customer_email"] for row in rows) == ["'=cmd@example.com", "b@example.com"]
    assert "payment_link" in rows[0] and rows[0]["amount_total"] == "1500"


def test_editors_see_a_checkbox_per_order(staff_client):
    order = OrderFactory(customer_email="ada@example.com")
    page = staff_client.get(reverse("orders:list")).content.decode()
    assert f'name="ids" value="{order.public_id}" form="order-bulk"' in page
    assert "Select the order of ada@example.com" in page and "Mark as fulfilled…" in page


# E-MAILS -----------------------------------------------------------------------------------------


def test_resending_failed_emails_sends_them_again_and_reports_the_others(
    staff_client, django_capture_on_commit_callbacks
):
    order = OrderFactory(customer_email="ada@example.com")
    failed = _email(order, status=OutboundEmail.Status.FAILED)
    sent = _email(order, status=OutboundEmail.Status.SENT, kind=OutboundEmail.Kind.STAFF_NOTIFICATION)
    with mock.patch("links.tasks.send_outbound_email.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            response = staff_client.post(
                EMAILS_BULK, {"action": "resend", "ids": [failed.id, sent.id], "confirm": "on"}
            )
    assert response["Location"] == reverse("orders:email-list")
    assert _report(staff_client, response) == [
        "1 e-mail will be sent again.",
        "1 failed: Staff notification to ada@example.com: not failed (Sent)",
    ]
    # Through outbound_email_resend: back to pending, and its task enqueued after the commit.
    delay.assert_called_once_with(failed.id)
    failed.refresh_from_db()
    assert (failed.status, failed.last_error) == (OutboundEmail.Status.PENDING, "")
    assert send_outbound_email(failed.id) == OutboundEmail.Status.SENT
    assert mail.outbox[0].to == ["ada@example.com"]


def test_emails_being_sent_are_left_to_their_sender(staff_client):
    from datetime import timedelta

    from django.utils import timezone

    email = _email(OrderFactory(), status=OutboundEmail.Status.FAILED)
    OutboundEmail.objects.filter(id=email.id).update(claimed_until=timezone.now() + timedelta(minutes=1))
    response = staff_client.post(EMAILS_BULK, {"action": "resend", "ids": [email.id], "confirm": "on"})
    assert _report(staff_client, response)[-1].endswith(": being sent right now")


def test_emails_are_not_resent_without_confirmation(staff_client):
    email = _email(OrderFactory(), status=OutboundEmail.Status.FAILED)
    page = staff_client.post(EMAILS_BULK, {"action": "resend", "ids": [email.id]}).content.decode()
    assert "Will be sent again" in page and "Yes, resend the failed one" in page
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.FAILED


def test_viewers_see_no_checkboxes_in_the_outbox_and_cannot_resend(viewer_client):
    email = _email(OrderFactory(), status=OutboundEmail.Status.FAILED)
    page = viewer_client.get(reverse("orders:email-list")).content.decode()
    assert 'name="ids"' not in page and "Resend failed…" not in page
    response = viewer_client.post(EMAILS_BULK, {"action": "resend", "ids": [email.id], "confirm": "on"})
    assert response.status_code == 403
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.FAILED


def test_an_email_selection_is_bounded_by_the_page(staff_client):
    ids = list(range(1, EMAILS_PER_PAGE + 2))
    response = staff_client.post(EMAILS_BULK, {"action": "resend", "ids": ids, "confirm": "on"})
    assert f"Select at most {EMAILS_PER_PAGE} rows at a time" in response.content.decode()
    # An id no database column holds selects nothing (no error from the database).
    huge = staff_client.get(EMAILS_BULK, {"action": "resend", "ids": ["9" * 30]})
    assert huge.status_code == 200 and "Select at least one row" in huge.content.decode()


def test_a_selection_with_nothing_to_change_offers_no_confirmation(staff_client):
    order = OrderFactory(status=Order.Status.FULFILLED)
    page = staff_client.get(ORDERS_BULK, {"action": "fulfil", "ids": [str(order.public_id)]}).content.decode()
    assert "Left as it is: already fulfilled" in page and "Nothing to do" in page
    assert 'name="confirm"' not in page
