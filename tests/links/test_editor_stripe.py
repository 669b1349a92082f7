"""The editor's options reach Stripe (the sandbox over HTTP) exactly as configured."""

from __future__ import annotations

import pytest
from django.urls import reverse

from catalog import services as catalog_services
from links.models import PaymentLink

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def price(stripe_client):
    product = catalog_services.product_create_with_price(
        name="Poster", currency="eur", unit_amount=1500, request_token="2" * 32
    )
    return product.prices.get()


@pytest.fixture
def rate(stripe_client):
    return catalog_services.shipping_rate_create(
        display_name="Express",
        amount=900,
        currency="eur",
        delivery_minimum=1,
        delivery_maximum=3,
        request_token="3" * 32,
    )


def _data(price, **extra) -> dict:
    return {
        "name": "Poster link",
        "notes": "",
        "request_token": "e" * 32,
        "line_items-TOTAL_FORMS": "1",
        "line_items-INITIAL_FORMS": "0",
        "line_items-0-price": price.stripe_id,
        "line_items-0-quantity": "1",
        "custom_fields-TOTAL_FORMS": "0",
        "custom_fields-INITIAL_FORMS": "0",
        **extra,
    }


def test_link_with_options_reaches_stripe(sandbox, stripe_client, staff_client, price, rate):
    data = _data(
        price,
        **{
            "after_completion-type": "redirect",
            "after_completion-redirect_url": "https://example.com/thanks?s={CHECKOUT_SESSION_ID}",
            "checkout-allow_promotion_codes": "on",
            "checkout-phone_number_collection": "on",
            "shipping-countries": ["FR", "DE"],
            "shipping-shipping_rates": [rate.stripe_id],
            "consent-terms_of_service": "on",
            "custom_fields-TOTAL_FORMS": "2",
            "custom_fields-0-key": "engraving",
            "custom_fields-0-label": "Engraving",
            "custom_fields-0-type": "text",
            "custom_fields-1-key": "size",
            "custom_fields-1-label": "Size",
            "custom_fields-1-type": "dropdown",
            "custom_fields-1-options": "s: Small\nm: Medium",
            "restrictions-completed_sessions_limit": "10",
            "restrictions-inactive_message": "Sold out",
            "metadata-metadata": "campaign: spring",
        },
    )
    response = staff_client.post(reverse("links:create"), data)
    assert response.status_code == 302, response.context["editor"].error_count
    link = PaymentLink.objects.get()
    remote = stripe_client.v1.payment_links.retrieve(link.stripe_id)
    assert remote.after_completion.redirect.url == "https://example.com/thanks?s={CHECKOUT_SESSION_ID}"
    assert remote.allow_promotion_codes is True
    assert remote.shipping_address_collection.allowed_countries == ["FR", "DE"]
    assert remote.shipping_options[0].shipping_rate == rate.stripe_id
    assert remote.consent_collection.terms_of_service == "required"
    assert [f.key for f in remote.custom_fields] == ["engraving", "size"]
    assert remote.restrictions.completed_sessions.limit == 10
    assert remote.metadata.to_dict() == {"campaign": "spring"}
    assert link.options["inactive_message"] == "Sold out"


def test_edit_updates_and_clears_options(sandbox, stripe_client, staff_client, price):
    staff_client.post(
        reverse("links:create"),
        _data(
            price,
            **{
                "checkout-allow_promotion_codes": "on",
                "metadata-metadata": "a: 1\nb: 2",
                "restrictions-inactive_message": "Gone",
            },
        ),
    )
    link = PaymentLink.objects.get()
    edit = {
        "name": "Renamed",
        "notes": "",
        "request_token": "f" * 32,
        "custom_fields-TOTAL_FORMS": "0",
        "custom_fields-INITIAL_FORMS": "0",
        "metadata-metadata": "a: 3",
        "checkout-submit_type": "donate",
    }
    response = staff_client.post(reverse("links:edit", args=[link.public_id]), edit)
    assert response.status_code == 302
    link.refresh_from_db()
    remote = stripe_client.v1.payment_links.retrieve(link.stripe_id)
    assert link.name == "Renamed"
    assert remote.allow_promotion_codes is False
    assert remote.metadata.to_dict() == {"a": "3"}
    assert remote.submit_type == "donate"
    assert not remote.inactive_message
    assert link.options == {"metadata": {"a": "3"}, "submit_type": "donate"}


