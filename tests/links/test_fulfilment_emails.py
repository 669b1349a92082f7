"""The e-mail outbox: each e-mail once, HTML and text with the merchant's name, failures recorded."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core import mail
from django.utils import translation

from links import emails, fulfilment
from links.models import OutboundEmail
from links.tasks import send_outbound_email
from tests.webhooks.stripe_objects import checkout_session, line_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(django_capture_on_commit_callbacks, settings):
    settings.PAYLINKS_MERCHANT_NAME = "Chez Alice"
    with django_capture_on_commit_callbacks():
        return fulfilment.order_record_session(
            session=checkout_session(), line_items=[line_item(description="Croissant")], actor="test"
        )


@pytest.fixture
def confirmation(order):
    return order.emails.get(kind=OutboundEmail.Kind.ORDER_CONFIRMATION)


def test_confirmation_is_sent_once_with_html_and_text(confirmation):
    assert send_outbound_email(confirmation.id) == OutboundEmail.Status.SENT
    assert send_outbound_email(confirmation.id) == OutboundEmail.Status.SENT
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["bob@example.com"]
    assert "Chez Alice" in message.subject
    assert "Chez Alice" in message.body and "Croissant" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "Chez Alice" in html
    confirmation.refresh_from_db()
    assert confirmation.status == OutboundEmail.Status.SENT
    assert confirmation.sent_at is not None
    assert confirmation.attempts == 1


def test_failure_is_recorded_and_raised_for_retry(confirmation):
    with mock.patch.object(emails.EmailMultiAlternatives, "send", side_effect=OSError("SMTP down")):
        with pytest.raises(OSError):
            send_outbound_email(confirmation.id)
    confirmation.refresh_from_db()
    assert confirmation.status == OutboundEmail.Status.FAILED
    assert "SMTP down" in confirmation.last_error
    # The retry sends it.
    assert send_outbound_email(confirmation.id) == OutboundEmail.Status.SENT
    assert len(mail.outbox) == 1


def test_resend_sends_again(confirmation, django_capture_on_commit_callbacks):
    send_outbound_email(confirmation.id)
    with django_capture_on_commit_callbacks() as callbacks:
        emails.outbound_email_resend(email=confirmation)
    assert len(callbacks) == 1
    send_outbound_email(confirmation.id)
    assert len(mail.outbox) == 2


def test_every_kind_renders(order, settings):
    settings.PAYLINKS_STAFF_EMAIL = "staff@example.com"
    for kind in (OutboundEmail.Kind.PAYMENT_FAILED, OutboundEmail.Kind.STAFF_NOTIFICATION):
        email = emails.outbound_email_queue(order=order, kind=kind)
        message = emails.outbound_email_message(email=email)
        assert "Chez Alice" in message.body + message.subject
        assert message.alternatives


def test_emails_are_written_in_the_configured_language(settings, django_capture_on_commit_callbacks):
    settings.PAYLINKS_MERCHANT_NAME = "Chez Alice"
    settings.LANGUAGE_CODE = "fr"  # a worker has no request: its language is LANGUAGE_CODE
    with django_capture_on_commit_callbacks():
        order = fulfilment.order_record_session(
            session=checkout_session(), line_items=[line_item(description="Croissant")], actor="test"
        )
    send_outbound_email(order.emails.get(kind=OutboundEmail.Kind.ORDER_CONFIRMATION).id)
    (message,) = mail.outbox
    assert "Merci pour votre commande chez Chez Alice." in message.body
    assert "Merci pour votre commande" in message.alternatives[0][0]
    assert "Thank you" not in message.body


def test_emails_are_in_the_shops_language_whatever_the_request_that_sends_them(
    settings, django_capture_on_commit_callbacks
):
    """A customer's English browser on the success page (which fulfils a late session), or a staff
    member's click, does not choose the e-mail's language: the shop's does."""
    settings.PAYLINKS_MERCHANT_NAME = "Chez Alice"
    settings.PAYLINKS_STAFF_EMAIL = "staff@example.com"
    settings.LANGUAGE_CODE = "fr"
    with translation.override("en"), django_capture_on_commit_callbacks():
        order = fulfilment.order_record_session(
            session=checkout_session(), line_items=[line_item(description="Croissant")], actor="success page"
        )
        confirmation = order.emails.get(kind=OutboundEmail.Kind.ORDER_CONFIRMATION)
        staff = emails.outbound_email_queue(order=order, kind=OutboundEmail.Kind.STAFF_NOTIFICATION)
        assert confirmation.subject == "Votre commande chez Chez Alice"
        assert staff.subject.startswith("[Chez Alice] Commande payée : ")
        send_outbound_email(confirmation.id)
        assert translation.get_language() == "en"  # the request's language is left as it was
    (message,) = mail.outbox
    assert message.subject == "Votre commande chez Chez Alice"
    assert "Merci pour votre commande chez Chez Alice." in message.body
    assert "Merci pour votre commande" in message.alternatives[0][0]


