"""Each option group's declaration: its values round-trip through Stripe's parameters, Stripe's link
object reads back as the same options, and an update clears a group with the values it declares."""

from __future__ import annotations

import pytest
from django.http import QueryDict
from django.utils import translation

from catalog import services as catalog_services
from catalog.models import ShippingRate
from config.stripe_calls import as_dict
from links import services
from links.option_groups import (
    OPTION_FORMSETS,
    OPTION_GROUPS,
    CustomFieldFormSet,
    KeyByKey,
    options_from_stripe,
    options_update_params,
    options_with_created_kept,
)
from tests.catalog.factories import PriceFactory

# The groups that need a recurring price in the link; the others are tried on a one-off price.
NEEDS_RECURRING = {"subscription"}


def representative_data(*, rate: str, account: str, other_account: str, add_on: str) -> dict[str, dict]:
    """For each group, the editor's POST data of a typical choice that fills most of its fields
    (``add_on``: a one-off price in euros, offered as an optional item)."""
    return {
        "after_completion": {
            "after_completion-type": "redirect",
            "after_completion-redirect_url": "https://example.com/thanks?s={CHECKOUT_SESSION_ID}",
        },
        "checkout": {
            "checkout-allow_promotion_codes": "on",
            "checkout-automatic_tax": "on",
            "checkout-tax_liability": "account",
            "checkout-tax_liability_account": account,
            "checkout-billing_address_collection": "required",
            "checkout-phone_number_collection": "on",
            "checkout-tax_id_collection": "on",
            "checkout-tax_id_required": "on",
            "checkout-submit_type": "pay",
            "checkout-customer_creation": "on",
        },
        "names": {"names-individual": "required", "names-business": "optional"},
        "shipping": {"shipping-countries": ["FR", "DE"], "shipping-shipping_rates": [rate]},
        "subscription": {
            "subscription-trial_period_days": "14",
            "subscription-description": "Monthly poster",
            "subscription-payment_method_collection": "on",
            "subscription-trial_end_behavior": "pause",
            "subscription-invoice_issuer": "account",
            "subscription-invoice_issuer_account": account,
            "subscription-metadata": "plan: poster club",
        },
        "payment_methods": {"payment_methods-payment_method_types": ["card"]},
        "payment_intent": {
            "payment_intent-capture_method": "manual",
            "payment_intent-setup_future_usage": "off_session",
            "payment_intent-description": "Poster order",
            "payment_intent-statement_descriptor_suffix": "POSTER",
            "payment_intent-metadata": "order_source: web",
        },
        "consent": {
            "consent-terms_of_service": "on",
            "consent-terms_text": "I agree to the terms.",
            "consent-promotions": "on",
            "consent-reuse_agreement": "hidden",
        },
        "optional_items": {
            "optional_items-TOTAL_FORMS": "2",
            "optional_items-INITIAL_FORMS": "0",
            "optional_items-0-price": add_on,
            "optional_items-0-quantity": "2",
            "optional_items-0-adjustable": "on",
            "optional_items-0-minimum": "1",
            "optional_items-0-maximum": "5",
            # A row added and left empty is not an item.
            "optional_items-1-quantity": "1",
        },
        "custom_fields": {
            "custom_fields-TOTAL_FORMS": "2",
            "custom_fields-INITIAL_FORMS": "0",
            "custom_fields-0-key": "engraving",
            "custom_fields-0-label": "Engraving",
            "custom_fields-0-type": "text",
            "custom_fields-0-optional": "on",
            "custom_fields-0-default_value": "For you",
            "custom_fields-0-minimum_length": "3",
            "custom_fields-0-maximum_length": "40",
            "custom_fields-1-key": "size",
            "custom_fields-1-label": "Size",
            "custom_fields-1-type": "dropdown",
            "custom_fields-1-options": "s: Small\nm: Medium",
            "custom_fields-1-default_value": "m",
        },
        "invoice": {
            "invoice-enabled": "on",
            "invoice-description": "Thanks",
            "invoice-footer": "Paylinks SAS",
            "invoice-custom_fields": "Purchase order: PO-1234\nVAT: FR0123",
            "invoice-metadata": "team: web",
        },
        "restrictions": {
            "restrictions-completed_sessions_limit": "10",
            "restrictions-inactive_message": "Sold out",
        },
        "custom_text": {"custom_text-submit": "Ships in 2 days", "custom_text-after_submit": "Thank you"},
        "metadata": {"metadata-metadata": "campaign: spring\nchannel: mail"},
        "connect": {
            "connect-application_fee_amount": "1.50",
            "connect-on_behalf_of": account,
            "connect-transfer_destination": other_account,
            "connect-transfer_amount": "12.50",
        },
    }