def test_edit_keeps_the_custom_fields_left_as_they_were(sandbox, stripe_client, staff_client, price):
    row = {
        "custom_fields-0-key": "engraving",
        "custom_fields-0-label": "Engraving",
        "custom_fields-0-type": "text",
    }
    staff_client.post(reverse("links:create"), _data(price, **{"custom_fields-TOTAL_FORMS": "1", **row}))
    link = PaymentLink.objects.get()
    page = staff_client.get(reverse("links:edit", args=[link.public_id])).content.decode()
    assert 'name="custom_fields-INITIAL_FORMS" value="1"' in page
    edit = {
        "name": "Renamed",
        "notes": "",
        "request_token": "f" * 32,
        "custom_fields-TOTAL_FORMS": "1",
        "custom_fields-INITIAL_FORMS": "1",
        "custom_fields-0-options": "",
        **row,
    }

    response = staff_client.post(reverse("links:edit", args=[link.public_id]), edit)

    assert response.status_code == 302
    link.refresh_from_db()
    remote = stripe_client.v1.payment_links.retrieve(link.stripe_id)
    assert link.name == "Renamed"
    assert [f.key for f in remote.custom_fields] == ["engraving"]
    assert [f["key"] for f in link.options["custom_fields"]] == ["engraving"]


def test_duplicate_prefills_the_editor(sandbox, staff_client, price):
    staff_client.post(reverse("links:create"), _data(price, **{"checkout-allow_promotion_codes": "on"}))
    link = PaymentLink.objects.get()
    response = staff_client.get(reverse("links:create"), {"from": str(link.public_id)})
    editor = response.context["editor"]
    assert editor.details.initial["name"] == "Copy of Poster link"
    assert editor.groups["checkout"].initial["allow_promotion_codes"] is True
    assert f'value="{price.stripe_id}" selected' in response.content.decode()


def test_shipping_rate_page_creates_a_rate(sandbox, staff_client):
    data = {
        "display_name": "Standard",
        "amount": "4.90",
        "currency": "eur",
        "delivery_minimum": "2",
        "delivery_maximum": "5",
        "delivery_unit": "business_day",
        "tax_behavior": "unspecified",
        "request_token": "4" * 32,
    }
    response = staff_client.post(reverse("catalog:shipping-rate-list"), data)
    assert response.status_code == 302
    page = staff_client.get(reverse("catalog:shipping-rate-list")).content.decode()
    assert "Standard" in page and "4.90 EUR" in page


def test_adjustable_quantity_and_an_item_not_in_the_catalog(sandbox, stripe_client, staff_client, price):
    data = _data(
        price,
        **{
            "line_items-TOTAL_FORMS": "2",
            "line_items-0-adjustable": "on",
            "line_items-0-minimum": "1",
            "line_items-0-maximum": "5",
            "line_items-1-price": "",
            "line_items-1-quantity": "1",
            "line_items-1-adhoc_name": "Gift wrap",
            "line_items-1-adhoc_amount": "2.50",
            "line_items-1-adhoc_currency": "eur",
        },
    )
    response = staff_client.post(reverse("links:create"), data)
    assert response.status_code == 302
    link = PaymentLink.objects.get()
    first, wrap = link.line_items.all()
    assert first.adjustable_quantity == {"enabled": True, "minimum": 1, "maximum": 5}
    assert (
        wrap.price is None and wrap.stripe_price_id.startswith("price_") and wrap.description == "Gift wrap"
    )
    items = stripe_client.v1.payment_links.line_items.list(link.stripe_id).data
    assert [i.price.unit_amount for i in items] == [1500, 250]
    assert link.line_items.count() == 2


def test_edit_changes_quantities(sandbox, stripe_client, staff_client, price):
    staff_client.post(reverse("links:create"), _data(price))
    link = PaymentLink.objects.get()
    edit = {
        "name": link.name,
        "notes": "",
        "request_token": "f" * 32,
        "custom_fields-TOTAL_FORMS": "0",
        "custom_fields-INITIAL_FORMS": "0",
        "line_items-TOTAL_FORMS": "1",
        "line_items-INITIAL_FORMS": "0",
        "line_items-0-quantity": "3",
        "line_items-0-adjustable": "on",
        "line_items-0-maximum": "10",
    }
    page = staff_client.get(reverse("links:edit", args=[link.public_id])).content.decode()
    assert 'name="line_items-0-quantity"' in page
    response = staff_client.post(reverse("links:edit", args=[link.public_id]), edit)
    assert response.status_code == 302, response.content.decode()[
        response.content.decode().find("error-summary") :
    ][:600]
    item = link.line_items.get()
    remote = stripe_client.v1.payment_links.line_items.list(link.stripe_id).data[0]
    assert (item.quantity, item.adjustable_quantity) == (3, {"enabled": True, "maximum": 10})
    assert remote.quantity == 3


def test_invoice_data_with_custom_fields_and_metadata_reaches_stripe(
    sandbox, stripe_client, staff_client, price
):
    data = _data(
        price,
        **{
            "invoice-enabled": "on",
            "invoice-description": "Thanks",
            "invoice-footer": "Paylinks SAS",
            "invoice-custom_fields": "Purchase order: PO-1234\nVAT: FR0123",
            "invoice-metadata": "team: web",
        },
    )

    response = staff_client.post(reverse("links:create"), data)

    assert response.status_code == 302
    remote = stripe_client.v1.payment_links.retrieve(PaymentLink.objects.get().stripe_id)
    invoice_data = remote.invoice_creation.invoice_data
    assert remote.invoice_creation.enabled is True
    assert [(f.name, f.value) for f in invoice_data.custom_fields] == [
        ("Purchase order", "PO-1234"),
        ("VAT", "FR0123"),
    ]
    assert invoice_data.metadata.to_dict() == {"team": "web"}
    assert (invoice_data.description, invoice_data.footer) == ("Thanks", "Paylinks SAS")