def test_invoice_email_links_to_the_hosted_invoice(order):
    order.invoice_id = "in_123"
    order.save()
    email = emails.outbound_email_queue(order=order, kind=OutboundEmail.Kind.INVOICE)
    invoice = mock.Mock()
    invoice.to_dict.return_value = {
        "hosted_invoice_url": "https://invoice.example/in_123",
        "invoice_pdf": "https://invoice.example/in_123.pdf",
    }
    client = mock.Mock()
    client.v1.invoices.retrieve.return_value = invoice
    with mock.patch("config.stripe_client.get_stripe_client", return_value=client):
        message = emails.outbound_email_message(email=email)
    assert "https://invoice.example/in_123" in message.body
    assert "https://invoice.example/in_123.pdf" in message.alternatives[0][0]


def test_requeue_picks_up_lost_emails(confirmation):
    OutboundEmail.objects.filter(id=confirmation.id).update(
        updated_at=confirmation.updated_at - emails.PENDING_GRACE * 2
    )
    with mock.patch("links.tasks.send_outbound_email.delay") as delay:
        assert emails.outbound_emails_requeue() == 1
        assert emails.outbound_emails_requeue() == 0
    delay.assert_called_once_with(confirmation.id)


def _record_inline(django_capture_on_commit_callbacks):
    with emails.outbound_emails_sent_inline():
        with django_capture_on_commit_callbacks(execute=True):
            return fulfilment.order_record_session(
                session=checkout_session(), line_items=[line_item()], actor="test"
            )


def test_inside_a_worker_emails_are_sent_after_commit_without_a_task(django_capture_on_commit_callbacks):
    with mock.patch("links.tasks.send_outbound_email.delay") as delay:
        order = _record_inline(django_capture_on_commit_callbacks)
    assert delay.call_count == 0
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["bob@example.com"]
    assert order.emails.get(kind=OutboundEmail.Kind.ORDER_CONFIRMATION).status == OutboundEmail.Status.SENT


def test_an_inline_send_renders_what_was_just_recorded_without_reading_the_rows_back(
    django_capture_on_commit_callbacks,
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with emails.outbound_emails_sent_inline(), CaptureQueriesContext(connection) as queries:
        with django_capture_on_commit_callbacks(execute=True):
            fulfilment.order_record_session(
                session=checkout_session(), line_items=[line_item(description="Brioche")], actor="test"
            )
    assert "Brioche" in mail.outbox[0].body
    # After the order's commit: the e-mail's lock and status, its line items, its update; no second read
    # of the order or the e-mail row.
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    emails_read = [sql for sql in reads if 'FROM "links_outboundemail"' in sql]
    assert len(emails_read) == 1 and '"links_order"' not in emails_read[0]


def test_an_inline_send_of_an_email_already_sent_sends_nothing(confirmation):
    # Another sender (a resend's task) got there first: the status is read under the lock, not taken
    # from the row in memory.
    OutboundEmail.objects.filter(id=confirmation.id).update(status=OutboundEmail.Status.SENT)
    assert emails.outbound_email_send(email_id=confirmation.id, loaded=confirmation) == "sent"
    assert mail.outbox == []


def test_inline_send_that_fails_is_handed_to_the_task(django_capture_on_commit_callbacks):
    with (
        mock.patch.object(emails.EmailMultiAlternatives, "send", side_effect=OSError("SMTP down")),
        mock.patch("links.tasks.send_outbound_email.delay") as delay,
    ):
        order = _record_inline(django_capture_on_commit_callbacks)
    confirmation = order.emails.get(kind=OutboundEmail.Kind.ORDER_CONFIRMATION)
    assert confirmation.status == OutboundEmail.Status.FAILED
    delay.assert_called_once_with(confirmation.id)


def test_outside_a_worker_emails_go_through_the_task(django_capture_on_commit_callbacks):
    with mock.patch("links.tasks.send_outbound_email.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            order = fulfilment.order_record_session(
                session=checkout_session(), line_items=[line_item()], actor="test"
            )
    assert mail.outbox == []
    delay.assert_called_once_with(order.emails.get(kind=OutboundEmail.Kind.ORDER_CONFIRMATION).id)
