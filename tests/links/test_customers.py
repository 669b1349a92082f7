"""Customers (issue 27, item 4): their totals kept by the transaction that records a payment or a refund,
the rebuild from the orders, and the customers pages (search, sorts, pagination, links to and from orders).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.urls import reverse

from config.roles import staff_role_set
from links import customer_views, fulfilment
from links import customers as customers_module
from links.customers import CustomersByTotal, customer_list, customers_rebuild
from links.fulfilment import order_amount_received
from links.models import Customer, CustomerLink, CustomerSpend, Dispute, Order, OrderStatusChange
from links.revenue import revenue_count_payment, revenue_count_refund
from tests.catalog.factories import PriceFactory
from tests.links.factories import OrderFactory, PaymentLinkFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _pay(*, email: str, amount: int = 1000, currency: str = "usd", link=None, name: str = "", days: int = 0):
    """An order placed ``days`` after START and then paid, through fulfilment's status change (the path a
    webhook takes), in its own transaction under the order's lock."""
    order = OrderFactory(
        status=Order.Status.AWAITING_PAYMENT,
        customer_email=email,
        customer_name=name,
        currency=currency,
        amount_total=amount,
        payment_link=link or PaymentLinkFactory(currency=currency),
    )
    Order.objects.filter(pk=order.pk).update(created_at=START + timedelta(days=days))
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        assert fulfilment.order_status_change(order=order, to_status=Order.Status.PAID, actor="test")
    return order


def _refund(order: Order, amount: int) -> None:
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        revenue_count_refund(order=order, amount=amount)


def _state() -> list[tuple]:
    """Every customer with their spends and links, comparable between the live path and the rebuild."""
    return [
        (
            customer.email_key,
            customer.email,
            customer.name,
            customer.orders_count,
            customer.first_order_at,
            customer.last_order_at,
            sorted(customer.spends.values_list("currency", "orders_count", "total")),
            sorted(customer.links.values_list("payment_link_id", "orders_count", "last_order_at")),
        )
        for customer in Customer.objects.order_by("email_key")
    ]


# TOTALS ---------------------------------------------------------------------------------------------


def test_one_customer_per_address_whatever_its_capitals_with_the_latest_address_and_name():
    link = PaymentLinkFactory()
    _pay(email="Ada@Example.com", name="Ada", link=link, days=0)
    _pay(email="ada@example.COM", name="Ada Lovelace", link=link, days=2)
    # An older order paid late (its webhook was delayed) with no name changes neither the name nor the
    # address, but moves the first order back.
    _pay(email="ADA@EXAMPLE.COM", name="", days=-3)

    customer = Customer.objects.get()
    assert customer.email_key == "ADA@EXAMPLE.COM"
    assert (customer.email, customer.name) == ("ada@example.COM", "Ada Lovelace")
    assert (customer.orders_count, customer.links.count()) == (3, 2)
    assert customer.first_order_at == START - timedelta(days=3)
    assert customer.last_order_at == START + timedelta(days=2)
    assert list(customer.spends.values_list("currency", "orders_count", "total")) == [("usd", 3, 3000)]
    on_link = CustomerLink.objects.get(customer=customer, payment_link=link)
    assert (on_link.orders_count, on_link.last_order_at) == (2, START + timedelta(days=2))


def test_an_order_counts_once_however_often_its_status_moves_and_without_an_address_not_at_all():
    order = _pay(email="bob@example.com", amount=700)
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        assert fulfilment.order_status_change(order=locked, to_status=Order.Status.FULFILLED, actor="t")
    _pay(email="", amount=900)

    customer = Customer.objects.get()
    assert customer.orders_count == 1
    assert customer.spends.get().total == 700


def test_totals_are_kept_per_currency():
    _pay(email="multi@example.com", amount=1000, currency="eur")
    _pay(email="multi@example.com", amount=2500, currency="eur")
    _pay(email="multi@example.com", amount=300, currency="jpy")

    customer = Customer.objects.get()
    assert customer.orders_count == 3
    assert list(customer.spends.values_list("currency", "orders_count", "total")) == [
        ("eur", 2, 3500),
        ("jpy", 1, 300),
    ]


