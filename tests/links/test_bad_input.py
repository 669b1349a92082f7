"""The link editor with broken input: formset counts that are not numbers, ids that are not ids,
limits past Stripe's. Each answers the form again with an error, never a 500, and stores nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from catalog import limits
from catalog.forms import FORM_TAMPERED
from links.forms import LINE_ITEMS_TOO_FEW
from links.models import PaymentLink, PaymentLinkLineItem
from tests.catalog.factories import PriceFactory
from tests.links.factories import LineItemFactory, PaymentLinkFactory

pytestmark = pytest.mark.django_db


def _data(price, **extra) -> dict:
    return {
        "name": "Poster link",
        "notes": "",
        "request_token": "d" * 32,
        "line_items-TOTAL_FORMS": "1",
        "line_items-INITIAL_FORMS": "0",
        "line_items-0-price": price.stripe_id,
        "line_items-0-quantity": "1",
        "custom_fields-TOTAL_FORMS": "0",
        "custom_fields-INITIAL_FORMS": "0",
        **extra,
    }


@pytest.mark.parametrize("prefix", ["line_items", "custom_fields"])
@pytest.mark.parametrize("key", ["TOTAL_FORMS", "INITIAL_FORMS"])
@pytest.mark.parametrize("value", ["abc", "1e3", "-1", "", "٣x", None])
@pytest.mark.parametrize("button", [None, "add_line_item", "add_custom_field"])
def test_broken_formset_counts_answer_the_editor_with_an_error(staff_client, prefix, key, value, button):
    data = _data(PriceFactory())
    if value is None:
        del data[f"{prefix}-{key}"]
    else:
        data[f"{prefix}-{key}"] = value
    if button:
        data[button] = "1"
    response = staff_client.post(reverse("links:create"), data, headers={"HX-Request": "true"})
    assert response.status_code in (200, 422)
    if button is None and not (prefix == "custom_fields" and value is None and key == "TOTAL_FORMS"):
        assert response.status_code == 422
        assert str(FORM_TAMPERED) in response.content.decode()
    assert not PaymentLink.objects.exists()


def test_a_huge_line_item_count_builds_at_most_twenty_rows(staff_client):
    data = _data(PriceFactory(), **{"line_items-TOTAL_FORMS": str(10**9), "add_line_item": "1"})
    response = staff_client.post(reverse("links:create"), data)
    assert response.status_code == 200
    assert response.content.decode().count('name="line_items-') < 20 * 20


def test_a_broken_count_of_the_items_being_edited_is_an_error(staff_client):
    item = LineItemFactory()
    data = _data(item.price, **{"line_items-TOTAL_FORMS": "abc", "line_items-0-quantity": "5"})
    response = staff_client.post(reverse("links:edit", args=[item.payment_link.public_id]), data)
    assert response.status_code == 422
    assert str(FORM_TAMPERED) in response.content.decode()
    assert PaymentLinkLineItem.objects.get().quantity == 1


def test_a_link_without_products_says_to_add_one(staff_client):
    data = _data(PriceFactory(), **{"line_items-TOTAL_FORMS": "0"})
    response = staff_client.post(reverse("links:create"), data)
    assert response.status_code == 422
    assert str(LINE_ITEMS_TOO_FEW) in response.content.decode()


@pytest.mark.parametrize("value", ["abc", "1", "' OR 1=1 --", "a\x00b"])
def test_a_duplicate_of_something_that_is_not_a_link_is_404(staff_client, value):
    assert staff_client.get(reverse("links:create"), {"from": value}).status_code == 404


def test_a_duplicate_of_a_link_still_copies_it(staff_client):
    link = PaymentLinkFactory(name="Summer")
    response = staff_client.get(reverse("links:create"), {"from": str(link.public_id)})
    assert "Copy of Summer" in response.content.decode()


def test_an_unknown_section_with_a_new_row_renders_the_rows(staff_client):
    data = _data(PriceFactory(), add_line_item="1", section="no-such-section")
    response = staff_client.post(reverse("links:create"), data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.content.lstrip().startswith(b'<fieldset id="section-line-items"')


def test_a_price_id_with_a_nul_is_an_invalid_choice(staff_client):
    data = _data(PriceFactory(), **{"line_items-0-price": "price_\x00"})
    response = staff_client.post(reverse("links:create"), data)
    assert response.status_code == 422
    assert not PaymentLink.objects.exists()


def test_a_sessions_limit_past_a_32_bit_count_is_refused_at_its_field(staff_client):
    data = _data(PriceFactory(), **{"restrictions-completed_sessions_limit": str(2**31)})
    response = staff_client.post(reverse("links:create"), data)
    assert response.status_code == 422
    assert 'id="id_restrictions-completed_sessions_limit_error"' in response.content.decode()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("options", {"restrictions": {"completed_sessions": {"limit": 2**31}}}),
        ("options", {"application_fee_amount": limits.MAX_AMOUNT + 1}),
        ("currency", "xxx"),
    ],
)
def test_a_link_past_stripe_s_limits_does_not_validate(field, value):
    link = PaymentLinkFactory()
    setattr(link, field, value)
    with pytest.raises(ValidationError) as error:
        link.full_clean()
    assert field in error.value.error_dict


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("quantity", limits.MAX_QUANTITY + 1),
        ("adjustable_quantity", {"enabled": True, "maximum": limits.MAX_QUANTITY + 1}),
        (
            "price_data",
            {"currency": "usd", "unit_amount": limits.MAX_AMOUNT + 1, "product_data": {"name": "x"}},
        ),
    ],
)
def test_a_line_item_past_stripe_s_limits_does_not_validate(field, value):
    item = LineItemFactory()
    setattr(item, field, value)
    with pytest.raises(ValidationError) as error:
        item.full_clean()
    assert field in error.value.error_dict


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("orders:list", {"link": "-" * 36}),
        ("orders:list", {"link": "{" + "0" * 32 + "}x"}),
        ("orders:list", {"q": "cs_\x00"}),
        ("orders:export", {"q": "\x00"}),
        ("webhooks:event-list", {"type": "checkout.\x00"}),
        ("links:list", {"product": "prod_\x00", "q": "\x00"}),
    ],
)
def test_list_filters_that_are_not_ids_find_nothing(staff_client, name, params):
    response = staff_client.get(reverse(name), params)
    assert response.status_code == 200


def test_too_many_custom_fields_says_how_many_a_link_takes(staff_client):
    data = _data(PriceFactory(), **{"custom_fields-TOTAL_FORMS": "4"})
    for n in range(4):
        data.update(
            {
                f"custom_fields-{n}-key": f"k{n}",
                f"custom_fields-{n}-label": "L",
                f"custom_fields-{n}-type": "text",
            }
        )
    response = staff_client.post(reverse("links:create"), data)
    assert response.status_code == 422
    assert "A link has at most 3 custom fields." in response.content.decode()
