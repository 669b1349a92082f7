"""The payment link editor: its sections (HTMX and full page), its rules, and what reaches Stripe."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from django.http import QueryDict
from django.urls import reverse

from links.editor import LinkEditor
from links.forms import LINE_ITEMS_TOO_FEW, PriceSelect
from links.option_groups import (
    CUSTOMER_CREATION_NOT_RECURRING,
    DEFAULT_VALUE_LENGTH,
    INVALID_URL_CHARACTERS,
    INVOICE_ISSUER_ACCOUNT_REQUIRED,
    LENGTH_MAXIMUM_BELOW_MINIMUM,
    OPTIONAL_ITEM_CURRENCY,
    OPTIONAL_ITEM_CUSTOMER_CHOOSES,
    OPTIONAL_ITEM_DUPLICATE,
    OPTIONAL_ITEM_RECURRING,
    PAYMENT_DETAILS_NOT_RECURRING,
    PAYMENT_METHOD_COLLECTION_NEEDS_RECURRING,
    SUBSCRIPTION_NEEDS_RECURRING,
    TAX_ID_REQUIRED_NEEDS_COLLECTION,
    TAX_LIABILITY_ACCOUNT_REQUIRED,
    TAX_LIABILITY_NEEDS_AUTOMATIC_TAX,
    TRANSFER_AMOUNT_NEEDS_DESTINATION,
    TRANSFER_AMOUNT_NOT_RECURRING,
    TRIAL_END_NEEDS_TRIAL,
    CustomFieldForm,
)
from tests.catalog.factories import PriceFactory

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


def test_editor_shows_every_option_group(staff_client):
    content = staff_client.get(reverse("links:create")).content.decode()
    for section in (
        "line-items",
        "optional-items",
        "after-completion",
        "checkout",
        "names",
        "shipping",
        "subscription",
        "payment-methods",
        "payment-intent",
        "consent",
        "custom-fields",
        "invoice",
        "restrictions",
        "custom-text",
        "metadata",
        "connect",
    ):
        assert f'id="section-{section}"' in content


def test_a_section_is_checked_and_swapped_alone(staff_client):
    price = PriceFactory()
    data = _data(
        price,
        section="after-completion",
        **{"after_completion-type": "redirect", "after_completion-redirect_url": "https://ex ample.com"},
    )
    response = staff_client.post(reverse("links:create"), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.content.lstrip().startswith(b'<fieldset id="section-after-completion"')
    assert b"section-checkout" not in response.content
    assert str(INVALID_URL_CHARACTERS) in response.content.decode()


def test_subscription_section_appears_with_a_recurring_price(staff_client):
    monthly = PriceFactory(type="recurring", recurring_interval="month", recurring_interval_count=1)
    response = staff_client.post(
        reverse("links:create"), _data(monthly, section="line-items"), HTTP_HX_REQUEST="true"
    )
    content = response.content.decode()
    assert content.lstrip().startswith('<fieldset id="section-line-items"')
    assert '<fieldset id="section-subscription" class="option-section" aria-labelledby' in content
    assert 'data-live-section hx-swap-oob="true"' in content
    assert 'name="subscription-trial_period_days"' in content


def test_subscription_section_stays_a_note_for_one_off_prices(staff_client):
    response = staff_client.post(
        reverse("links:create"), _data(PriceFactory(), section="line-items"), HTTP_HX_REQUEST="true"
    )
    content = response.content.decode()
    unavailable = 'class="option-section section-unavailable" aria-labelledby="section-subscription-title"'
    assert f'{unavailable} hx-swap-oob="true">' in content
    assert 'name="subscription-trial_period_days"' not in content


def test_add_custom_field_without_javascript(staff_client):
    response = staff_client.post(reverse("links:create"), _data(PriceFactory(), add_custom_field="1"))
    assert b"<html" in response.content
    assert b'name="custom_fields-0-key"' in response.content


def test_redirect_url_accepts_the_session_placeholder():
    from links.option_groups import AfterCompletionForm

    form = AfterCompletionForm(
        {
            "after_completion-type": "redirect",
            "after_completion-redirect_url": "https://example.com/t?s={CHECKOUT_SESSION_ID}",
        }
    )
    assert form.is_valid()
    assert form.to_params() == {
        "after_completion": {
            "type": "redirect",
            "redirect": {"url": "https://example.com/t?s={CHECKOUT_SESSION_ID}"},
        }
    }


def test_dropdown_custom_field_rules():
    form = CustomFieldForm(
        {
            "key": "size",
            "label": "Size",
            "type": "dropdown",
            "options": "s: Small\nm: Medium",
            "default_value": "xl",
        }
    )
    assert not form.is_valid()
    assert "default_value" in form.errors
    form = CustomFieldForm(
        {
            "key": "size",
            "label": "Size",
            "type": "dropdown",
            "options": "s: Small\nm: Medium",
            "default_value": "m",
        }
    )
    assert form.is_valid()
    assert form.to_param()["dropdown"] == {
        "options": [{"value": "s", "label": "Small"}, {"value": "m", "label": "Medium"}],
        "default_value": "m",
    }


def test_trial_without_recurring_price_is_refused_at_its_section(staff_client):
    response = staff_client.post(
        reverse("links:create"), _data(PriceFactory(), **{"subscription-trial_period_days": "7"})
    )
    assert response.status_code == 422
    errors = response.context["editor"].groups["subscription"].non_field_errors()
    assert errors == [str(SUBSCRIPTION_NEEDS_RECURRING)]


def test_fee_percent_needs_a_recurring_price(staff_client):
    response = staff_client.post(
        reverse("links:create"), _data(PriceFactory(), **{"connect-application_fee_percent": "5"})
    )
    assert response.status_code == 422
    assert "application_fee_percent" in response.context["editor"].groups["connect"].errors


def test_metadata_limits(staff_client):
    response = staff_client.post(
        reverse("links:create"), _data(PriceFactory(), **{"metadata-metadata": "no colon"})
    )
    assert response.status_code == 422
    assert "metadata" in response.context["editor"].groups["metadata"].errors


def test_a_row_needs_a_price_or_an_item_not_both(staff_client):
    price = PriceFactory()
    both = staff_client.post(
        reverse("links:create"),
        _data(price, **{"line_items-0-adhoc_name": "Wrap", "line_items-0-adhoc_amount": "2"}),
    )
    neither = staff_client.post(reverse("links:create"), _data(price, **{"line_items-0-price": ""}))
    assert "adhoc_name" in both.context["editor"].line_items.forms[0].errors
    assert "price" in neither.context["editor"].line_items.forms[0].errors


def test_one_off_item_in_yen_has_no_decimals(staff_client):
    response = staff_client.post(
        reverse("links:create"),
        _data(
            PriceFactory(currency="jpy"),
            **{
                "line_items-0-price": "",
                "line_items-0-adhoc_name": "Tea",
                "line_items-0-adhoc_amount": "10.5",
                "line_items-0-adhoc_currency": "jpy",
            },
        ),
    )
    assert "adhoc_amount" in response.context["editor"].line_items.forms[0].errors


def test_adding_a_custom_field_while_editing_keeps_the_existing_rows():
    from django.http import QueryDict

    from links.editor import LinkEditor

    options = {
        "custom_fields": [
            {
                "key": "engraving",
                "label": {"type": "custom", "custom": "Engraving"},
                "type": "text",
                "optional": True,
                "text": {"default_value": "For you"},
            }
        ]
    }
    data = QueryDict(mutable=True)
    data.update(
        {
            "name": "Poster link",
            "request_token": "d" * 32,
            "custom_fields-TOTAL_FORMS": "1",
            "custom_fields-INITIAL_FORMS": "1",
            "custom_fields-0-key": "engraving",
            "custom_fields-0-label": "Engraving",
            "custom_fields-0-type": "text",
            "custom_fields-0-optional": "on",
            "custom_fields-0-default_value": "For you",
            "custom_fields-0-options": "",
            "add_custom_field": "1",
        }
    )
    editor = LinkEditor(data, options=options, editing=True, currency="eur")
    rows = editor.formsets["custom_fields"]

    assert rows.total_form_count() == 2
    assert rows.forms[0].initial == CustomFieldForm.values_from(options["custom_fields"][0])
    assert not rows.forms[0].has_changed()  # the merchant's field stays as it was
    assert rows.forms[1].initial == {}  # the new row is empty


def test_payment_details_are_for_one_off_payments(staff_client):
    monthly = PriceFactory(type="recurring", recurring_interval="month", recurring_interval_count=1)
    response = staff_client.post(
        reverse("links:create"), _data(monthly, **{"payment_intent-capture_method": "manual"})
    )
    assert response.status_code == 422
    errors = response.context["editor"].groups["payment_intent"].non_field_errors()
    assert errors == [str(PAYMENT_DETAILS_NOT_RECURRING)]


def test_statement_suffix_refuses_the_characters_stripe_refuses(staff_client):
    response = staff_client.post(
        reverse("links:create"),
        _data(PriceFactory(), **{"payment_intent-statement_descriptor_suffix": "POSTER*1"}),
    )
    assert response.status_code == 422
    errors = response.context["editor"].groups["payment_intent"].errors
    assert list(errors) == ["statement_descriptor_suffix"]


def test_always_creating_a_customer_is_for_one_off_payments(staff_client):
    monthly = PriceFactory(type="recurring", recurring_interval="month", recurring_interval_count=1)
    response = staff_client.post(
        reverse("links:create"), _data(monthly, **{"checkout-customer_creation": "on"})
    )
    assert response.status_code == 422
    errors = response.context["editor"].groups["checkout"].errors
    assert errors == {"customer_creation": [str(CUSTOMER_CREATION_NOT_RECURRING)]}


def test_subscribing_without_a_payment_method_needs_a_recurring_price(staff_client):
    response = staff_client.post(
        reverse("links:create"), _data(PriceFactory(), **{"subscription-payment_method_collection": "on"})
    )
    assert response.status_code == 422
    errors = response.context["editor"].groups["subscription"].errors
    assert errors == {"payment_method_collection": [str(PAYMENT_METHOD_COLLECTION_NEEDS_RECURRING)]}


def test_requiring_a_tax_id_needs_tax_id_collection(staff_client):
    response = staff_client.post(
        reverse("links:create"), _data(PriceFactory(), **{"checkout-tax_id_required": "on"})
    )
    assert response.status_code == 422
    errors = response.context["editor"].groups["checkout"].errors
    assert errors == {"tax_id_required": [str(TAX_ID_REQUIRED_NEEDS_COLLECTION)]}


def test_tax_liability_needs_automatic_tax(staff_client):
    data = {"checkout-tax_liability": "account", "checkout-tax_liability_account": "acct_1"}
    response = staff_client.post(reverse("links:create"), _data(PriceFactory(), **data))
    assert response.status_code == 422
    errors = response.context["editor"].groups["checkout"].errors
    assert errors == {"tax_liability": [str(TAX_LIABILITY_NEEDS_AUTOMATIC_TAX)]}


def test_a_liable_connected_account_must_be_given(staff_client):
    data = {"checkout-automatic_tax": "on", "checkout-tax_liability": "account"}
    response = staff_client.post(reverse("links:create"), _data(PriceFactory(), **data))
    assert response.status_code == 422
    errors = response.context["editor"].groups["checkout"].errors
    assert errors == {"tax_liability_account": [str(TAX_LIABILITY_ACCOUNT_REQUIRED)]}


def test_an_empty_submit_says_to_add_a_line_item_at_the_line_items(staff_client):
    # What a browser sends for the page as shown: one row, untouched.
    row = {"price": "", "quantity": "1", "adhoc_currency": "usd", "adhoc_interval": "", "adhoc_name": ""}
    data = {**_data(PriceFactory()), **{f"line_items-0-{name}": value for name, value in row.items()}}
    response = staff_client.post(reverse("links:create"), {**data, "name": ""})
    assert response.status_code == 422
    content = response.content.decode()
    editor = response.context["editor"]
    assert editor.line_items.non_form_errors() == [str(LINE_ITEMS_TOO_FEW)]
    assert editor.line_items.forms[0].errors == {}  # one message, not a second one on the row
    assert "Add at least one line item" in content and "Please submit" not in content
    section = content[content.index('<fieldset id="section-line-items"') :]
    assert f'<p class="error" role="alert">{LINE_ITEMS_TOO_FEW}</p>' in section


def test_the_error_summary_is_one_sentence_per_error_in_french_typography(staff_client):
    from django.utils import translation

    row = {"price": "", "quantity": "1", "adhoc_currency": "usd", "adhoc_interval": "", "adhoc_name": ""}
    data = {**_data(PriceFactory()), **{f"line_items-0-{name}": value for name, value in row.items()}}
    data["after_completion-type"] = "redirect"  # without its URL: an error in a section
    try:
        response = staff_client.post(reverse("links:create"), data, headers={"Accept-Language": "fr"})
        summary = response.content.decode().split("data-error-summary")[1].split("</ul>")[0]
    finally:
        translation.activate("en")
    # French puts a space before its colon, and a label keeps its capitals (URL).
    assert "Articles : Ajoutez au moins un article" in summary
    assert "Après le paiement, URL de redirection : " in summary


def test_a_row_touched_but_without_a_price_is_an_error_at_its_price(staff_client):
    data = _data(PriceFactory(), **{"line_items-0-price": "", "line_items-0-quantity": "3"})
    response = staff_client.post(reverse("links:create"), data)
    assert response.status_code == 422
    assert "price" in response.context["editor"].line_items.forms[0].errors


def test_the_price_picker_names_product_amount_and_interval(staff_client):
    PriceFactory(
        product__name="Print club",
        currency="eur",
        unit_amount=2500,
        type="recurring",
        recurring_interval="month",
        recurring_interval_count=1,
    )
    content = staff_client.get(reverse("links:create")).content.decode()
    assert "Print club — 25.00 EUR / month</option>" in content
    assert "data-filter-select" not in content  # a short catalog needs no search box


def test_a_long_catalog_gets_a_search_box_over_the_price_picker(staff_client):
    for n in range(PriceSelect.SEARCH_FROM + 1):
        PriceFactory(product__name=f"Poster {n}")
    content = staff_client.get(reverse("links:create")).content.decode()
    assert 'data-filter-select="id_line_items-0-price"' in content
    assert content.count("data-filter-select=") == 1


def test_a_row_added_starts_as_shown_and_without_errors(staff_client):
    price = PriceFactory()
    data = _data(price, add_line_item="1", section="line-items", **{"line_items-0-quantity": ""})
    response = staff_client.post(reverse("links:create"), data, HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert 'name="line_items-1-quantity" value="1"' in content
    # Rows in progress (the first one's quantity was cleared) are checked when the form is submitted.
    assert 'class="errorlist' not in content and "aria-invalid" not in content
    # Left as added, the new row is no line item.
    del data["add_line_item"], data["section"]
    data.update({"line_items-TOTAL_FORMS": "2", "line_items-0-quantity": "2"})
    data.update({"line_items-1-quantity": "1", "line_items-1-adhoc_currency": "usd"})
    editor = LinkEditor(QueryDict(urlencode(data)), currency="usd")
    assert editor.line_items.is_valid()
    assert editor.service_line_items() == [{"quantity": 2, "price": price}]


def _sections(content: str) -> dict[str, str]:
    """Each option section's opening: ``{"shipping": '<details open>…'}``."""
    found = re.findall(
        r'<fieldset id="section-([\w-]+)" class="option-section"[^>]*>\s*(?:\{#.*?#\}\s*)?(<details[^>]*>)',
        content,
    )
    return dict(found)


