"""The benchmarks' seeding command writes rows as the services would leave them."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db.models import Sum

from links.models import Customer, CustomerSpend, DailyRevenue, LinkDailyRevenue, Order, PaymentLink
from links.services import link_search_text_refresh

pytestmark = pytest.mark.django_db


def test_seeded_links_carry_the_search_text_the_services_write():
    call_command("bench_seed", links=20, orders=60, stdout=io.StringIO())
    seeded = dict(PaymentLink.objects.values_list("pk", "search_text"))
    assert len(seeded) == 20 and all(seeded.values())
    link_search_text_refresh(links=PaymentLink.objects.all())
    assert dict(PaymentLink.objects.values_list("pk", "search_text")) == seeded
    assert Order.objects.count() == 60


def test_seeded_orders_are_in_the_daily_figures():
    call_command("bench_seed", links=20, orders=60, stdout=io.StringIO())
    paid = Order.objects.filter(paid_at__isnull=False)
    received = sum(paid.values_list("amount_total", flat=True))
    assert received and DailyRevenue.objects.aggregate(total=Sum("received"))["total"] == received
    assert LinkDailyRevenue.objects.aggregate(total=Sum("received"))["total"] == received
    assert LinkDailyRevenue.objects.aggregate(total=Sum("orders_count"))["total"] == paid.count()


def test_seeded_orders_have_their_customers():
    call_command("bench_seed", links=5, orders=40, stdout=io.StringIO())
    paid = Order.objects.filter(paid_at__isnull=False)
    assert Customer.objects.count() == len(
        {email.upper() for email in paid.values_list("customer_email", flat=True)}
    )
    assert sum(Customer.objects.values_list("orders_count", flat=True)) == paid.count()
    assert sum(CustomerSpend.objects.values_list("total", flat=True)) == sum(
        paid.values_list("amount_total", flat=True)
    )