def test_refunds_are_net_and_a_failed_refund_gives_its_amount_back():
    order = _pay(email="refund@example.com", amount=5000, currency="eur")
    _pay(email="refund@example.com", amount=1000, currency="usd")
    _refund(order, 2000)
    _refund(order, 1000)
    assert CustomerSpend.objects.get(currency="eur").total == 2000
    _refund(order, -1000)  # a counted refund that failed
    assert CustomerSpend.objects.get(currency="eur").total == 3000
    # The other currency and the orders are untouched: the orders were placed.
    assert CustomerSpend.objects.get(currency="usd").total == 1000
    assert Customer.objects.get().orders_count == 2


# REBUILD AND BACKFILL -------------------------------------------------------------------------------


def test_the_rebuild_gives_what_the_payments_and_refunds_gave():
    links = [PaymentLinkFactory(), PaymentLinkFactory()]
    first = _pay(email="Cy@example.com", name="Cy", link=links[0], amount=4000, currency="eur", days=1)
    _pay(email="cy@example.com", name="", link=links[1], amount=1000, currency="eur", days=5)
    _pay(email="CY@example.com", name="Cyril", link=links[0], amount=200, currency="gbp", days=3)
    _pay(email="dee@example.com", amount=100)
    OrderFactory(status=Order.Status.EXPIRED, customer_email="cy@example.com")  # never paid
    # A refund as the refunds' history records it, counted through links.revenue.
    OrderStatusChange.objects.create(
        order=first, action=OrderStatusChange.Action.REFUND, amount=1500, actor="alice"
    )
    _refund(first, 1500)
    # A lost dispute counts as a refund (links/disputes.py), as a row of its own.
    Dispute.objects.create(
        order=first, stripe_id="dp_lost", amount=500, currency="eur", status="lost", closed_at=START
    )
    _refund(first, 500)
    # A manual capture of less than authorised brought in what was captured.
    captured = OrderFactory(
        status=Order.Status.AWAITING_PAYMENT,
        customer_email="dee@example.com",
        amount_total=900,
        capture_method="manual",
        payment_intent_status="succeeded",
        amount_received=600,
    )
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=captured.pk)
        locked.status, locked.paid_at = Order.Status.PAID, START
        locked.save(update_fields=["status", "paid_at"])
        revenue_count_payment(order=locked, amount=order_amount_received(locked))
    live = _state()

    customers_rebuild()

    assert _state() == live
    assert live[0][2] == "Cyril"  # the latest name given (the latest order gave none)
    assert live[0][-2] == [("eur", 2, 3000), ("gbp", 1, 200)]  # 5000 less a refund and a lost dispute
    assert live[1][-2] == [("usd", 2, 700)]


# THE LIST ------------------------------------------------------------------------------------------


def _names(response) -> list[str]:
    return [customer.email for customer in response.context["page"].object_list]


def test_the_list_sorts_by_total_spent_in_the_shops_currency_the_others_as_zero(staff_client):
    PriceFactory(currency="eur")  # the shop's currency
    _pay(email="small@example.com", amount=500, currency="eur", days=1)
    _pay(email="big@example.com", amount=9000, currency="eur", days=2)
    _pay(email="dollars@example.com", amount=99999, currency="usd", days=3)
    _pay(email="middle@example.com", amount=3000, currency="eur", days=4)

    descending = staff_client.get("/customers/?sort=-total")
    assert _names(descending) == [
        "big@example.com",
        "middle@example.com",
        "small@example.com",
        "dollars@example.com",
    ]
    ascending = staff_client.get("/customers/?sort=total")
    assert _names(ascending) == list(reversed(_names(descending)))
    assert _names(staff_client.get("/customers/")) == [  # by last order, newest first
        "middle@example.com",
        "dollars@example.com",
        "big@example.com",
        "small@example.com",
    ]
    page = descending.content.decode()
    assert "90.00" in page and "999.99" in page


def test_the_list_sorts_by_orders(staff_client):
    _pay(email="once@example.com")
    for _ in range(3):
        _pay(email="thrice@example.com")
    _pay(email="twice@example.com")
    _pay(email="twice@example.com")
    assert _names(staff_client.get("/customers/?sort=-orders")) == [
        "thrice@example.com",
        "twice@example.com",
        "once@example.com",
    ]
    assert _names(staff_client.get("/customers/?sort=orders"))[0] == "once@example.com"