def test_sections_are_collapsed_to_a_summary_in_the_page_order(staff_client):
    content = staff_client.get(reverse("links:create")).content.decode()
    sections = _sections(content)
    assert set(sections.values()) == {"<details>"}  # all collapsed
    order = [
        content.index(f'id="section-{name}"')
        for name in (
            "line-items",
            "checkout",
            "shipping",
            "custom-fields",
            "consent",
            "after-completion",
            "connect",
            "invoice",
            "metadata",
            "custom-text",
            "restrictions",
        )
    ]
    assert order == sorted(order)
    assert '<span class="section-summary">No shipping address</span>' in content
    assert '<span class="section-summary">No questions</span>' in content


def test_a_duplicate_shows_what_its_sections_set(staff_client):
    from tests.links.factories import PaymentLinkFactory

    link = PaymentLinkFactory(
        options={"allow_promotion_codes": True, "shipping_address_collection": {"allowed_countries": ["FR"]}}
    )
    content = staff_client.get(reverse("links:create"), {"from": link.public_id}).content.decode()
    assert '<span class="section-summary">Promotion codes</span>' in content
    assert '<span class="section-summary">Ships to France</span>' in content


def test_a_section_opens_where_it_has_an_error(staff_client):
    data = _data(PriceFactory(), **{"connect-application_fee_percent": "5"})
    content = staff_client.post(reverse("links:create"), data).content.decode()
    sections = _sections(content)
    assert sections["connect"] == "<details open>"
    assert {name for name, tag in sections.items() if tag == "<details open>"} == {"connect"}
    assert '<span class="section-summary">1 error to correct</span>' in content


