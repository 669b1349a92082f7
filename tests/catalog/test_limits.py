"""Stripe's limits: the models refuse what Stripe would (full_clean, as the sync and the webhooks use
it), and the catalog's forms say so at the field before anything is sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from catalog import limits
from catalog.forms import (
    DATE_IN_PAST,
    FORM_TAMPERED,
    TIERS_TOO_FEW,
    TIERS_TOO_MANY,
    CouponForm,
    PriceCreateForm,
    ProductCreateForm,
    PromotionCodeForm,
    ShippingRateForm,
)
from catalog.models import Coupon, Price, Product, PromotionCode, ShippingRate
from tests.catalog.factories import PriceFactory, ProductFactory

pytestmark = pytest.mark.django_db

TOO_BIG = 2**31


def _price(**fields) -> Price:
    return Price(product=ProductFactory(), stripe_id="price_limits", **{"currency": "usd", **fields})


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: _price(unit_amount=limits.MAX_AMOUNT + 1), "unit_amount"),
        (lambda: _price(currency="xxx"), "currency"),
        (lambda: _price(tiers=[{"up_to": TOO_BIG, "unit_amount": 1}, {"up_to": None}]), "tiers"),
        (lambda: _price(tiers=[{"up_to": None, "flat_amount": limits.MAX_AMOUNT + 1}]), "tiers"),
        (lambda: _price(transform_quantity={"divide_by": TOO_BIG, "round": "up"}), "transform_quantity"),
        (lambda: _price(custom_unit_amount={"maximum": limits.MAX_AMOUNT + 1}), "custom_unit_amount"),
        (lambda: _price(nickname="n" * (limits.PRICE_NICKNAME_MAX_LENGTH + 1)), "nickname"),
        (lambda: Product(stripe_id="prod_l", name="n" * 251), "name"),
        (lambda: Product(stripe_id="prod_l", name="n", description="d" * 40_001), "description"),
        (
            lambda: ShippingRate(
                stripe_id="shr_l",
                display_name="Express",
                amount=1,
                currency="usd",
                delivery_estimate={"minimum": {"unit": "day", "value": TOO_BIG}},
            ),
            "delivery_estimate",
        ),
        (
            lambda: ShippingRate(stripe_id="shr_l", display_name="x" * 101, amount=1, currency="usd"),
            "display_name",
        ),
        (lambda: Coupon(stripe_id="c_l", name="n" * 41, percent_off=5), "name"),
        (lambda: Coupon(stripe_id="c_l", percent_off=5, max_redemptions=TOO_BIG), "max_redemptions"),
        (lambda: Coupon(stripe_id="c_l", amount_off=limits.MAX_AMOUNT + 1, currency="usd"), "amount_off"),
    ],
)
def test_the_models_refuse_what_stripe_would(build, field):
    with pytest.raises(ValidationError) as error:
        build().full_clean()
    assert field in error.value.error_dict


def test_the_models_accept_stripe_s_largest_values():
    price = _price(
        unit_amount=limits.MAX_AMOUNT,
        currency="idr",
        tiers=[{"up_to": limits.MAX_COUNT, "unit_amount": 1}, {"up_to": "inf", "flat_amount": 0}],
        transform_quantity={"divide_by": limits.MAX_COUNT, "round": "down"},
        nickname="n" * limits.PRICE_NICKNAME_MAX_LENGTH,
    )
    price.full_clean()
    price.save()
    coupon = Coupon.objects.create(stripe_id="c_max", percent_off=5)
    PromotionCode(
        stripe_id="promo_max", coupon=coupon, code="A", max_redemptions=limits.MAX_COUNT
    ).full_clean()


def _product_data(**extra) -> dict:
    return {
        "name": "Poster",
        "unit_amount": "10",
        "currency": "usd",
        "type": "one_time",
        "tax_behavior": "unspecified",
        "request_token": "a" * 32,
        **extra,
    }


@pytest.mark.parametrize(("amount", "currency"), [("1000000.00", "usd"), ("100000000", "jpy")])
def test_an_amount_above_eight_digits_is_refused_at_its_field(amount, currency):
    form = ProductCreateForm(_product_data(unit_amount=amount, currency=currency))
    assert not form.is_valid()
    assert "99,999,999" in form.errors["unit_amount"][0]


def test_the_largest_amount_passes():
    form = ProductCreateForm(_product_data(unit_amount="999999.99"))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["unit_amount"] == limits.MAX_AMOUNT


def test_a_product_description_longer_than_stripe_s_is_refused():
    form = ProductCreateForm(_product_data(description="d" * (limits.PRODUCT_DESCRIPTION_MAX_LENGTH + 1)))
    assert not form.is_valid()
    assert "description" in form.errors


def test_a_shipping_rate_s_delivery_estimate_is_a_32_bit_count():
    data = {"display_name": "Express", "amount": "5", "currency": "usd", "delivery_unit": "day"}
    data.update(delivery_maximum=str(TOO_BIG), tax_behavior="unspecified", request_token="a" * 32)
    form = ShippingRateForm(data)
    assert not form.is_valid()
    assert list(form.errors) == ["delivery_maximum"]


def test_a_coupon_cannot_end_in_the_past():
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    data = {"kind": "percent", "percent_off": "10", "duration": "once", "request_token": "a" * 32}
    form = CouponForm({**data, "redeem_by": yesterday.isoformat(), "max_redemptions": str(TOO_BIG)})
    assert not form.is_valid()
    assert form.errors["redeem_by"] == [str(DATE_IN_PAST)]
    assert "max_redemptions" in form.errors
    assert CouponForm({**data, "redeem_by": datetime.now(UTC).date().isoformat()}).is_valid()


def test_a_promotion_code_cannot_expire_in_the_past():
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    form = PromotionCodeForm({"expires_at": yesterday.isoformat(), "request_token": "a" * 32})
    assert not form.is_valid()
    assert form.errors["expires_at"] == [str(DATE_IN_PAST)]


def _tiered(**extra) -> dict:
    return {
        "pricing_model": "tiered",
        "currency": "usd",
        "type": "one_time",
        "tax_behavior": "unspecified",
        "request_token": "a" * 32,
        "tiers-TOTAL_FORMS": "1",
        "tiers-INITIAL_FORMS": "0",
        "tiers-0-unit_amount": "1",
        **extra,
    }


def test_a_package_size_and_a_tier_bound_are_32_bit_counts():
    package = PriceCreateForm(_tiered(pricing_model="package", unit_amount="1", package_size=str(TOO_BIG)))
    assert not package.is_valid()
    assert "package_size" in package.errors
    tiers = PriceCreateForm(
        _tiered(**{"tiers-TOTAL_FORMS": "2", "tiers-0-up_to": str(TOO_BIG), "tiers-1-unit_amount": "1"})
    )
    assert not tiers.is_valid()
    assert "up_to" in tiers.tiers.forms[0].errors


def test_no_tier_says_to_add_one():
    form = PriceCreateForm(_tiered(**{"tiers-TOTAL_FORMS": "0"}))
    assert not form.is_valid()
    assert form.tiers.non_form_errors() == [str(TIERS_TOO_FEW)]


@pytest.mark.parametrize("total", ["abc", "1e3", "-1", "", None])
@pytest.mark.parametrize("button", ["add_tier", "save"])
def test_broken_tier_counts_answer_the_form_with_an_error(staff_client, total, button):
    price = PriceFactory()
    data = _tiered(**{button: "1"})
    if total is None:
        del data["tiers-TOTAL_FORMS"]
    else:
        data["tiers-TOTAL_FORMS"] = total
    response = staff_client.post(reverse("catalog:price-create", args=[price.product.stripe_id]), data)
    assert response.status_code in (200, 422)
    if button == "save":
        assert response.status_code == 422
        assert str(TIERS_TOO_FEW if total is None else FORM_TAMPERED) in response.content.decode()
    assert Price.objects.count() == 1


def test_a_huge_tier_count_builds_at_most_fifty_rows():
    form = PriceCreateForm(_tiered(**{"tiers-TOTAL_FORMS": str(10**9), "add_tier": "1"}))
    assert len(form.tiers.forms) == 50
    assert not form.is_valid()
    assert form.tiers.non_form_errors() == [str(TIERS_TOO_MANY % {"num": 50})]
