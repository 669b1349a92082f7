"""The order page's refund panel: who sees it, its form's errors, its confirmation, and a refund made
through it against the sandbox (with and without htmx)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from config.roles import staff_role_set
from links.models import Order, OrderStatusChange, Refund
from tests.links.factories import OrderFactory
from tests.links.payments import paid_order

TOKEN = "d" * 32
HTMX = {"HTTP_HX_REQUEST": "true"}


def _order(**fields) -> Order:
    defaults = {
        "currency": "eur",
        "amount_total": 1800,
        "paid_at": timezone.now(),
        "payment_intent_id": "pi_test_views",
        "customer_email": "jane@example.com",
    }
    return OrderFactory(**{**defaults, **fields})


def _url(order: Order) -> str:
    return f"/orders/{order.public_id}/refund/"


def _post(client, order, amount, headers=None, **fields):
    data = {"amount": amount, "reason": "requested_by_customer", "note": "", "request_token": TOKEN, **fields}
    return client.post(_url(order), data, **(headers or {}))


@pytest.fixture
def viewer(django_user_model):
    user = django_user_model.objects.create_user(username="victor", password="x-long-password", is_staff=True)
    staff_role_set(user=user, role="Viewers")
    client = Client()
    client.force_login(user)
    return client


# WHO -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_editor_sees_the_button_and_a_viewer_does_not(staff_client, viewer):
    order = _order()
    page = staff_client.get(f"/orders/{order.public_id}/").content.decode()
    assert 'id="refund-open"' in page and f'href="{_url(order)}"' in page
    page = viewer.get(f"/orders/{order.public_id}/").content.decode()
    assert 'id="order-refund"' in page and 'id="refund-open"' not in page
    # Nor the form, asked for by its URL.
    assert 'id="refund-form"' not in viewer.get(_url(order)).content.decode()


@pytest.mark.django_db
def test_a_viewers_post_is_refused(viewer):
    order = _order()
    response = _post(viewer, order, "5.00", confirm="on")
    assert response.status_code == 403
    assert not Refund.objects.exists()


@pytest.mark.django_db
def test_a_post_without_the_csrf_token_is_refused(staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    assert _post(client, _order(), "5.00", confirm="on").status_code == 403


@pytest.mark.django_db
def test_no_button_for_an_order_that_was_not_paid(staff_client):
    order = _order(status=Order.Status.AWAITING_PAYMENT, paid_at=None)
    page = staff_client.get(f"/orders/{order.public_id}/").content.decode()
    assert 'id="refund-open"' not in page
    response = _post(staff_client, order, "5.00", confirm="on")
    assert response.status_code == 302 and not Refund.objects.exists()


# THE FORM ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_form_is_prefilled_with_what_remains(staff_client):
    order = _order()
    Refund.objects.create(stripe_id="re_before", order=order, amount=550, currency="eur", status="succeeded")
    page = staff_client.get(_url(order), **HTMX).content.decode()
    assert page.lstrip().startswith('<section id="order-refund"')  # the panel alone
    assert 'name="amount" value="12.50"' in page
    assert "Remains to refund: 12.50 EUR." in page
    assert "Requested by the customer" in page and "Fraudulent payment" in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("currency", "amount", "error"),
    [
        ("eur", "0", "Enter an amount of at least 0.01 EUR."),
        ("eur", "-5", "Enter an amount of at least 0.01 EUR."),
        ("eur", "18.01", "Enter at most 18.00 EUR, what remains to refund."),
        ("eur", "twelve", "Enter a number."),
        ("eur", "", "This field is required."),
        ("eur", "1.005", "EUR amounts have at most 2 decimal places."),
        ("jpy", "12.5", "JPY amounts have no decimals."),
        ("jpy", "1801", "Enter at most 1,800 JPY, what remains to refund."),
        ("kwd", "1.2345", "Ensure that there are no more than 3 decimal places."),
        ("kwd", "1.8001", "Ensure that there are no more than 3 decimal places."),
        ("kwd", "1.801", "Enter at most 1.800 KWD, what remains to refund."),
    ],
)
def test_bad_amounts_are_shown_at_the_field_with_the_summary(staff_client, currency, amount, error):
    order = _order(currency=currency)
    for headers in ({}, HTMX):
        response = _post(staff_client, order, amount, confirm="on", headers=headers)
        assert response.status_code == 422
        page = response.content.decode()
        assert "data-error-summary" in page and 'href="#id_amount"' in page
        assert error in page
        assert 'aria-invalid="true"' in page  # the field itself
        assert page.lstrip().startswith('<section id="order-refund"') == bool(headers)
    assert not Refund.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("currency", "amount", "shown"),
    [("eur", "12.5", "12.50 EUR"), ("jpy", "1250", "1,250 JPY"), ("kwd", "1.25", "1.250 KWD")],
)
def test_a_valid_form_asks_for_confirmation_first(staff_client, currency, amount, shown):
    order = _order(currency=currency)
    response = _post(staff_client, order, amount, headers=HTMX)
    page = response.content.decode()
    assert response.status_code == 200 and page.lstrip().startswith('<section id="order-refund"')
    assert f"Refund {shown} to jane@example.com?" in page
    assert 'name="confirm" value="on"' in page and f'value="{TOKEN}"' in page
    assert not Refund.objects.exists()  # nothing asked of Stripe yet
    # "Change" shows the form again, as filled in.
    page = _post(staff_client, order, amount, edit="on").content.decode()
    assert 'id="refund-form"' in page and f'value="{amount}"' in page


# A REFUND THROUGH THE PAGE, AGAINST THE SANDBOX ----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_editor_refunds_part_then_the_rest(sandbox, stripe_client, staff_client):
    order = paid_order(sandbox, stripe_client)
    form = staff_client.get(_url(order)).content.decode()  # without JavaScript: the whole page
    assert "<h1>" in form and 'name="amount" value="18.00"' in form
    token = form.split('name="request_token" value="')[1][:32]

    response = staff_client.post(
        _url(order),
        {"amount": "5", "reason": "duplicate", "note": "Paid twice", "request_token": token, "confirm": "on"},
    )
    assert response.status_code == 302 and response.headers["Location"] == f"/orders/{order.public_id}/"
    page = staff_client.get(response.headers["Location"]).content.decode()
    assert "5.00 EUR refunded." in page
    assert "Partially refunded" in page
    assert "13.00 EUR" in page  # net
    assert "Duplicate payment" in page and "Paid twice" in page and "alice" in page

    # The rest, with htmx: the page is reloaded by a client-side redirect.
    response = staff_client.post(
        _url(order), {"amount": "13.00", "reason": "", "request_token": "e" * 32, "confirm": "on"}, **HTMX
    )
    assert response.headers["HX-Redirect"] == f"/orders/{order.public_id}/"
    order.refresh_from_db()
    assert order.is_fully_refunded
    page = staff_client.get(f"/orders/{order.public_id}/").content.decode()
    assert 'badge-refunded">Refunded<' in page and 'id="refund-open"' not in page
    refunds = order.status_changes.filter(action=OrderStatusChange.Action.REFUND)
    assert list(refunds.values_list("amount", flat=True)) == [500, 1300]


@pytest.mark.django_db(transaction=True)
def test_stripes_refusal_is_shown_at_the_form(sandbox, stripe_client, staff_client):
    order = paid_order(sandbox, stripe_client)
    # Refunded in Stripe's Dashboard meanwhile, not yet known here: Stripe refuses what we think remains.
    stripe_client.v1.refunds.create(params={"payment_intent": order.payment_intent_id, "amount": 1000})
    response = _post(staff_client, order, "18.00", confirm="on")
    assert response.status_code == 422
    assert "greater than unrefunded amount" in response.content.decode()
