"""One payment, all real: a live server (dashboard and sandbox), PostgreSQL, Redis and a Celery worker.

Everything goes over HTTP as a staff member and a customer would do it, with forms submitted as a
browser without JavaScript would submit them.
"""

from __future__ import annotations

import re

import pytest
import requests

from bench.forms import submit_form
from catalog.models import Product
from links.models import Order, OutboundEmail, PaymentLink
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(
        username="olivia", password="a-long-staff-password", is_staff=True
    )


def _log_in(base_url: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base_url}/links/", timeout=30)
    assert "/accounts/login/" in page.url  # every dashboard page needs a login
    response = submit_form(
        session,
        page,
        action_contains="/accounts/login/",
        values={"username": "olivia", "password": "a-long-staff-password"},
    )
    assert response.url.endswith("/links/"), response.url
    return session


def test_a_payment_from_link_to_fulfilled_order(celery_worker_process, sandbox, staff, tmp_path):
    from webhooks.endpoints import webhook_endpoint_register

    endpoint = webhook_endpoint_register(url=f"{sandbox.base_url}/webhooks/stripe/")
    assert endpoint.secret.startswith("whsec_")
    session = _log_in(sandbox.base_url)

    # A product with a flat price, through the dashboard.
    page = session.get(f"{sandbox.base_url}/catalog/new/", timeout=30)
    response = submit_form(
        session,
        page,
        action_contains="/catalog/new/",
        values={
            "name": "Integration mug",
            "unit_amount": "19.50",
            "currency": "eur",
            "type": "one_time",
        },
    )
    assert response.status_code == 200
    price = Product.objects.get(name="Integration mug").prices.get()
    assert (price.unit_amount, price.currency, price.stripe_id[:6]) == (1950, "eur", "price_")

    # A payment link with one line item.
    page = session.get(f"{sandbox.base_url}/links/new/", timeout=30)
    response = submit_form(
        session,
        page,
        action_contains="/links/new/",
        values={
            "name": "Integration link",
            "line_items-0-price": price.stripe_id,
            "line_items-0-quantity": "2",
        },
    )
    assert response.status_code == 200
    link = PaymentLink.objects.get(name="Integration link")
    assert re.fullmatch(rf"{re.escape(sandbox.base_url)}/sandbox/pay/test_\w+", link.url)

    # The customer opens the link's URL and pays with a test card.
    customer = requests.Session()
    hosted = customer.get(link.url, timeout=30)
    assert hosted.status_code == 200
    assert "Integration mug" in hosted.text
    paid = submit_form(
        customer,
        hosted,
        values={
            "email": "jeanne@example.com",
            "card_number": "4242 4242 4242 4242",
            "card_expiry": "12 / 34",
            "card_cvc": "123",
            "cardholder_name": "Jeanne Martin",
        },
    )
    assert paid.status_code == 200

    # The worker fulfils the order and sends the confirmation e-mail.
    order = wait_for(lambda: Order.objects.filter(payment_link=link).first(), message="no order was created")
    email = wait_for(
        lambda: OutboundEmail.objects.filter(order=order, kind="order_confirmation", status="sent").first(),
        message="the confirmation e-mail was not sent",
    )
    order.refresh_from_db()
    assert (order.customer_email, order.amount_total, order.currency) == ("jeanne@example.com", 3900, "eur")
    assert order.status in {Order.Status.PAID, Order.Status.FULFILLED}
    assert email.to == "jeanne@example.com"
    mail_files = list((tmp_path / "mail").glob("*.log"))
    assert len(mail_files) == 1 and "Integration mug" in mail_files[0].read_text()

    # The order shows on the link's page.
    detail = session.get(f"{sandbox.base_url}/links/{link.public_id}/", timeout=30)
    assert "jeanne@example.com" in detail.text

    # Deactivated, the link shows the "no longer available" page.
    confirm = session.get(f"{sandbox.base_url}/links/{link.public_id}/active/?active=false", timeout=30)
    submit_form(session, confirm, action_contains="/active/", values={})
    link.refresh_from_db()
    assert link.active is False
    assert "no longer available" in customer.get(link.url, timeout=30).text
    assert Order.objects.filter(payment_link=link).count() == 1