def test_the_section_being_changed_stays_open(staff_client):
    data = _data(PriceFactory(), section="consent", **{"consent-terms_of_service": "on"})
    response = staff_client.post(reverse("links:create"), data, HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert _sections(content) == {"consent": "<details open>"}
    assert '<span class="section-summary">Terms of service to accept</span>' in content


def _optional_items(*rows: dict) -> dict:
    data = {"optional_items-TOTAL_FORMS": str(len(rows)), "optional_items-INITIAL_FORMS": "0"}
    for index, row in enumerate(rows):
        data.update({f"optional_items-{index}-{name}": value for name, value in row.items()})
    return data


def test_add_an_optional_item_without_javascript(staff_client):
    response = staff_client.post(reverse("links:create"), _data(PriceFactory(), add_optional_item="1"))
    assert b"<html" in response.content
    content = response.content.decode()
    assert 'name="optional_items-0-price"' in content
    assert 'name="optional_items-1-price"' not in content
    assert 'name="optional_items-0-quantity" value="1"' in content  # the row shows its initial values

    # Submitted as it was added, the row is not an item: the link is checked without it.
    data = _data(PriceFactory(), **_optional_items({"quantity": "1", "price": ""}), section="optional-items")
    response = staff_client.post(reverse("links:create"), data, HTTP_HX_REQUEST="true")
    assert response.context["editor"].formsets["optional_items"].is_valid()


def test_add_an_optional_item_with_htmx_swaps_its_section(staff_client):
    data = _data(PriceFactory(), add_optional_item="1", section="optional-items")
    response = staff_client.post(reverse("links:create"), data, HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert content.lstrip().startswith('<fieldset id="section-optional-items"')
    assert 'name="optional_items-0-price"' in content
    assert "section-custom-fields" not in content


def _optional_item_errors(response, index: int = 0) -> dict:
    assert response.status_code == 422
    return response.context["editor"].formsets["optional_items"].forms[index].errors


def test_an_optional_item_must_be_in_the_links_currency(staff_client):
    rows = _optional_items({"price": PriceFactory(currency="usd").stripe_id, "quantity": "1"})
    response = staff_client.post(reverse("links:create"), _data(PriceFactory(currency="eur"), **rows))
    assert _optional_item_errors(response) == {"price": [OPTIONAL_ITEM_CURRENCY % {"currency": "EUR"}]}
    assert "Optional item 1, Price: " in response.content.decode()  # in the error summary


def test_a_recurring_optional_item_needs_a_subscription(staff_client):
    monthly = PriceFactory(type="recurring", recurring_interval="month", recurring_interval_count=1)
    rows = _optional_items({"price": monthly.stripe_id, "quantity": "1"})
    response = staff_client.post(reverse("links:create"), _data(PriceFactory(), **rows))
    assert _optional_item_errors(response) == {"price": [str(OPTIONAL_ITEM_RECURRING)]}


def test_a_price_the_customer_chooses_is_not_an_optional_item(staff_client):
    chooses = PriceFactory(unit_amount=None, custom_unit_amount={"minimum": 500})
    rows = _optional_items({"price": chooses.stripe_id, "quantity": "1"})
    response = staff_client.post(reverse("links:create"), _data(PriceFactory(), **rows))
    assert _optional_item_errors(response) == {"price": [str(OPTIONAL_ITEM_CUSTOMER_CHOOSES)]}


def test_optional_item_rules_at_their_fields(staff_client):
    frame, lamp = PriceFactory(), PriceFactory()
    rows = _optional_items(
        {"price": frame.stripe_id, "quantity": "5", "adjustable": "on", "minimum": "1", "maximum": "3"},
        {"price": lamp.stripe_id, "quantity": "1", "adjustable": "on", "minimum": "4", "maximum": "2"},
        {"quantity": "2"},  # changed from the new row's 1: no longer empty, so it needs a price
    )
    response = staff_client.post(reverse("links:create"), _data(PriceFactory(), **rows))
    assert list(_optional_item_errors(response, 0)) == ["quantity"]
    assert list(_optional_item_errors(response, 1)) == ["maximum"]
    assert list(_optional_item_errors(response, 2)) == ["price"]


def test_an_optional_item_is_offered_once(staff_client):
    frame = PriceFactory()
    rows = _optional_items(
        {"price": frame.stripe_id, "quantity": "1"}, {"price": frame.stripe_id, "quantity": "2"}
    )
    response = staff_client.post(reverse("links:create"), _data(PriceFactory(), **rows))
    assert response.status_code == 422
    errors = response.context["editor"].formsets["optional_items"].non_form_errors()
    assert errors == [str(OPTIONAL_ITEM_DUPLICATE)]


def test_at_most_ten_optional_items(staff_client):
    rows = _optional_items(*({"price": PriceFactory().stripe_id, "quantity": "1"} for _ in range(11)))
    response = staff_client.post(reverse("links:create"), _data(PriceFactory(), **rows))
    assert response.status_code == 422
    errors = response.context["editor"].formsets["optional_items"].non_form_errors()
    assert errors == ["A link offers at most 10 optional items."]


def _monthly():
    return PriceFactory(type="recurring", recurring_interval="month", recurring_interval_count=1)


def test_what_happens_at_the_trials_end_needs_a_trial(staff_client):
    data = _data(_monthly(), **{"subscription-trial_end_behavior": "cancel"})
    response = staff_client.post(reverse("links:create"), data)
    assert response.status_code == 422
    errors = response.context["editor"].groups["subscription"].errors
    assert errors == {"trial_end_behavior": [str(TRIAL_END_NEEDS_TRIAL)]}


def test_a_connected_account_issuing_the_invoices_must_be_given(staff_client):
    data = _data(_monthly(), **{"subscription-invoice_issuer": "account"})
    response = staff_client.post(reverse("links:create"), data)
    assert response.status_code == 422
    errors = response.context["editor"].groups["subscription"].errors
    assert errors == {"invoice_issuer_account": [str(INVOICE_ISSUER_ACCOUNT_REQUIRED)]}


def test_subscription_metadata_keeps_stripes_limits(staff_client):
    data = _data(_monthly(), **{"subscription-metadata": "no separator here"})
    response = staff_client.post(reverse("links:create"), data)
    assert response.status_code == 422
    assert list(response.context["editor"].groups["subscription"].errors) == ["metadata"]


def _custom_field(**row) -> dict:
    data = {"custom_fields-TOTAL_FORMS": "1", "custom_fields-0-key": "code", "custom_fields-0-label": "Code"}
    return {**data, **{f"custom_fields-0-{name}": value for name, value in row.items()}}


@pytest.mark.parametrize(
    ("row", "errors"),
    [
        ({"minimum_length": "0"}, ["minimum_length"]),
        ({"maximum_length": "256"}, ["maximum_length"]),
        ({"minimum_length": "5", "maximum_length": "4"}, ["maximum_length"]),
        ({"type": "numeric", "minimum_length": "4", "default_value": "12"}, ["default_value"]),
    ],
)
def test_custom_field_lengths_keep_stripes_limits(staff_client, row, errors):
    response = staff_client.post(reverse("links:create"), _data(PriceFactory(), **_custom_field(**row)))
    assert response.status_code == 422
    found = response.context["editor"].formsets["custom_fields"].forms[0].errors
    assert list(found) == errors
    if row.get("maximum_length") == "4":
        assert found["maximum_length"] == [str(LENGTH_MAXIMUM_BELOW_MINIMUM)]
    if "default_value" in row:
        assert found["default_value"] == [str(DEFAULT_VALUE_LENGTH)]


def test_a_dropdown_keeps_no_lengths():
    from links.option_groups import CustomFieldFormSet

    data = _custom_field(type="dropdown", options="a: A", minimum_length="3")
    rows = CustomFieldFormSet(
        QueryDict(urlencode({**data, "custom_fields-INITIAL_FORMS": "0"})), prefix="custom_fields"
    )
    assert rows.is_valid(), rows.errors
    assert "dropdown" in rows.to_params()["custom_fields"][0]
    assert "text" not in rows.to_params()["custom_fields"][0]


def _connect_errors(response) -> dict:
    assert response.status_code == 422
    return response.context["editor"].groups["connect"].errors


def test_an_amount_to_transfer_needs_the_account(staff_client):
    data = _data(PriceFactory(), **{"connect-transfer_amount": "5"})
    response = staff_client.post(reverse("links:create"), data)
    assert _connect_errors(response) == {"transfer_amount": [str(TRANSFER_AMOUNT_NEEDS_DESTINATION)]}


def test_an_amount_to_transfer_is_for_one_off_payments(staff_client):
    data = _data(_monthly(), **{"connect-transfer_destination": "acct_1", "connect-transfer_amount": "5"})
    response = staff_client.post(reverse("links:create"), data)
    assert _connect_errors(response) == {"transfer_amount": [str(TRANSFER_AMOUNT_NOT_RECURRING)]}


def test_an_amount_to_transfer_in_yen_has_no_decimals(staff_client):
    yen = PriceFactory(currency="jpy", unit_amount=1500)
    data = _data(yen, **{"connect-transfer_destination": "acct_1", "connect-transfer_amount": "500.5"})
    response = staff_client.post(reverse("links:create"), data)
    assert list(_connect_errors(response)) == ["transfer_amount"]


# The live preview ----------------------------------------------------------------------------------


def test_the_preview_shows_the_items_the_total_and_what_is_asked(staff_client):
    price = PriceFactory(product__name="Poster", currency="eur", unit_amount=1500)
    data = _data(price, preview="1", name="", **{"line_items-0-quantity": "3"})
    data.update({"checkout-phone_number_collection": "on", "checkout-allow_promotion_codes": "on"})
    response = staff_client.post(reverse("links:create"), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200  # the form's errors (no name) are the form's to report
    content = response.content.decode()
    assert content.lstrip().startswith('<aside id="link-preview"')
    assert "<strong>Poster</strong> × 3" in content
    assert '<strong class="amount" data-preview-total>45.00 EUR</strong>' in content
    asked = re.findall(r"<li>([^<]+)</li>", content[content.index('class="preview-asked"') :])
    assert asked[:3] == ["E-mail address", "Phone number", "A promotion code (optional)"]
    assert '<span class="preview-button">Pay</span>' in content


def test_the_preview_leaves_out_what_is_not_valid_yet(staff_client):
    price = PriceFactory(currency="eur", unit_amount=1500)
    data = _data(
        price, preview="1", **{"line_items-0-quantity": "0", "restrictions-completed_sessions_limit": "x"}
    )
    content = staff_client.post(reverse("links:create"), data, HTTP_HX_REQUEST="true").content.decode()
    assert "Choose a price to see what the customer pays." in content
    assert "errorlist" not in content


def test_the_page_shows_the_preview_of_a_subscription_with_a_trial(staff_client):
    monthly = PriceFactory(
        product__name="Print club",
        currency="eur",
        unit_amount=900,
        type="recurring",
        recurring_interval="month",
        recurring_interval_count=1,
    )
    data = _data(monthly, preview="1", **{"subscription-trial_period_days": "14"})
    content = staff_client.post(reverse("links:create"), data, HTTP_HX_REQUEST="true").content.decode()
    assert "9.00 EUR / month" in content and "Free for 14 days, then charged as above." in content
    assert '<span class="preview-button">Subscribe</span>' in content
    page = staff_client.get(reverse("links:create")).content.decode()
    assert page.index('id="link-preview"') > page.index(
        'id="section-restrictions"'
    )  # below the form in the flow


def test_the_edit_page_previews_the_links_items(staff_client):
    from tests.links.factories import LineItemFactory

    item = LineItemFactory(
        quantity=2, price__unit_amount=1200, price__currency="usd", price__product__name="Mug"
    )
    content = staff_client.get(reverse("links:edit", args=[item.payment_link.public_id])).content.decode()
    preview = content[content.index('<aside id="link-preview"') :]
    assert "<strong>Mug</strong> × 2" in preview and "24.00 USD" in preview


def test_the_preview_and_the_summary_name_the_optional_items(staff_client):
    frame = PriceFactory(product__name="Oak frame", currency="usd", unit_amount=1200)
    data = _data(PriceFactory(), preview="1", **_optional_items({"price": frame.stripe_id, "quantity": "1"}))
    content = staff_client.post(reverse("links:create"), data, HTTP_HX_REQUEST="true").content.decode()
    assert "<li>Oak frame — 12.00 USD</li>" in content
    data.pop("preview")
    data["section"] = "optional-items"
    content = staff_client.post(reverse("links:create"), data, HTTP_HX_REQUEST="true").content.decode()
    assert '<span class="section-summary">Oak frame</span>' in content
