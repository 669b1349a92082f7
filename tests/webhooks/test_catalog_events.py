"""One write path per Stripe-mirrored model: what Stripe says about a product, a price or a link reaches
the row, and what the dashboard shows from it, the same way whether it comes as the API's answer to a form,
as an event through the receiver, or through the sync from Stripe; an object that does not fit is refused
the same way on each path, and an older event never undoes a newer one."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from catalog import services as catalog_services
from catalog.models import Price
from catalog.services import StripeObjectInvalid, price_fields_from_stripe, product_fields_from_stripe
from links import services as link_services
from links.services import payment_link_fields_from_stripe
from sandbox.models import ApiObject
from webhooks.models import WebhookEvent
from webhooks.tasks import process_webhook_event

pytestmark = pytest.mark.django_db(transaction=True)

# How Stripe's object reaches us: the API's answer to the dashboard's own call, a webhook event, the sync.
PATHS = ("form", "event", "sync")


@pytest.fixture
def product(stripe_client):
    return catalog_services.product_create_with_price(
        name="Mug", currency="eur", unit_amount=900, request_token="6" * 32
    )


@pytest.fixture
def link(product):
    return link_services.payment_link_create(
        name="Spring", line_items=[{"price": product.prices.get(), "quantity": 1}], request_token="7" * 32
    )


def _sandbox_edit(stripe_id: str, **changes) -> None:
    """Change an object in the sandbox's store, past its API's checks (as in the sync's tests)."""
    obj = ApiObject.objects.get(stripe_id=stripe_id)
    obj.data.update(changes)
    obj.save(update_fields=["data"])


def _deliver(post_event, event: dict) -> WebhookEvent:
    """``event`` through the receiver, then processed as the worker processes it."""
    assert post_event(event).status_code == 200
    stored = WebhookEvent.objects.get(stripe_event_id=event["id"])
    process_webhook_event(stored.id)
    stored.refresh_from_db()
    return stored


def _latest_event(stripe_client, event_type: str) -> dict:
    event = stripe_client.v1.events.list(params={"type": event_type, "limit": 1}).data[0]
    # As Stripe sends it: the SDK reads its decimal strings (unit_amount_decimal) as Decimals.
    return json.loads(json.dumps(event.to_dict(), default=str))


def _stripe_says(path: str, *, form, change, event_type: str, stripe_client, post_event) -> str | None:
    """Bring Stripe's object here by ``path``: ``form()`` is the dashboard's own call, ``change()`` the
    same change made in Stripe (its dashboard), then told by its event or read by the sync. Returns why
    the object was refused, None if it was stored."""
    if path == "form":
        try:
            form()
        except StripeObjectInvalid as refused:
            return refused.reason
        return None
    change()
    if path == "event":
        event = _deliver(post_event, _latest_event(stripe_client, event_type))
        stripe_id = event.payload["data"]["object"]["id"]
        return event.last_error.removeprefix(f"{stripe_id} was not stored: ") or None
    report = link_services.stripe_import_all()
    return "; ".join(skipped["reason"] for skipped in report.skipped) or None


def _refusal(fields_from_stripe, data: dict) -> str:
    with pytest.raises(StripeObjectInvalid) as refused:
        fields_from_stripe(data)
    return refused.value.reason


def _home(client) -> str:
    return client.get(reverse("home")).content.decode()


# Products ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_a_renamed_product_is_renamed_here_and_in_the_search_of_its_links(
    path, stripe_client, post_event, link
):
    product = link.line_items.get().price.product
    refused = _stripe_says(
        path,
        form=lambda: catalog_services.product_update(product=product, name="Big mug"),
        change=lambda: stripe_client.v1.products.update(product.stripe_id, params={"name": "Big mug"}),
        event_type="product.updated",
        stripe_client=stripe_client,
        post_event=post_event,
    )
    assert refused is None
    product.refresh_from_db()
    link.refresh_from_db()
    assert product.name == "Big mug"
    assert link.search_text == "Spring | Big mug"


@pytest.mark.parametrize("path", PATHS)
def test_a_product_that_does_not_fit_is_refused_the_same_way_by_each_path(
    path, stripe_client, post_event, product
):
    _sandbox_edit(product.stripe_id, name="x" * 300)
    refused = _stripe_says(
        path,
        form=lambda: catalog_services.product_set_active(product=product, active=False),
        change=lambda: stripe_client.v1.products.update(product.stripe_id, params={"active": False}),
        event_type="product.updated",
        stripe_client=stripe_client,
        post_event=post_event,
    )
    stripe_product = stripe_client.v1.products.retrieve(product.stripe_id).to_dict()
    assert refused == _refusal(product_fields_from_stripe, stripe_product)
    product.refresh_from_db()
    assert (product.name, product.active) == ("Mug", True)