@pytest.mark.parametrize("ids_first_from", [500, 0], ids=["rows", "ids first"])
def test_pages_sorted_by_total_run_on_from_those_who_spent_in_the_currency_to_the_others(
    staff_client, monkeypatch, ids_first_from
):
    PriceFactory(currency="eur")
    for n in range(3):
        _pay(email=f"euro{n}@example.com", amount=1000 * (n + 1), currency="eur", days=n)
    for n in range(2):
        _pay(email=f"pound{n}@example.com", amount=100, currency="gbp", days=10 + n)
    monkeypatch.setattr(customer_views, "CUSTOMERS_PER_PAGE", 2)
    # Deep pages read their customers' ids first: the same rows in the same order.
    monkeypatch.setattr(customers_module, "ID_FIRST_OFFSET", ids_first_from)

    pages = [_names(staff_client.get(f"/customers/?sort=-total&page={n}")) for n in (1, 2, 3)]
    assert pages == [
        ["euro2@example.com", "euro1@example.com"],
        ["euro0@example.com", "pound1@example.com"],
        ["pound0@example.com"],
    ]
    # The same sequence, read in any window and counted up to a cap.
    everyone = customer_list(sort=("total", "descending"), currency="eur", count_cap=10)
    assert isinstance(everyone, CustomersByTotal)
    assert len(everyone) == 5
    assert [c.email for c in everyone[3:5]] == ["pound1@example.com", "pound0@example.com"]
    assert [c.email for c in everyone[4:9]] == ["pound0@example.com"]
    assert everyone.count_up_to(2) == 2


def test_search_by_part_of_the_address_by_name_and_by_the_whole_address_in_other_capitals(staff_client):
    _pay(email="grace.hopper@navy.example", name="Grace Hopper")
    _pay(email="alan@example.com", name="Alan Turing")
    _pay(email="ada@example.com", name="Ada")

    assert _names(staff_client.get("/customers/?q=navy")) == ["grace.hopper@navy.example"]
    assert _names(staff_client.get("/customers/?q=turing")) == ["alan@example.com"]
    assert _names(staff_client.get("/customers/?q=ADA@Example.com")) == ["ada@example.com"]
    # Part of an address that looks like a whole one is still found within the addresses.
    assert _names(staff_client.get("/customers/?q=n@example.com")) == ["alan@example.com"]
    empty = staff_client.get("/customers/?q=nobody")
    assert "No customer matches this search." in empty.content.decode()
    assert staff_client.get("/customers/?q=%00").status_code == 200


def test_the_list_shows_each_customers_links_a_few_and_how_many_more(staff_client):
    links = [PaymentLinkFactory(name=f"Workshop {n}") for n in range(5)]
    for n, link in enumerate(links):
        _pay(email="fan@example.com", link=link, days=n)
    page = staff_client.get("/customers/").content.decode()
    # The latest three, then the count of the others.
    assert "Workshop 4" in page and "Workshop 3" in page and "Workshop 2" in page
    assert "Workshop 1" not in page
    assert "and 2 more" in page
    detail = staff_client.get(reverse("customers:detail", args=[Customer.objects.get().id])).content.decode()
    assert all(f"Workshop {n}" in detail for n in range(5))


def test_the_htmx_list_answers_only_its_table(staff_client):
    _pay(email="x@example.com")
    response = staff_client.get("/customers/?q=x", headers={"HX-Request": "true"})
    page = response.content.decode()
    assert page.lstrip().startswith('<section id="customer-table">')
    assert "x@example.com" in page


# ONE CUSTOMER, AND THE WAY FROM AN ORDER -------------------------------------------------------------


