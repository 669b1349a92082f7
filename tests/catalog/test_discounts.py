"""Coupons and promotion codes: pages, rules, and the objects they make in Stripe (the sandbox)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from catalog import services
from catalog.models import Coupon, PromotionCode

TOKEN = "7" * 32


@pytest.fixture
def coupon(db):
    return Coupon.objects.create(stripe_id="SPRING", name="Spring", percent_off=Decimal("25"))


@pytest.mark.django_db
def test_personas(other_user, staff_client, coupon):
    urls = [reverse("catalog:coupon-list"), reverse("catalog:coupon-detail", args=[coupon.stripe_id])]
    anonymous, non_staff = Client(), Client()
    non_staff.force_login(other_user)
    for url in urls:
        assert anonymous.get(url)["Location"].startswith("/accounts/login/")
        assert non_staff.get(url).status_code == 403
        assert staff_client.get(url).status_code == 200


@pytest.mark.django_db
def test_coupon_form_needs_the_chosen_discount(staff_client):
    data = {
        "name": "X",
        "kind": "amount",
        "percent_off": "",
        "amount_off": "",
        "currency": "usd",
        "duration": "once",
        "request_token": TOKEN,
    }
    full = staff_client.post(reverse("catalog:coupon-list"), data)
    fragment = staff_client.post(reverse("catalog:coupon-list"), data, HTTP_HX_REQUEST="true")
    assert full.status_code == 422 and "amount_off" in full.context["form"].errors
    assert fragment.content.lstrip().startswith(b'<form id="coupon-form"')


@pytest.mark.django_db(transaction=True)
def test_coupon_and_promotion_code_in_stripe(stripe_client):
    coupon = services.coupon_create(
        name="Spring",
        percent_off=Decimal("25"),
        duration="repeating",
        duration_in_months=3,
        request_token=TOKEN,
    )
    code = services.promotion_code_create(
        coupon=coupon, code="SPRING-25", max_redemptions=100, first_time_transaction=True, request_token=TOKEN
    )
    remote = stripe_client.v1.promotion_codes.retrieve(code.stripe_id)
    assert remote.code == "SPRING-25" and remote.restrictions.first_time_transaction is True
    assert (coupon.percent_off, coupon.duration_in_months) == (Decimal("25"), 3)
    code = services.promotion_code_set_active(promotion_code=code, active=False)
    assert code.active is False
    assert stripe_client.v1.promotion_codes.retrieve(code.stripe_id).active is False


@pytest.mark.django_db(transaction=True)
def test_pages_create_coupon_and_code(sandbox, staff_client):
    data = {
        "name": "Ten off",
        "kind": "amount",
        "amount_off": "10",
        "currency": "eur",
        "duration": "once",
        "request_token": TOKEN,
    }
    response = staff_client.post(reverse("catalog:coupon-list"), data)
    coupon = Coupon.objects.get()
    assert response["Location"] == reverse("catalog:coupon-detail", args=[coupon.stripe_id])
    assert (coupon.amount_off, coupon.currency) == (1000, "eur")
    response = staff_client.post(
        response["Location"], {"code": "TEN", "request_token": "8" * 32, "minimum_amount_currency": "eur"}
    )
    assert response.status_code == 302
    assert PromotionCode.objects.get().code == "TEN"
    toggle = staff_client.post(
        reverse("catalog:promotion-code-active", args=[PromotionCode.objects.get().stripe_id]),
        {"active": "false"},
    )
    assert toggle.status_code == 302 and PromotionCode.objects.get().active is False