def _query(data: dict) -> QueryDict:
    query = QueryDict(mutable=True)
    for name, value in data.items():
        query.setlist(name, value if isinstance(value, list) else [value])
    return query


def _bound(group, data: dict, *, initial=None):
    """The group's form (or formset, for custom fields) bound to ``data``, as the editor makes it."""
    if group in OPTION_FORMSETS:
        return group(_query(data), prefix=group.key, initial=initial)
    return group(_query(data), initial=initial, link_currency="eur")


def _groups():
    return pytest.mark.parametrize("group", OPTION_GROUPS, ids=[group.key for group in OPTION_GROUPS])


def test_every_group_has_a_representative_value():
    data = representative_data(rate="shr_1", account="acct_1", other_account="acct_2", add_on="price_1")
    assert set(data) == {group.key for group in OPTION_GROUPS}


@pytest.mark.django_db
@_groups()
def test_form_data_round_trips_through_stripe_params(group):
    ShippingRate.objects.create(stripe_id="shr_test1", display_name="Express", amount=900, currency="eur")
    add_on = PriceFactory(currency="eur")
    data = representative_data(
        rate="shr_test1", account="acct_1", other_account="acct_2", add_on=add_on.stripe_id
    )[group.key]
    form = _bound(group, data)
    assert form.is_valid(), form.errors
    params = form.to_params()
    values = group.values_from(params)

    assert params
    assert set(params) <= set(group.unset)  # every parameter it writes has its unset value
    assert group.params_from(values) == params
    assert not _bound(group, data, initial=values).has_changed()  # the form shows what was typed


@pytest.mark.django_db
def test_a_custom_field_row_added_and_left_empty_is_ignored():
    empty_row = {
        "custom_fields-TOTAL_FORMS": "1",
        "custom_fields-INITIAL_FORMS": "0",
        "custom_fields-0-type": "text",
    }
    formset = _bound(CustomFieldFormSet, {**empty_row, "custom_fields-0-options": ""})
    assert formset.is_valid(), formset.errors
    assert formset.to_params() == {}


def test_groups_that_share_a_parameter_unset_it_alike():
    declared: dict[str, set] = {}
    for group in OPTION_GROUPS:
        for name, unset in group.unset.items():
            declared.setdefault(name, set()).add(repr(unset))
    assert {name: values for name, values in declared.items() if len(values) > 1} == {}


@pytest.fixture
def link_prices(stripe_client):
    one_off = catalog_services.product_create_with_price(
        name="Poster", currency="eur", unit_amount=1500, request_token="5" * 32
    )
    monthly = catalog_services.product_create_with_price(
        name="Poster club", currency="eur", unit_amount=900, interval="month", request_token="6" * 32
    )
    add_on = catalog_services.product_create_with_price(
        name="Frame", currency="eur", unit_amount=2500, request_token="4" * 32
    )
    return {"one_off": one_off.prices.get(), "monthly": monthly.prices.get(), "add_on": add_on.prices.get()}