def test_the_customer_page_lists_their_orders_newest_first_paginated_with_totals(staff_client, monkeypatch):
    link = PaymentLinkFactory(name="Pottery class")
    orders = [_pay(email="Pat@example.com", name="Pat", link=link, amount=1000 + n, days=n) for n in range(3)]
    OrderFactory(customer_email="pat@EXAMPLE.com", status=Order.Status.PAYMENT_FAILED)
    _pay(email="someone.else@example.com")
    customer = Customer.objects.get(email_key="PAT@EXAMPLE.COM")
    monkeypatch.setattr(customer_views, "ORDERS_PER_PAGE", 2)

    response = staff_client.get(reverse("customers:detail", args=[customer.id]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Pat" in page and "Pottery class" in page
    assert "30.03" in page  # 10.00 + 10.01 + 10.02, in the totals
    shown = list(response.context["page"].object_list)
    assert len(shown) == 2 and shown[0].status == Order.Status.PAYMENT_FAILED  # placed last (now)
    assert reverse("orders:detail", args=[shown[1].public_id]) in page
    second = staff_client.get(reverse("customers:detail", args=[customer.id]) + "?page=2")
    assert [order.pk for order in second.context["page"].object_list] == [orders[1].pk, orders[0].pk]
    assert staff_client.get(reverse("customers:detail", args=[999999])).status_code == 404


def test_the_customer_page_shows_each_orders_states_as_the_orders_list_does(staff_client):
    """An authorisation waiting for capture, a refund in part or in full, an open dispute: a "Paid" alone
    would hide why the total spent is less than the orders' totals."""
    refunded, partly, disputed = (_pay(email="kim@example.com", amount=1000, days=n) for n in range(3))
    Order.objects.filter(pk=refunded.pk).update(amount_refunded=1000)
    Order.objects.filter(pk=partly.pk).update(amount_refunded=400)
    Dispute.objects.create(
        order=disputed, stripe_id="dp_open", amount=1000, currency="usd", status="needs_response"
    )
    OrderFactory(
        customer_email="kim@example.com",
        status=Order.Status.AWAITING_PAYMENT,
        capture_method="manual",
        payment_intent_status="requires_capture",
    )
    customer_url = reverse("customers:detail", args=[Customer.objects.get().id])

    def states(page: str) -> list[list[str]]:
        cells = re.findall(r'<td data-label="Status">(.*?)</td>', page, re.S)
        return sorted(re.findall(r'class="badge badge-([a-z_]+)"', cell) for cell in cells)

    shown = states(staff_client.get(customer_url).content.decode())
    assert shown == [
        ["paid", "disputed"],
        ["paid", "partially_refunded"],
        ["paid", "refunded"],
        ["requires_capture"],
    ]
    listing = staff_client.get("/orders/?q=kim@example.com").content.decode()
    assert states(listing) == shown


def test_each_order_links_to_its_customer_on_its_page_and_in_the_orders_list(staff_client):
    order = _pay(email="Lin@example.com")
    unpaid = OrderFactory(customer_email="nobody.yet@example.com", status=Order.Status.AWAITING_PAYMENT)
    customer_url = reverse("customers:detail", args=[Customer.objects.get().id])

    detail = staff_client.get(reverse("orders:detail", args=[order.public_id])).content.decode()
    assert f'href="{customer_url}"' in detail
    listing = staff_client.get("/orders/").content.decode()
    assert f'<a href="{customer_url}">Lin@example.com</a>' in listing
    assert "nobody.yet@example.com" in listing  # no customer yet: the address, unlinked
    assert (
        'id="customer-link"'
        not in staff_client.get(reverse("orders:detail", args=[unpaid.public_id])).content.decode()
    )


def test_viewers_read_the_customers_pages(client, django_user_model):
    viewer = django_user_model.objects.create_user("vera", password="x", is_staff=True)
    staff_role_set(user=viewer, role="Viewers")
    client.force_login(viewer)
    _pay(email="seen@example.com")
    assert client.get("/customers/").status_code == 200
    assert client.get(reverse("customers:detail", args=[Customer.objects.get().id])).status_code == 200
    assert client.post("/customers/").status_code == 403


def test_the_navigation_leads_to_the_customers(staff_client):
    page = staff_client.get("/customers/").content.decode()
    assert '<a href="/customers/" aria-current="page">Customers</a>' in page
    assert "No customers yet" in page


# END TO END ----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_payments_through_the_sandbox_make_one_customer_with_their_totals(
    sandbox, stripe_client, settings, client, staff_user
):
    """Two payments on the hosted page with one address in two spellings, delivered as signed webhooks and
    processed as the worker does: one customer, two orders, the total, the link; on their pages."""
    from tests.webhooks.test_end_to_end import _pay as pay_on_the_hosted_page
    from webhooks.endpoints import webhook_endpoint_register
    from webhooks.models import WebhookEvent
    from webhooks.tasks import process_webhook_event

    settings.STRIPE_WEBHOOK_SECRETS = []
    webhook_endpoint_register(url=f"{sandbox.base_url}/webhooks/stripe/")
    price = stripe_client.v1.prices.create(
        params={"product_data": {"name": "Ticket"}, "currency": "eur", "unit_amount": 1200}
    )
    stripe_link = stripe_client.v1.payment_links.create(
        params={"line_items": [{"price": price.id, "quantity": 1}]}
    )
    link = PaymentLinkFactory(
        stripe_id=stripe_link.id, name="Concert tickets", url=stripe_link.url, currency="eur"
    )

    for email in ("Fan@Example.com", "fan@example.com"):
        assert pay_on_the_hosted_page(sandbox, stripe_link.url, email).status_code in (200, 302)
    for event in WebhookEvent.objects.filter(type="checkout.session.completed"):
        assert process_webhook_event(event.id) == WebhookEvent.Status.PROCESSED

    customer = Customer.objects.get()
    assert (customer.email_key, customer.orders_count, customer.links.count()) == ("FAN@EXAMPLE.COM", 2, 1)
    assert list(customer.spends.values_list("currency", "orders_count", "total")) == [("eur", 2, 2400)]
    assert customer.links.get().payment_link == link

    client.force_login(staff_user)
    listing = client.get("/customers/?q=FAN@example.com").content.decode()
    assert reverse("customers:detail", args=[customer.id]) in listing and "24.00" in listing
    detail = client.get(reverse("customers:detail", args=[customer.id]))
    assert len(detail.context["page"].object_list) == 2
    assert "Concert tickets" in detail.content.decode()

    # Staff refund half an order and then the rest through Stripe (the refunds service, the sandbox): the
    # customer's total is net of both, their orders still two; the refunds' events change nothing more.
    from links.refunds import order_refund

    order = Order.objects.order_by("id").first()
    order_refund(order=order, amount=600, reason="", note="", user=staff_user, request_token="half")
    order_refund(order=order, amount=600, reason="", note="", user=staff_user, request_token="rest")
    for event in WebhookEvent.objects.exclude(type="checkout.session.completed"):
        process_webhook_event(event.id)
    customer.refresh_from_db()
    assert customer.orders_count == 2
    assert list(customer.spends.values_list("currency", "total")) == [("eur", 1200)]
    assert "12.00" in client.get(reverse("customers:detail", args=[customer.id])).content.decode()
    live = _state()
    customers_rebuild()
    assert _state() == live


@pytest.mark.django_db(transaction=True)
def test_orders_of_one_customer_paid_at_the_same_moment_make_one_customer_counted_once_each():
    """Four workers pay four orders of one address (in several spellings) at once, each under its own
    order's lock: the customer's upserts queue on its row, and nothing is lost or counted twice."""
    from tests.webhooks.test_reliability import _in_threads

    links = [PaymentLinkFactory(), PaymentLinkFactory()]
    spellings = ["same@example.com", "Same@Example.com", "SAME@example.com", "same@EXAMPLE.com"]
    orders = iter(
        [
            OrderFactory(
                status=Order.Status.AWAITING_PAYMENT,
                customer_email=email,
                amount_total=1000 * (n + 1),
                payment_link=links[n % 2],
            )
            for n, email in enumerate(spellings)
        ]
    )

    def pay() -> bool:
        order = next(orders)
        with transaction.atomic():
            locked = Order.objects.select_for_update().get(pk=order.pk)
            return fulfilment.order_status_change(order=locked, to_status=Order.Status.PAID, actor="worker")

    assert _in_threads(4, pay) == [True] * 4
    customer = Customer.objects.get()
    assert customer.orders_count == 4
    assert list(customer.spends.values_list("orders_count", "total")) == [(4, 10000)]
    assert sorted(customer.links.values_list("orders_count", flat=True)) == [2, 2]
    live = _state()
    customers_rebuild()
    assert _state() == live