def test_an_older_product_event_after_a_newer_one_leaves_the_newer_name(stripe_client, post_event, product):
    stripe_client.v1.products.update(product.stripe_id, params={"name": "Older"})
    older = _latest_event(stripe_client, "product.updated")
    stripe_client.v1.products.update(product.stripe_id, params={"name": "Newer"})
    newer = _latest_event(stripe_client, "product.updated")
    older["created"], newer["created"] = newer["created"] - 1, newer["created"]
    _deliver(post_event, newer)
    assert _deliver(post_event, older).status == WebhookEvent.Status.PROCESSED
    product.refresh_from_db()
    assert product.name == "Newer"


# Prices --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_an_archived_price_is_archived_here(path, stripe_client, post_event, staff_client, product):
    price = product.prices.get()
    assert "1 price" in _home(staff_client)
    refused = _stripe_says(
        path,
        form=lambda: catalog_services.price_set_active(price=price, active=False),
        change=lambda: stripe_client.v1.prices.update(price.stripe_id, params={"active": False}),
        event_type="price.updated",
        stripe_client=stripe_client,
        post_event=post_event,
    )
    assert refused is None
    price.refresh_from_db()
    assert (price.active, price.unit_amount, price.product) == (False, 900, product)
    assert "0 prices" in _home(staff_client)


@pytest.mark.parametrize("path", PATHS)
def test_a_price_that_does_not_fit_is_refused_the_same_way_by_each_path(
    path, stripe_client, post_event, product
):
    price = product.prices.get()
    _sandbox_edit(price.stripe_id, tax_behavior="sometimes")
    refused = _stripe_says(
        path,
        form=lambda: catalog_services.price_set_active(price=price, active=False),
        change=lambda: stripe_client.v1.prices.update(price.stripe_id, params={"active": False}),
        event_type="price.updated",
        stripe_client=stripe_client,
        post_event=post_event,
    )
    stripe_price = stripe_client.v1.prices.retrieve(price.stripe_id).to_dict()
    assert refused == _refusal(price_fields_from_stripe, stripe_price)
    price.refresh_from_db()
    assert (price.active, price.tax_behavior) == (True, Price.TaxBehavior.UNSPECIFIED)


def test_an_older_price_event_after_a_newer_one_leaves_the_price_archived(stripe_client, post_event, product):
    price = product.prices.get()
    stripe_client.v1.prices.update(price.stripe_id, params={"active": False})
    newer = _latest_event(stripe_client, "price.updated")
    older = {**newer, "id": "evt_older", "created": newer["created"] - 1}
    older["data"] = {"object": {**newer["data"]["object"], "active": True}}
    _deliver(post_event, newer)
    assert _deliver(post_event, older).status == WebhookEvent.Status.PROCESSED
    price.refresh_from_db()
    assert price.active is False


# Payment links -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_a_deactivated_link_is_no_longer_counted_active_at_home(
    path, stripe_client, post_event, staff_client, link
):
    assert "<h2>1</h2><p><a" in _home(staff_client)
    refused = _stripe_says(
        path,
        form=lambda: link_services.payment_link_set_active(link=link, active=False),
        change=lambda: stripe_client.v1.payment_links.update(link.stripe_id, params={"active": False}),
        event_type="payment_link.updated",
        stripe_client=stripe_client,
        post_event=post_event,
    )
    assert refused is None
    link.refresh_from_db()
    assert link.active is False
    page = _home(staff_client)
    assert "<h2>0</h2><p><a" in page and "of 1" in page


@pytest.mark.parametrize("path", PATHS)
def test_a_link_that_does_not_fit_is_refused_the_same_way_by_each_path(
    path, stripe_client, post_event, staff_client, link
):
    _sandbox_edit(link.stripe_id, url="not a URL")
    refused = _stripe_says(
        path,
        # The editor's save: its answer from Stripe carries the link's address.
        form=lambda: link_services.payment_link_update(
            link=link, name="Renamed", options={"metadata": {"campaign": "spring"}}
        ),
        change=lambda: stripe_client.v1.payment_links.update(link.stripe_id, params={"active": False}),
        event_type="payment_link.updated",
        stripe_client=stripe_client,
        post_event=post_event,
    )
    stripe_link = stripe_client.v1.payment_links.retrieve(link.stripe_id).to_dict()
    assert refused == _refusal(payment_link_fields_from_stripe, stripe_link)
    url = link.url
    link.refresh_from_db()
    assert (link.name, link.active, link.url) == ("Spring", True, url)
    assert "<h2>1</h2><p><a" in _home(staff_client)


def test_an_older_link_event_after_a_newer_one_leaves_the_link_inactive_at_home(
    stripe_client, post_event, staff_client, link
):
    stripe_client.v1.payment_links.update(link.stripe_id, params={"active": False})
    newer = _latest_event(stripe_client, "payment_link.updated")
    older = {**newer, "id": "evt_older", "created": newer["created"] - 1}
    older["data"] = {"object": {**newer["data"]["object"], "active": True}}
    _deliver(post_event, newer)
    assert _deliver(post_event, older).status == WebhookEvent.Status.PROCESSED
    link.refresh_from_db()
    assert link.active is False
    assert "<h2>0</h2><p><a" in _home(staff_client)