@pytest.mark.django_db(transaction=True)
@_groups()
def test_stripe_reads_back_each_group_and_an_update_clears_it(group, stripe_client, link_prices):
    rate = catalog_services.shipping_rate_create(
        display_name="Express", amount=900, currency="eur", request_token="7" * 32
    )
    accounts = [stripe_client.v1.accounts.create(params={"type": "custom"}).id for _ in range(2)]
    data = representative_data(
        rate=rate.stripe_id,
        account=accounts[0],
        other_account=accounts[1],
        add_on=link_prices["add_on"].stripe_id,
    )
    form = _bound(group, data[group.key])
    assert form.is_valid(), form.errors
    params = form.to_params()
    price = link_prices["monthly" if group.key in NEEDS_RECURRING else "one_off"]
    link = services.payment_link_create(
        name="Poster", line_items=[{"price": price, "quantity": 1}], options=params, request_token="8" * 32
    )

    created = as_dict(stripe_client.v1.payment_links.retrieve(link.stripe_id))
    assert options_from_stripe(created) == params  # what the importer and the editor read back

    kept = options_with_created_kept(old=params, new={})
    sent = options_update_params(old=params, new=kept)
    for name in params:
        unset = group.unset[name]
        if isinstance(unset, KeyByKey) and unset.whole is not None:
            assert sent[name] == unset.whole
        elif isinstance(unset, KeyByKey):
            assert sent[name] == {key: unset.unset(key) for key in sent[name]}
        else:
            assert sent[name] == unset
    link = services.payment_link_update(link=link, name="Poster", options={})

    cleared = as_dict(stripe_client.v1.payment_links.retrieve(link.stripe_id))
    assert link.options == kept
    assert options_from_stripe(cleared) == kept


# What a collapsed section says it sets -----------------------------------------------------------


@pytest.fixture
def english():
    """The summaries' words in English, whatever a request in French left active in this thread."""
    with translation.override("en"):
        yield


@pytest.mark.django_db
def test_a_shipping_summary_names_a_few_countries_and_counts_many(english):
    from links.option_groups import ShippingForm

    few = ShippingForm(
        initial=ShippingForm.values_from({"shipping_address_collection": {"allowed_countries": ["FR", "BE"]}})
    )
    many = ShippingForm(
        initial=ShippingForm.values_from(
            {"shipping_address_collection": {"allowed_countries": ["FR", "BE", "DE", "IT", "ES"]}}
        )
    )
    assert few.summary() == "Ships to France, Belgium"
    assert many.summary() == "Ships to 5 countries"
    assert ShippingForm().summary() == "No shipping address"


def test_a_summary_follows_what_the_merchant_chose(english):
    from links.option_groups import CheckoutForm, RestrictionsForm

    checkout = CheckoutForm(
        {
            "checkout-allow_promotion_codes": "on",
            "checkout-phone_number_collection": "on",
            "checkout-submit_type": "book",
        }
    )
    assert checkout.summary() == "Promotion codes, phone number, button “Book”"
    limits = RestrictionsForm({"restrictions-completed_sessions_limit": "100"})
    assert limits.summary() == "Stops after 100 payments"
    assert RestrictionsForm({"restrictions-completed_sessions_limit": "0"}).summary() == "1 error to correct"


def test_the_connect_summary_shows_the_fee_in_the_links_currency(english):
    from links.option_groups import ConnectForm

    form = ConnectForm(initial=ConnectForm.values_from({"application_fee_amount": 150}), link_currency="eur")
    assert form.summary() == "Fee of 1.50 EUR"
    assert ConnectForm().summary() == "No connected account"


def test_the_custom_fields_summary_lists_the_questions(english):
    from links.option_groups import CustomFieldFormSet

    data = {
        "custom_fields-TOTAL_FORMS": "2",
        "custom_fields-INITIAL_FORMS": "0",
        "custom_fields-0-key": "engraving",
        "custom_fields-0-label": "Engraving",
        "custom_fields-0-type": "text",
        "custom_fields-0-optional": "on",
        "custom_fields-1-key": "size",
        "custom_fields-1-label": "Size",
        "custom_fields-1-type": "text",
    }
    assert CustomFieldFormSet(data, prefix="custom_fields").summary() == "Engraving (optional), Size"
    assert CustomFieldFormSet(prefix="custom_fields").summary() == "No questions"