def test_more_than_four_invoice_custom_fields_are_refused_at_the_field(staff_client, price):
    lines = "\n".join(f"Field {n}: value {n}" for n in range(5))
    data = _data(price, **{"invoice-enabled": "on", "invoice-custom_fields": lines})

    response = staff_client.post(reverse("links:create"), data)

    assert response.status_code == 422
    assert "at most 4 custom fields" in response.content.decode()
    assert not PaymentLink.objects.exists()


@pytest.fixture
def frame(stripe_client):
    product = catalog_services.product_create_with_price(
        name="Frame", currency="eur", unit_amount=2500, request_token="5" * 32
    )
    return product.prices.get()


def test_optional_items_are_created_changed_and_cleared(sandbox, stripe_client, staff_client, price, frame):
    rows = {
        "optional_items-TOTAL_FORMS": "1",
        "optional_items-INITIAL_FORMS": "0",
        "optional_items-0-price": frame.stripe_id,
        "optional_items-0-quantity": "1",
        "optional_items-0-adjustable": "on",
        "optional_items-0-maximum": "3",
    }
    response = staff_client.post(reverse("links:create"), _data(price, **rows))
    assert response.status_code == 302
    link = PaymentLink.objects.get()
    remote = stripe_client.v1.payment_links.retrieve(link.stripe_id)
    [item] = remote.optional_items
    assert (item.price, item.quantity) == (frame.stripe_id, 1)
    assert (item.adjustable_quantity.enabled, item.adjustable_quantity.maximum) == (True, 3)

    page = staff_client.get(reverse("links:edit", args=[link.public_id])).content.decode()
    assert 'name="optional_items-INITIAL_FORMS" value="1"' in page
    assert f'<option value="{frame.stripe_id}" selected>' in page
    edit = {
        "name": link.name,
        "notes": "",
        "request_token": "f" * 32,
        **rows,
        "optional_items-INITIAL_FORMS": "1",
        "optional_items-0-quantity": "2",
        "optional_items-0-adjustable": "",
    }
    assert staff_client.post(reverse("links:edit", args=[link.public_id]), edit).status_code == 302
    [item] = stripe_client.v1.payment_links.retrieve(link.stripe_id).optional_items
    assert (item.quantity, item.adjustable_quantity) == (2, None)

    edit["optional_items-0-DELETE"] = "on"
    assert staff_client.post(reverse("links:edit", args=[link.public_id]), edit).status_code == 302
    assert stripe_client.v1.payment_links.retrieve(link.stripe_id).optional_items is None
    link.refresh_from_db()
    assert "optional_items" not in link.options


def test_a_recurring_optional_item_billed_otherwise_is_refused_at_its_row(sandbox, staff_client):
    def monthly_and(interval: str):
        product = catalog_services.product_create_with_price(
            name=f"Club ({interval})",
            currency="eur",
            unit_amount=900,
            interval=interval,
            request_token=interval[0] * 32,
        )
        return product.prices.get()

    monthly, yearly = monthly_and("month"), monthly_and("year")
    rows = {
        "optional_items-TOTAL_FORMS": "1",
        "optional_items-INITIAL_FORMS": "0",
        "optional_items-0-price": yearly.stripe_id,
        "optional_items-0-quantity": "1",
    }
    response = staff_client.post(reverse("links:create"), _data(monthly, **rows))
    assert response.status_code == 422
    errors = response.context["editor"].formsets["optional_items"].forms[0].errors
    assert "same interval" in errors["price"][0]
    assert not PaymentLink.objects.exists()


def test_an_amount_transferred_is_sent_in_minor_units_and_cleared_alone(
    sandbox, stripe_client, staff_client, price
):
    account = stripe_client.v1.accounts.create(params={"type": "custom"}).id
    connect = {"connect-transfer_destination": account, "connect-transfer_amount": "12.50"}
    assert staff_client.post(reverse("links:create"), _data(price, **connect)).status_code == 302
    link = PaymentLink.objects.get()
    remote = stripe_client.v1.payment_links.retrieve(link.stripe_id)
    assert (remote.transfer_data.destination, remote.transfer_data.amount) == (account, 1250)
    page = staff_client.get(reverse("links:edit", args=[link.public_id])).content.decode()
    assert 'name="connect-transfer_amount" value="12.50"' in page

    edit = {
        "name": link.name,
        "notes": "",
        "request_token": "f" * 32,
        "connect-transfer_destination": account,
    }
    assert staff_client.post(reverse("links:edit", args=[link.public_id]), edit).status_code == 302
    remote = stripe_client.v1.payment_links.retrieve(link.stripe_id)
    assert (remote.transfer_data.destination, remote.transfer_data.amount) == (account, None)
