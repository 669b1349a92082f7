"""Each link's conversion: sessions opened (Stripe's sessions list) and completed or expired (the list and
the events), each counted once whatever the number and order of the reads and deliveries."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from django.utils.translation import override

from links import conversion
from links.conversion import checkout_session_record_event, checkout_sessions_record, checkout_sessions_scan
from links.models import CheckoutSessionScan, CheckoutSessionSeen, LinkConversion, PaymentLink
from links.revenue import revenue_count_payment
from tests.catalog.factories import PriceFactory
from tests.links.factories import OrderFactory, PaymentLinkFactory
from webhooks.endpoints import webhook_endpoint_register
from webhooks.models import WebhookEvent
from webhooks.tasks import process_webhook_event

CARD = {
    "card_number": "4242424242424242",
    "card_expiry": "12/34",
    "card_cvc": "123",
    "cardholder_name": "Ada",
}
LINK = "plink_conversion"


def session(session_id: str, status: str = "open", *, link: str | None = LINK, created: int = 1_800_000_000):
    return {
        "id": session_id,
        "object": "checkout.session",
        "payment_link": link,
        "status": status,
        "created": created,
        "expires_at": created + 86400,
    }


def counts(link: str = LINK) -> tuple[int, int, int]:
    row = LinkConversion.objects.filter(link_stripe_id=link).first()
    return (row.sessions_opened, row.sessions_completed, row.sessions_expired) if row else (0, 0, 0)


# THE LEDGER ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_sessions_opened_completed_and_expired_are_counted():
    checkout_sessions_record(
        sessions=[session("cs_1"), session("cs_2", "complete"), session("cs_3", "expired"), session("cs_4")]
    )
    assert counts() == (4, 1, 1)
    assert CheckoutSessionSeen.objects.count() == 4


@pytest.mark.django_db
def test_a_session_read_again_or_delivered_again_counts_once():
    page = [session("cs_1"), session("cs_2", "complete")]
    checkout_sessions_record(sessions=page)
    checkout_sessions_record(sessions=page)  # the next read's overlap
    checkout_session_record_event(session=session("cs_2", "complete"))  # its event, delivered twice
    checkout_session_record_event(session=session("cs_2", "complete"))
    assert counts() == (2, 1, 0)


@pytest.mark.django_db
def test_an_open_session_moves_once_to_complete_and_never_back():
    checkout_sessions_record(sessions=[session("cs_1")])
    assert counts() == (1, 0, 0)
    checkout_session_record_event(session=session("cs_1", "complete"))
    assert counts() == (1, 1, 0)
    # A read made before the payment, recorded after its event (reordered): still complete, counted once.
    checkout_sessions_record(sessions=[session("cs_1")])
    # An expiry for it cannot be (Stripe expires only open sessions); a forged one changes nothing either.
    checkout_session_record_event(session=session("cs_1", "expired"))
    assert counts() == (1, 1, 0)
    assert CheckoutSessionSeen.objects.get().status == "complete"


@pytest.mark.django_db
def test_an_event_before_the_first_read_counts_the_session_as_opened_once():
    checkout_session_record_event(session=session("cs_1", "complete"))
    assert counts() == (1, 1, 0)
    checkout_sessions_record(sessions=[session("cs_1", "complete"), session("cs_2", "expired")])
    checkout_session_record_event(session=session("cs_2", "expired"))
    assert counts() == (2, 1, 1)


@pytest.mark.django_db
def test_sessions_without_a_payment_link_and_unknown_statuses_are_left_out():
    checkout_sessions_record(sessions=[session("cs_1", link=None), session("cs_2", "mystery")])
    checkout_session_record_event(session=session("cs_3", "open"))  # not an event's status
    assert not CheckoutSessionSeen.objects.exists()
    assert not LinkConversion.objects.exists()


@pytest.mark.django_db
def test_each_link_has_its_own_figures_read_in_two_queries(django_assert_num_queries):
    checkout_sessions_record(
        sessions=[session("cs_1", "complete"), session("cs_2"), session("cs_3", "complete", link="plink_b")]
    )
    with django_assert_num_queries(2):
        figures = conversion.link_conversions(link_stripe_ids=[LINK, "plink_b", "plink_none"])
    assert (figures[LINK].opened, figures[LINK].completed) == (2, 1)
    assert (figures["plink_b"].opened, figures["plink_b"].completed) == (1, 1)
    assert figures["plink_none"].opened == 0 and figures["plink_none"].percent is None


@pytest.mark.django_db(transaction=True)
def test_concurrent_reads_and_events_of_the_same_sessions_count_each_once():
    # Six workers at once (reads of the list overlapping, and the events of the completed sessions), in
    # different orders: on PostgreSQL they meet on the same rows; on SQLite they take turns.
    from tests.webhooks.test_reliability import _in_threads

    read = [session(f"cs_{n:02}", "complete" if n % 3 == 0 else "open") for n in range(30)]
    events = [session(f"cs_{n:02}", "complete") for n in range(0, 30, 3)]
    batches = [read, list(reversed(read)), read[10:], events, list(reversed(events)), read]

    def record():
        batch = batches.pop()
        return checkout_sessions_record(sessions=batch) is not None

    assert _in_threads(len(batches), record) == [True] * 6
    assert counts() == (30, 10, 0)
    assert CheckoutSessionSeen.objects.count() == 30


def test_the_percentage_and_what_is_still_open():
    figure = conversion.Conversion(opened=40, completed=12, expired=20)
    assert (figure.percent, figure.still_open) == (30.0, 8)
    assert conversion.Conversion(opened=3, completed=1).percent == 33.3
    assert conversion.Conversion().percent is None


# OVER HTTP, AGAINST THE SANDBOX --------------------------------------------------------------------


def _visit(url: str) -> tuple[requests.Session, str]:
    """A customer opens the link: the sandbox opens a checkout session."""
    browser = requests.Session()
    page = browser.get(url, timeout=10)
    assert page.status_code == 200
    return browser, page.text


def _pay(sandbox, url: str) -> None:
    browser, page = _visit(url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    action = re.search(r'<form method="post" action="([^"]+)"', page).group(1)
    paid = browser.post(
        sandbox.base_url + action,
        data={"csrfmiddlewaretoken": token, "email": "ada@example.com", **CARD},
        headers={"Referer": url},
        allow_redirects=False,
        timeout=20,
    )
    assert paid.status_code in (200, 302)


def _link(stripe_client, name: str = "Mugs"):
    price = stripe_client.v1.prices.create(
        params={"product_data": {"name": name}, "currency": "eur", "unit_amount": 1200}
    )
    stripe_link = stripe_client.v1.payment_links.create(
        params={"line_items": [{"price": price.id, "quantity": 1}]}
    )
    PaymentLink.objects.create(stripe_id=stripe_link.id, name=name, url=stripe_link.url, currency="eur")
    return stripe_link


def _open_sessions(stripe_client, link_id: str) -> list:
    page = stripe_client.v1.checkout.sessions.list(params={"payment_link": link_id, "status": "open"})
    return list(page.auto_paging_iter())


@pytest.mark.django_db(transaction=True)
def test_the_scan_counts_opened_abandoned_and_completed_sessions_once(sandbox, stripe_client):
    link = _link(stripe_client)
    other = _link(stripe_client, "Plates")
    for _ in range(3):
        _visit(link.url)
    _pay(sandbox, link.url)
    _visit(other.url)
    abandoned = _open_sessions(stripe_client, link.id)[0]
    stripe_client.v1.checkout.sessions.expire(abandoned.id)

    assert checkout_sessions_scan() == 5
    assert counts(link.id) == (4, 1, 1)
    assert counts(other.id) == (1, 0, 0)
    scan = CheckoutSessionScan.objects.get()
    assert scan.scanned_at is not None and scan.newest_created is not None

    # Read again (and again): the same sessions, counted once.
    checkout_sessions_scan()
    checkout_sessions_scan()
    assert counts(link.id) == (4, 1, 1)
    assert CheckoutSessionSeen.objects.count() == 5

    # A session still open when read, paid later and read again: it moves to completed, once.
    still_open = _open_sessions(stripe_client, link.id)[0]
    assert CheckoutSessionSeen.objects.get(session_id=still_open.id).status == "open"
    stripe_client.v1.checkout.sessions.expire(still_open.id)
    checkout_sessions_scan()
    assert counts(link.id) == (4, 1, 2)


@pytest.mark.django_db(transaction=True)
def test_the_scan_reads_only_the_sessions_created_since_the_last_one(sandbox, stripe_client):
    link = _link(stripe_client)
    advance = {"seconds": 7200}  # two hours on the sandbox clock
    _visit(link.url)
    stripe_client.raw_request("post", "/v1/test_helpers/sandbox_clock/advance", **advance)
    _visit(link.url)
    assert checkout_sessions_scan() == 2
    stripe_client.raw_request("post", "/v1/test_helpers/sandbox_clock/advance", **advance)
    _visit(link.url)
    # The next read starts a few minutes before the newest session it had seen: that one and the new one,
    # not the first, two hours older.
    assert checkout_sessions_scan() == 2
    assert counts(link.id) == (3, 0, 0)


@pytest.mark.django_db(transaction=True)
def test_a_session_whose_expiry_event_was_lost_is_read_again_once_long_expired(sandbox, stripe_client):
    link = _link(stripe_client)
    _visit(link.url)
    checkout_sessions_scan()
    assert counts(link.id) == (1, 0, 0)
    # A day and more later: the sandbox expired the session (no endpoint: its event went nowhere) and the
    # list's window has moved on, past it. The scan reads it again by id.
    stripe_client.raw_request("post", "/v1/test_helpers/sandbox_clock/advance", seconds=26 * 3600)
    _visit(link.url)
    assert checkout_sessions_scan() == 2  # the new session, and the old one read again
    assert counts(link.id) == (2, 0, 1)
    checkout_sessions_scan()
    assert counts(link.id) == (2, 0, 1)


@pytest.mark.django_db(transaction=True)
def test_a_completed_event_counts_at_once_and_the_next_read_does_not_count_it_again(
    sandbox, stripe_client, settings
):
    settings.STRIPE_WEBHOOK_SECRETS = []
    webhook_endpoint_register(url=f"{sandbox.base_url}/webhooks/stripe/")
    link = _link(stripe_client)
    _pay(sandbox, link.url)
    event = WebhookEvent.objects.get(type="checkout.session.completed")
    assert process_webhook_event(event.id) == WebhookEvent.Status.PROCESSED
    assert counts(link.id) == (1, 1, 0)
    WebhookEvent.objects.filter(id=event.id).update(status=WebhookEvent.Status.PENDING)
    process_webhook_event(event.id)  # the same event processed again (a redelivery)
    checkout_sessions_scan()
    assert counts(link.id) == (1, 1, 0)


# THE PAGES -----------------------------------------------------------------------------------------


@pytest.fixture
def link(db):
    return PaymentLink.objects.create(
        stripe_id=LINK, name="Mugs", url="http://example.com/pay/test_mugs", currency="eur"
    )


def _scanned(minutes_ago: int = 3) -> None:
    CheckoutSessionScan.objects.create(key="all", scanned_at=timezone.now() - timedelta(minutes=minutes_ago))


def _page(staff_client, link) -> str:
    response = staff_client.get(f"/links/{link.public_id}/")
    assert response.status_code == 200
    return " ".join(response.content.decode().split())


def test_the_link_page_shows_its_conversion_and_where_it_comes_from(staff_client, link):
    _scanned()
    LinkConversion.objects.create(
        link_stripe_id=LINK, sessions_opened=40, sessions_completed=12, sessions_expired=20
    )
    page = _page(staff_client, link)
    assert "Conversion 30%</strong> — 12 of 40 checkout sessions completed" in page
    assert "20 abandoned (expired unpaid) · 8 still open" in page
    assert "read from Stripe’s list of checkout sessions" in page
    assert "last read" in page


def test_the_link_page_says_when_no_session_was_opened_yet(staff_client, link):
    _scanned()
    page = _page(staff_client, link)
    assert "No checkout session opened through this link yet" in page
    assert "0%" not in page


def test_the_link_page_says_the_conversion_is_not_measured_before_the_first_read(staff_client, link):
    # An event has counted a payment, but no read of the list yet: sessions opened are unknown.
    checkout_session_record_event(session=session("cs_1", "complete"))
    page = _page(staff_client, link)
    assert "Not measured yet" in page
    assert "100%" not in page


def test_the_link_page_in_french(staff_client, link):
    _scanned()
    LinkConversion.objects.create(
        link_stripe_id=LINK, sessions_opened=3, sessions_completed=1, sessions_expired=1
    )
    with override("fr"):
        response = staff_client.get(f"/links/{link.public_id}/", HTTP_ACCEPT_LANGUAGE="fr")
    page = re.sub(r"[ \t\n]+", " ", response.content.decode())  # no-break spaces kept
    assert "Conversion : 33,3\u00a0%" in page
    assert "1 sur 3 sessions de paiement terminées" in page
    assert "1 abandonnée (expirée sans paiement) · 1 encore ouverte" in page
    assert "liste des sessions de paiement de Stripe" in page


def _top_links(staff_client) -> str:
    html = staff_client.get("/").content.decode()
    start = html.index('<table class="striped stack top-links"')
    return " ".join(html[start : html.index("</section>", start)].split())


def test_the_home_pages_top_links_show_each_links_conversion(staff_client):
    PriceFactory(currency="eur")  # the shop sells in euros: the top links shown are in euros
    poster, mug = (
        PaymentLinkFactory(currency="eur", name="Poster"),
        PaymentLinkFactory(currency="eur", name="Mug"),
    )
    for link, amount in ((poster, 4000), (mug, 3000)):
        order = OrderFactory(payment_link=link, currency="eur", amount_total=amount, paid_at=timezone.now())
        revenue_count_payment(order=order, amount=amount)
    _scanned()
    LinkConversion.objects.create(link_stripe_id=poster.stripe_id, sessions_opened=40, sessions_completed=12)
    top = _top_links(staff_client)
    assert '<th scope="col" class="amount">Conversion</th>' in top
    assert re.search(r"Poster</a>.*?30% <small class=\"muted\">\(12 of 40\)</small>", top)
    assert re.search(r"Mug</a>.*?no sessions yet", top)  # none opened: said, not 0%
    assert "from Stripe’s list of checkout sessions (last read" in top


def test_the_home_pages_top_links_say_when_conversion_is_not_measured_yet(staff_client):
    PriceFactory(currency="eur")
    link = PaymentLinkFactory(currency="eur", name="Poster")
    order = OrderFactory(payment_link=link, currency="eur", amount_total=1000, paid_at=timezone.now())
    revenue_count_payment(order=order, amount=1000)
    top = _top_links(staff_client)
    assert "not measured yet" in top
    assert "last read" not in top


def test_the_home_pages_conversion_costs_the_same_for_more_links_and_sessions(staff_client):
    PriceFactory(currency="eur")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _scanned()
    links = [PaymentLinkFactory(currency="eur") for _ in range(2)]

    def sell(links):
        for link in links:
            order = OrderFactory(payment_link=link, currency="eur", amount_total=1000, paid_at=timezone.now())
            revenue_count_payment(order=order, amount=1000)
            checkout_sessions_record(
                sessions=[session(f"cs_{link.pk}_{n}", "complete", link=link.stripe_id) for n in range(5)]
            )

    sell(links)
    with CaptureQueriesContext(connection) as small:
        staff_client.get("/")
    more = [PaymentLinkFactory(currency="eur") for _ in range(6)]
    sell(more)
    with CaptureQueriesContext(connection) as large:
        staff_client.get("/")
    assert len(large.captured_queries) == len(small.captured_queries)
    assert not [q for q in large.captured_queries if "links_checkoutsessionseen" in q["sql"]]
