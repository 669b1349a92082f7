"""The sync from Stripe imports everything Paylinks can store and reports the rest by id, with the reason.

The sandbox is gaining Stripe's own limits, so the bad objects are written into its store directly: the
dashboard still reads them over HTTP, as it would read them from Stripe.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from catalog.models import Price, Product
from config.roles import staff_role_set
from links import services
from links.models import PaymentLink
from sandbox.models import ApiObject

pytestmark = pytest.mark.django_db(transaction=True)


def _sandbox_edit(stripe_id: str, **changes) -> None:
    """Change an object in the sandbox's store, past its API's checks."""
    obj = ApiObject.objects.get(stripe_id=stripe_id)
    obj.data.update(changes)
    obj.save(update_fields=["data"])


@pytest.fixture
def account(stripe_client):
    """Two good products with a price each and a link; one product whose name is too long, with its price;
    a good product's second price with an amount out of range; a link whose URL is not one."""
    good = [stripe_client.v1.products.create(params={"name": name}) for name in ("Mug", "Tee")]
    prices = [
        stripe_client.v1.prices.create(params={"product": p.id, "currency": "eur", "unit_amount": 500})
        for p in good
    ]
    long_name = stripe_client.v1.products.create(params={"name": "Long"})
    _sandbox_edit(long_name.id, name="x" * 300)
    orphan = stripe_client.v1.prices.create(
        params={"product": long_name.id, "currency": "eur", "unit_amount": 100}
    )
    huge = stripe_client.v1.prices.create(params={"product": good[0].id, "currency": "eur", "unit_amount": 1})
    _sandbox_edit(huge.id, unit_amount=-100)  # out of range whatever the limits
    link = stripe_client.v1.payment_links.create(
        params={"line_items": [{"price": prices[0].id, "quantity": 1}]}
    )
    bad_link = stripe_client.v1.payment_links.create(
        params={"line_items": [{"price": prices[1].id, "quantity": 1}]}
    )
    _sandbox_edit(bad_link.id, url="not a URL")
    return {
        "good": [p.id for p in good],
        "prices": [p.id for p in prices],
        "long_name": long_name.id,
        "orphan": orphan.id,
        "huge": huge.id,
        "link": link.id,
        "bad_link": bad_link.id,
    }


def test_sync_imports_the_good_objects_and_reports_the_bad_ones_by_id(account):
    report = services.stripe_import_all()
    assert sorted(Product.objects.values_list("stripe_id", flat=True)) == sorted(account["good"])
    assert sorted(Price.objects.values_list("stripe_id", flat=True)) == sorted(account["prices"])
    assert list(PaymentLink.objects.values_list("stripe_id", flat=True)) == [account["link"]]
    assert (report.imported["products"], report.imported["prices"], report.imported["payment_links"]) == (
        2,
        2,
        1,
    )
    skipped = {item["id"]: (item["kind"], item["reason"]) for item in report.skipped}
    assert set(skipped) == {account["long_name"], account["orphan"], account["huge"], account["bad_link"]}
    assert skipped[account["long_name"]][0] == "products"
    assert skipped[account["long_name"]][1].startswith("name: ")
    assert "250" in skipped[account["long_name"]][1]
    assert skipped[account["orphan"]] == ("prices", f"Its product {account['long_name']} was not imported.")
    assert skipped[account["huge"]][0] == "prices" and skipped[account["huge"]][1].startswith("unit amount: ")
    assert skipped[account["bad_link"]][0] == "payment_links"
    assert skipped[account["bad_link"]][1].startswith("URL: ")


def test_a_second_sync_skips_the_same_objects_and_keeps_the_others(account):
    services.stripe_import_all()
    again = services.stripe_import_all()
    assert (again.imported["products"], again.imported["payment_links"]) == (2, 1)
    assert len(again.skipped) == 4
    assert Product.objects.count() == 2


def test_the_settings_page_shows_the_report_once(account, django_user_model):
    user = django_user_model.objects.create_user(username="ada", password="x-long-password-2", is_staff=True)
    staff_role_set(user=user, role="Admins")
    client = Client()
    client.force_login(user)
    response = client.post(reverse("settings-sync"), follow=True)
    page = response.content.decode()
    assert 'id="sync-report"' in page
    for stripe_id in (account["long_name"], account["orphan"], account["huge"], account["bad_link"]):
        assert f"<code>{stripe_id}</code>" in page
    assert "<tr><td>Products</td><td>2</td><td>1</td></tr>" in page
    assert "<tr><td>Prices</td><td>2</td><td>2</td></tr>" in page
    assert "some objects were skipped" in page
    assert 'id="sync-report"' not in client.get(reverse("settings")).content.decode()


def test_a_clean_account_reports_nothing_skipped(stripe_client):
    product = stripe_client.v1.products.create(params={"name": "Mug"})
    stripe_client.v1.prices.create(params={"product": product.id, "currency": "usd", "unit_amount": 900})
    report = services.stripe_import_all()
    assert report.skipped == []
    assert report.rows[:2] == [("Products", 1, 0), ("Prices", 1, 0)]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"unit_amount": 100_000_000}, "unit amount"),
        ({"transform_quantity": {"divide_by": 2**31, "round": "up"}}, "package"),
        ({"recurring": {"interval": "month", "interval_count": 2**31}}, "interval count"),
        ({"currency": "xxx"}, "currency"),
    ],
)
def test_the_models_limits_apply_to_the_sync(stripe_client, changes, field):
    product = stripe_client.v1.products.create(params={"name": "Mug"})
    good, bad = (
        stripe_client.v1.prices.create(params={"product": product.id, "currency": "eur", "unit_amount": 500})
        for _ in range(2)
    )
    _sandbox_edit(bad.id, **changes)
    report = services.stripe_import_all()
    assert list(Price.objects.values_list("stripe_id", flat=True)) == [good.id]
    assert [(item["id"], item["reason"].split(":")[0]) for item in report.skipped] == [(bad.id, field)]
