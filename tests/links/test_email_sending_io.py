"""Sending an e-mail holds no database transaction: the database is free during the SMTP conversation.

A real SMTP server in a thread (the standard library's socketserver) answers the end of each message
only once the test lets it; meanwhile another connection writes. The e-mail still goes out once, with
two senders racing and with the outcome's write failing after the message went out.
"""

from __future__ import annotations

import logging
import socketserver
import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from links import emails, fulfilment
from links.models import Order, OutboundEmail
from links.tasks import send_outbound_email
from tests.webhooks.stripe_objects import checkout_session, line_item

pytestmark = pytest.mark.django_db(transaction=True)

# How long the SMTP server waits, at most, for the test's writes before answering the message's end.
SLOW_SMTP_SECONDS = 3.0


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: every command accepted; at the end of a message's data, the
    server's ``before_answer`` runs (the test's work while the sender waits), then the 250."""

    def handle(self) -> None:
        server: SlowSmtpServer = self.server  # type: ignore[assignment]
        self.wfile.write(b"220 test ESMTP\r\n")
        data: list[bytes] | None = None
        for raw in self.rfile:
            line = raw.rstrip(b"\r\n")
            if data is not None:
                if line != b".":
                    data.append(line)
                    continue
                server.messages.append(b"\n".join(data))
                data = None
                server.before_answer()
                self.wfile.write(b"250 queued\r\n")
            elif line[:4].upper() == b"DATA":
                data = []
                self.wfile.write(b"354 go on\r\n")
            elif line[:4].upper() == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


class SlowSmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.messages: list[bytes] = []
        self.before_answer: Callable[[], None] = lambda: None


@pytest.fixture
def smtp(settings):
    server = SlowSmtpServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": host, "port": port, "timeout": 30},
        }
    }
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def confirmation() -> OutboundEmail:
    # Committed (a transactional test): its e-mail task goes to the test broker, nobody runs it.
    order = fulfilment.order_record_session(
        session=checkout_session(), line_items=[line_item(description="Croissant")], actor="test"
    )
    return order.emails.get(kind=OutboundEmail.Kind.ORDER_CONFIRMATION)


def _in_thread(work: Callable[[], None]) -> threading.Thread:
    """Run ``work`` on another database connection (another thread), as another process would."""

    def run() -> None:
        try:
            work()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_the_database_takes_writes_while_the_smtp_server_is_slow(smtp, confirmation):
    written = threading.Event()

    def write() -> None:
        # Another row (SQLite: any write needs the database's one write lock) and the e-mail's own row
        # (PostgreSQL: a row lock), as a request and the requeue task would.
        Order.objects.filter(id=confirmation.order_id).update(updated_at=timezone.now())
        OutboundEmail.objects.filter(id=confirmation.id).update(updated_at=timezone.now())
        written.set()

    writes: list[bool] = []

    def during_the_send() -> None:
        writer = _in_thread(write)
        writes.append(written.wait(SLOW_SMTP_SECONDS))
        smtp.writer = writer

    smtp.before_answer = during_the_send
    assert send_outbound_email(confirmation.id) == OutboundEmail.Status.SENT
    smtp.writer.join(timeout=30)
    assert writes == [True], "the write waited for the SMTP server: the send held the database"
    assert len(smtp.messages) == 1 and b"Croissant" in smtp.messages[0]
    confirmation.refresh_from_db()
    assert confirmation.status == OutboundEmail.Status.SENT
    assert confirmation.claimed_until is None and confirmation.attempts == 1


def test_two_senders_racing_send_the_email_once(smtp, confirmation):
    """A second sender (a redelivered task, a resend's task) arrives while the first waits for SMTP."""
    results: list[str] = []

    def second_sender() -> None:
        results.append(send_outbound_email(confirmation.id))

    smtp.before_answer = lambda: _in_thread(second_sender).join(timeout=SLOW_SMTP_SECONDS)
    assert send_outbound_email(confirmation.id) == OutboundEmail.Status.SENT
    assert results == [OutboundEmail.Status.PENDING], "the second sender found it claimed"
    assert len(smtp.messages) == 1
    assert send_outbound_email(confirmation.id) == OutboundEmail.Status.SENT
    assert len(smtp.messages) == 1


@pytest.fixture
def short_lock_wait():
    """This connection waits 0.2 s, not 20, for a lock: the outcome's write fails while one is held."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA busy_timeout = 200")
        else:
            cursor.execute("SET lock_timeout = '200ms'")
    yield
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                f"PRAGMA busy_timeout = {int(connection.settings_dict['OPTIONS']['timeout'] * 1000)}"
            )
        else:
            cursor.execute("RESET lock_timeout")


class _OnWarning(logging.Handler):
    def __init__(self, action: Callable[[], None]) -> None:
        super().__init__(logging.WARNING)
        self.action = action

    def emit(self, record: logging.LogRecord) -> None:
        self.action()


def test_a_send_whose_outcome_cannot_be_written_is_recorded_by_the_retry_not_sent_again(
    smtp, confirmation, short_lock_wait
):
    """The message goes out, then the database refuses the outcome's write (another transaction holds
    the e-mail's row until the failure is logged). The task's retry records it sent, sending nothing."""
    locked, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:
        with transaction.atomic():
            OutboundEmail.objects.select_for_update().filter(id=confirmation.id).exists()
            locked.set()
            release.wait(30)

    holders: list[threading.Thread] = []

    def lock_before_answering() -> None:
        holders.append(_in_thread(hold_the_row))
        assert locked.wait(SLOW_SMTP_SECONDS), "the send held the database"

    smtp.before_answer = lock_before_answering
    handler = _OnWarning(release.set)
    logging.getLogger("links.emails").addHandler(handler)
    try:
        # apply(): the task as a worker runs it, retries included (eagerly, without the countdown).
        result = send_outbound_email.apply(args=(confirmation.id,))
    finally:
        logging.getLogger("links.emails").removeHandler(handler)
        release.set()
        for holder in holders:
            holder.join(timeout=30)
    assert result.get() == OutboundEmail.Status.SENT
    assert len(smtp.messages) == 1
    confirmation.refresh_from_db()
    assert confirmation.status == OutboundEmail.Status.SENT and confirmation.claimed_until is None
    assert confirmation.sent_at is not None and confirmation.attempts == 1


def test_a_sender_lost_between_claim_and_record_is_flagged_and_never_sent_again(confirmation):
    """SIGKILL after the claim: the e-mail may have gone out, so nothing sends it by itself (at most
    once, as the fault tests expect: one message per customer); staff's resend does."""
    from django.core import mail

    lease = emails._claim(confirmation.id)
    assert lease is not None
    # A redelivered task, within the lease and after it, and the requeue task: nothing is sent.
    assert send_outbound_email(confirmation.id) == OutboundEmail.Status.PENDING
    assert emails.outbound_emails_requeue() == 0
    OutboundEmail.objects.filter(id=confirmation.id).update(
        claimed_until=timezone.now() - emails.SEND_LEASE,
        updated_at=timezone.now() - emails.PENDING_GRACE * 2,
    )
    assert emails.outbound_emails_requeue() == 0
    confirmation.refresh_from_db()
    assert confirmation.status == OutboundEmail.Status.FAILED
    assert confirmation.last_error == emails.SENDER_LOST
    assert send_outbound_email(confirmation.id) == OutboundEmail.Status.FAILED
    assert mail.outbox == []

    emails.outbound_email_resend(email=confirmation)
    assert send_outbound_email(confirmation.id) == OutboundEmail.Status.SENT
    assert len(mail.outbox) == 1


def test_an_inline_send_whose_outcome_cannot_be_written_hands_the_outcome_to_the_task(smtp, short_lock_wait):
    """In a worker, the e-mail is sent right after the order's commit; if its outcome cannot be written,
    the task it hands over to records that outcome rather than sending the message again."""
    from unittest import mock

    locked, release = threading.Event(), threading.Event()
    holders: list[threading.Thread] = []

    def hold_the_emails() -> None:
        with transaction.atomic():
            list(OutboundEmail.objects.select_for_update())  # every row: its id is not known yet
            locked.set()
            release.wait(30)

    def lock_before_answering() -> None:
        holders.append(_in_thread(hold_the_emails))
        assert locked.wait(SLOW_SMTP_SECONDS)

    smtp.before_answer = lock_before_answering
    handler = _OnWarning(release.set)
    logging.getLogger("links.emails").addHandler(handler)
    try:
        with (
            mock.patch("links.tasks.send_outbound_email.delay") as delay,
            emails.outbound_emails_sent_inline(),
        ):
            order = fulfilment.order_record_session(
                session=checkout_session(), line_items=[line_item()], actor="test"
            )
    finally:
        logging.getLogger("links.emails").removeHandler(handler)
        release.set()
        for holder in holders:
            holder.join(timeout=30)
    confirmation = order.emails.get(kind=OutboundEmail.Kind.ORDER_CONFIRMATION)
    assert len(smtp.messages) == 1
    assert confirmation.status == OutboundEmail.Status.PENDING and confirmation.claimed_until is not None
    ((args, kwargs),) = delay.call_args_list
    assert args == (confirmation.id,) and kwargs["sent_at"]

    assert send_outbound_email.apply(args=args, kwargs=kwargs).get() == OutboundEmail.Status.SENT
    assert len(smtp.messages) == 1
    confirmation.refresh_from_db()
    assert confirmation.status == OutboundEmail.Status.SENT and confirmation.claimed_until is None
