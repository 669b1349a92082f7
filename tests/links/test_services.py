"""Payment link services against the sandbox over HTTP (the live server), as in production."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from catalog import services as catalog_services
from config.stripe_calls import STRIPE_FAILED
from links import services
from links.models import PaymentLink
from tests.catalog.factories import PriceFactory

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "fedcba9876543210fedcba9876543210"


@pytest.fixture
def price(stripe_client):
    product = catalog_services.product_create_with_price(
        name="Poster", currency="usd", unit_amount=1500, request_token="1" * 32
    )
    return product.prices.get()


def test_payment_link_create_stores_the_link_and_its_items(stripe_client, price, staff_user):
    link = services.payment_link_create(
        name="Spring",
        notes="For the fair",
        line_items=[{"price": price, "quantity": 2}],
        created_by=staff_user,
        request_token=TOKEN,
    )
    remote = stripe_client.v1.payment_links.retrieve(link.stripe_id)
    item = link.line_items.get()
    assert (link.url, link.active, link.currency, link.is_recurring) == (remote.url, True, "usd", False)
    assert (item.price, item.quantity, item.stripe_id.startswith("li_")) == (price, 2, True)
    assert link.created_by == staff_user
    # What the links list's search reads: the name, then what it sells.
    link.refresh_from_db()
    assert link.search_text == "Spring | Poster"


def test_retried_create_makes_one_link(stripe_client, price):
    first = services.payment_link_create(
        name="A", line_items=[{"price": price, "quantity": 1}], request_token=TOKEN
    )
    again = services.payment_link_create(
        name="A", line_items=[{"price": price, "quantity": 1}], request_token=TOKEN
    )
    assert again.pk == first.pk
    assert PaymentLink.objects.count() == 1
    assert len(stripe_client.v1.payment_links.list().data) == 1


def test_stripe_error_about_a_line_item_lands_at_its_row(stripe_client, price):
    missing = PriceFactory(stripe_id="price_not_in_stripe", currency="usd")
    with pytest.raises(ValidationError) as error:
        services.payment_link_create(
            name="A",
            line_items=[{"price": price, "quantity": 1}, {"price": missing, "quantity": 1}],
            request_token=TOKEN,
        )
    assert list(error.value.error_dict) == ["line_items.1.price"]
    assert not PaymentLink.objects.exists()


def test_deactivate_and_reactivate(stripe_client, price):
    link = services.payment_link_create(
        name="A", line_items=[{"price": price, "quantity": 1}], request_token=TOKEN
    )
    link = services.payment_link_set_active(link=link, active=False)
    assert link.active is False
    assert stripe_client.v1.payment_links.retrieve(link.stripe_id).active is False
    link = services.payment_link_set_active(link=link, active=True)
    assert link.active is True
    assert stripe_client.v1.payment_links.retrieve(link.stripe_id).active is True


def test_older_event_never_overwrites_newer_state(stripe_client, price):
    link = services.payment_link_create(
        name="A", line_items=[{"price": price, "quantity": 1}], request_token=TOKEN
    )
    services.payment_link_sync_from_stripe(data={"id": link.stripe_id, "active": False}, event_created=200)
    services.payment_link_sync_from_stripe(data={"id": link.stripe_id, "active": True}, event_created=100)
    link.refresh_from_db()
    assert link.active is False


def test_create_view_end_to_end(sandbox, staff_client, price):
    data = {
        "name": "Poster link",
        "notes": "",
        "request_token": TOKEN,
        "line_items-TOTAL_FORMS": "1",
        "line_items-INITIAL_FORMS": "0",
        "line_items-0-price": price.stripe_id,
        "line_items-0-quantity": "1",
    }
    response = staff_client.post(reverse("links:create"), data, HTTP_HX_REQUEST="true")
    link = PaymentLink.objects.get()
    assert response["HX-Redirect"] == reverse("links:detail", args=[link.public_id])
    page = staff_client.get(response["HX-Redirect"]).content.decode()
    assert "Payment link “Poster link” created." in page and link.url in page


def test_deactivate_view_end_to_end(sandbox, staff_client, price):
    link = services.payment_link_create(
        name="A", line_items=[{"price": price, "quantity": 1}], request_token=TOKEN
    )
    url = reverse("links:set-active", args=[link.public_id])
    response = staff_client.post(url, {"active": "false"})
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.active is False
    assert "Link deactivated." in staff_client.get(response["Location"]).content.decode()


def test_stripe_server_error_leaves_nothing_saved(stripe_client, price, settings):
    settings.SANDBOX_FAULTS = "api_500=1"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    with pytest.raises(ValidationError) as error:
        services.payment_link_create(
            name="A", line_items=[{"price": price, "quantity": 1}], request_token=TOKEN
        )
    assert error.value.messages == [str(STRIPE_FAILED)]
    assert not PaymentLink.objects.exists()


def test_retry_after_a_server_error_creates_the_link_once(stripe_client, price, settings):
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.SANDBOX_FAULTS = "api_500=1"
    with pytest.raises(ValidationError):
        services.payment_link_create(
            name="A", line_items=[{"price": price, "quantity": 1}], request_token=TOKEN
        )
    settings.SANDBOX_FAULTS = ""
    link = services.payment_link_create(
        name="A", line_items=[{"price": price, "quantity": 1}], request_token=TOKEN
    )
    assert [p.id for p in stripe_client.v1.payment_links.list().data] == [link.stripe_id]


def test_after_a_server_error_the_form_carries_a_new_token(sandbox, staff_client, price, settings):
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.SANDBOX_FAULTS = "api_500=1"
    data = {
        "name": "Poster link",
        "notes": "",
        "request_token": TOKEN,
        "line_items-TOTAL_FORMS": "1",
        "line_items-INITIAL_FORMS": "0",
        "line_items-0-price": price.stripe_id,
        "line_items-0-quantity": "1",
    }
    response = staff_client.post(reverse("links:create"), data)
    assert response.status_code == 422
    assert str(STRIPE_FAILED) in response.content.decode()
    assert 'name="request_token"' in response.content.decode() and TOKEN not in response.content.decode()
