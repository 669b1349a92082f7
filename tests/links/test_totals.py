"""The home page's running totals: added to with what they count, once, and equal to a recount."""

from __future__ import annotations

import pytest
from django.urls import reverse

from catalog import services as catalog_services
from links import disputes, fulfilment, services
from links.models import LinkTotal, PaymentLink
from links.totals import PAID_SHARDS, link_total_add, link_totals, link_totals_rebuild
from tests.webhooks.stripe_objects import checkout_session, line_item

TOKEN = "0123456789abcdef0123456789abcdef"


def _counts() -> tuple[int, int]:
    totals = link_totals()
    return totals["links_total"], totals["links_active"]


@pytest.fixture
def price(stripe_client):
    product = catalog_services.product_create_with_price(
        name="Poster", currency="usd", unit_amount=1500, request_token="2" * 32
    )
    return product.prices.get()


@pytest.mark.django_db(transaction=True)
def test_links_counted_when_created_once_and_when_switched(stripe_client, price):
    create = {"name": "A", "line_items": [{"price": price, "quantity": 1}], "request_token": TOKEN}
    link = services.payment_link_create(**create)
    services.payment_link_create(**create)  # a retried form: the same link, not counted again
    assert _counts() == (1, 1)
    link = services.payment_link_set_active(link=link, active=False)
    assert _counts() == (1, 0)
    # Stripe telling us again what we already have changes nothing.
    services.payment_link_sync_from_stripe(data={"id": link.stripe_id, "active": False}, event_created=300)
    assert _counts() == (1, 0)
    # An older event than the one applied is ignored, and so is its "active".
    services.payment_link_sync_from_stripe(data={"id": link.stripe_id, "active": True}, event_created=100)
    assert _counts() == (1, 0)
    services.payment_link_set_active(link=link, active=True)
    services.payment_link_create(
        name="B", line_items=[{"price": price, "quantity": 2}], request_token="3" * 32
    )
    assert _counts() == (2, 2)
    link_totals_rebuild()
    assert _counts() == (2, 2)


@pytest.mark.django_db
def test_paid_orders_counted_once_per_order_by_currency(django_capture_on_commit_callbacks):
    link = PaymentLink.objects.create(
        stripe_id="plink_totals", name="T", url="http://x.test/p", currency="eur"
    )
    with django_capture_on_commit_callbacks():
        for index in range(PAID_SHARDS + 3):
            session = checkout_session(id=f"cs_test_totals_{index}", payment_link=link.stripe_id)
            fulfilment.order_record_session(session=session, line_items=[line_item()], actor="test")
        # A duplicate delivery of a session already recorded.
        fulfilment.order_record_session(session=session, line_items=[line_item()], actor="test")
        unpaid = checkout_session(
            id="cs_test_totals_unpaid", payment_link=link.stripe_id, payment_status="unpaid"
        )
        fulfilment.order_record_session(session=unpaid, line_items=[line_item()], actor="test")
    paid = link_totals()["orders_paid"]
    assert paid == [{"currency": "eur", "count": PAID_SHARDS + 3, "total": 2000 * (PAID_SHARDS + 3)}]
    # Spread over rows, so that concurrent workers do not queue on one lock.
    assert LinkTotal.objects.filter(key="paid:eur").count() == PAID_SHARDS
    link_totals_rebuild()
    assert link_totals()["orders_paid"] == paid


@pytest.mark.django_db
def test_the_rebuild_takes_a_lost_dispute_off_as_the_running_totals_do(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        order = fulfilment.order_record_session(
            session=checkout_session(id="cs_test_totals_disputed"), line_items=[line_item()], actor="test"
        )
    dispute = {"id": "dp_test_totals", "amount": 1500, "currency": "eur", "reason": "fraudulent"}
    dispute |= {"payment_intent": order.payment_intent_id, "charge": "ch_test_totals"}
    disputes.dispute_record(dispute={**dispute, "status": "needs_response"}, actor="test")
    disputes.dispute_record(dispute={**dispute, "status": "lost"}, actor="test")
    running = link_totals()["orders_paid"]
    assert running == [{"currency": order.currency, "count": 1, "total": order.amount_total - 1500}]
    link_totals_rebuild()
    assert link_totals()["orders_paid"] == running


@pytest.mark.django_db
def test_home_shows_the_totals(staff_client):
    link_total_add(key="links", count=120_000)
    link_total_add(key="links_active", count=100_001)
    link_total_add(key="paid:jpy", shard=3, count=7, amount=350_000)
    link_total_add(key="paid:jpy", shard=5, count=3, amount=150_000)
    page = staff_client.get(reverse("home")).content.decode()
    assert "<h2>100001</h2>" in page and "of 120000" in page
    # JPY has no minor unit: 500,000 minor units are ¥500,000.
    assert "<h2>500,000 JPY</h2><p>10 paid orders</p>" in page
