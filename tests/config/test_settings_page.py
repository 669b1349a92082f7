"""Staff roles, the settings page, webhook registration and the "sync from Stripe" import."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from catalog import services as catalog_services
from catalog.models import Price, Product
from config.roles import roles_ensure, staff_role_set
from links import services
from links.models import PaymentLink
from tests.links.factories import LineItemFactory
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer_client(django_user_model):
    user = django_user_model.objects.create_user(
        username="victor", password="x-long-password-1", is_staff=True
    )
    staff_role_set(user=user, role="Viewers")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(django_user_model):
    user = django_user_model.objects.create_user(username="ada", password="x-long-password-2", is_staff=True)
    staff_role_set(user=user, role="Admins")
    client = Client()
    client.force_login(user)
    return client


def test_the_three_roles_and_their_permissions():
    roles_ensure()  # what migration catalog 0004 runs; idempotent
    roles_ensure()
    roles = {g.name: set(g.permissions.values_list("codename", flat=True)) for g in Group.objects.all()}
    assert {"view_product", "view_paymentlink"} <= roles["Viewers"] and "change_product" not in roles[
        "Viewers"
    ]
    assert {"add_product", "change_paymentlink"} <= roles["Editors"] and "manage_settings" not in roles[
        "Editors"
    ]
    assert {"change_user", "manage_settings", "change_paymentlink"} <= roles["Admins"]


def test_viewers_read_but_cannot_change(viewer_client):
    link = LineItemFactory().payment_link
    assert viewer_client.get(reverse("links:detail", args=[link.public_id])).status_code == 200
    assert viewer_client.get(reverse("links:create")).status_code == 200
    assert viewer_client.post(reverse("links:create"), {}).status_code == 403
    assert viewer_client.post(reverse("catalog:product-create"), {}).status_code == 403
    assert (
        viewer_client.post(
            reverse("links:set-active", args=[link.public_id]), {"active": "false"}
        ).status_code
        == 403
    )
    page = viewer_client.get(reverse("links:detail", args=[link.public_id])).content.decode()
    assert "Deactivate…" not in page and reverse("links:edit", args=[link.public_id]) not in page


def test_settings_page_personas(client, other_user, staff_client, viewer_client, admin_client):
    url = reverse("settings")
    assert Client().get(url)["Location"].startswith("/accounts/login/")
    other = Client()
    other.force_login(other_user)
    assert other.get(url).status_code == 403
    assert viewer_client.get(url).status_code == 403
    assert staff_client.get(url).status_code == 403  # staff without a role edit, but are not admins
    response = admin_client.get(url)
    assert response.status_code == 200
    assert "Sandbox (built in, no real payments)" in response.content.decode()
    assert "No endpoint registered" in response.content.decode()


def test_admins_set_roles(admin_client, staff_user):
    response = admin_client.post(reverse("settings-role"), {"user": staff_user.username, "role": "Viewers"})
    assert response.status_code == 302
    assert list(staff_user.groups.values_list("name", flat=True)) == ["Viewers"]
    assert admin_client.get(reverse("settings")).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_register_the_webhook_endpoint(sandbox, admin_client):
    response = admin_client.post(reverse("settings-webhook"))
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.url == f"{sandbox.base_url}/webhooks/stripe/"
    assert endpoint.stripe_id in admin_client.get(reverse("settings")).content.decode()


@pytest.mark.django_db(transaction=True)
def test_an_endpoint_registered_before_charge_captured_is_updated_and_receives_it(
    sandbox, stripe_client, admin_client, monkeypatch
):
    from webhooks import endpoints

    handled = endpoints.handled_event_types()
    older = [t for t in handled if t != "charge.captured"]
    with monkeypatch.context() as patch:
        # A registration made by a Paylinks that did not handle charge.captured yet.
        patch.setattr(endpoints, "handled_event_types", lambda: older)
        admin_client.post(reverse("settings-webhook"))
    endpoint = WebhookEndpoint.objects.get()
    assert (
        "charge.captured"
        not in stripe_client.v1.webhook_endpoints.retrieve(endpoint.stripe_id).enabled_events
    )
    page = admin_client.get(reverse("settings")).content.decode()
    assert (
        "It does not receive charge.captured: register the endpoint again to update its event types." in page
    )

    response = admin_client.post(reverse("settings-webhook"), follow=True)
    page = response.content.decode()
    assert (
        f"Webhook endpoint {endpoint.stripe_id} was already registered: its event types are now the ones "
        "Paylinks handles."
    ) in page
    assert "It does not receive" not in page
    registered = stripe_client.v1.webhook_endpoints.retrieve(endpoint.stripe_id)
    assert sorted(registered.enabled_events) == handled
    # The same endpoint and secret: updated, not made again.
    again = WebhookEndpoint.objects.get()
    assert (again.stripe_id, again.secret, again.enabled_events) == (
        endpoint.stripe_id,
        endpoint.secret,
        handled,
    )
    # The sandbox now delivers a capture to it.
    from sandbox.events import endpoint_matches

    assert endpoint_matches(registered.to_dict(), "charge.captured")

    response = admin_client.post(reverse("settings-webhook"), follow=True)
    assert (
        f"Webhook endpoint {endpoint.stripe_id} is already registered for the event types Paylinks handles."
    ) in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_sync_imports_what_exists_in_stripe(sandbox, stripe_client, admin_client):
    product = stripe_client.v1.products.create(params={"name": "Made elsewhere"})
    price = stripe_client.v1.prices.create(
        params={"product": product.id, "currency": "eur", "unit_amount": 700}
    )
    stripe_client.v1.payment_links.create(
        params={
            "line_items": [{"price": price.id, "quantity": 3}],
            "allow_promotion_codes": True,
            "after_completion": {"type": "redirect", "redirect": {"url": "https://example.com/ok"}},
        }
    )
    response = admin_client.post(reverse("settings-sync"))
    assert response.status_code == 302
    link = PaymentLink.objects.get()
    item = link.line_items.get()
    assert (Product.objects.get().name, Price.objects.get().unit_amount) == ("Made elsewhere", 700)
    assert (item.price.stripe_id, item.quantity, link.currency) == (price.id, 3, "eur")
    assert link.options["allow_promotion_codes"] is True
    assert link.options["after_completion"] == {
        "type": "redirect",
        "redirect": {"url": "https://example.com/ok"},
    }
    again = services.stripe_import_all()  # a second sync refreshes the link, adds nothing
    assert (again.imported["payment_links"], again.skipped) == (1, [])
    assert PaymentLink.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_imported_link_opens_in_the_editor(sandbox, stripe_client, admin_client):
    catalog_services.product_create_with_price(
        name="Mug", currency="usd", unit_amount=500, request_token="9" * 32
    )
    stripe_client.v1.payment_links.create(
        params={"line_items": [{"price": Price.objects.get().stripe_id, "quantity": 1}]}
    )
    services.stripe_import_all()
    link = PaymentLink.objects.get()
    assert admin_client.get(reverse("links:edit", args=[link.public_id])).status_code == 200
