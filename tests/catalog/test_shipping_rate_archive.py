"""Archiving and restoring a shipping rate, in Stripe (the sandbox) and locally (issue 26, part 4)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from catalog.models import ShippingRate
from catalog.selectors import shipping_rate_choices
from catalog.services import shipping_rate_create, shipping_rate_set_active
from config.roles import staff_role_set

pytestmark = pytest.mark.django_db(transaction=True)


def _rate(name: str = "Express") -> ShippingRate:
    return shipping_rate_create(display_name=name, amount=500, currency="eur", request_token=name[:1] * 32)


def test_archive_and_restore_in_stripe(sandbox, stripe_client, staff_client):
    rate = _rate()
    url = reverse("catalog:shipping-rate-active", args=[rate.stripe_id])

    archived = staff_client.post(url, {"active": "false"}, follow=True)
    assert "Shipping rate “Express” archived." in archived.text
    assert stripe_client.v1.shipping_rates.retrieve(rate.stripe_id).active is False
    rate.refresh_from_db()
    assert rate.active is False
    # The editor no longer offers it; the list shows it apart, under the active ones.
    _rate("Standard")
    assert [label for _, label in shipping_rate_choices()] == ["Standard — 5.00 EUR"]
    page = staff_client.get(reverse("catalog:shipping-rate-list")).text
    assert page.index("Standard") < page.index("Archived: no longer offered") < page.index("Express")
    only_archived = staff_client.get(reverse("catalog:shipping-rate-list"), {"active": "false"})
    assert list(only_archived.context["rates"]) == [rate]

    staff_client.post(url, {"active": "true"})
    assert stripe_client.v1.shipping_rates.retrieve(rate.stripe_id).active is True
    rate.refresh_from_db()
    assert rate.active is True


def test_the_same_click_retried_is_one_stripe_update(sandbox, stripe_client):
    from sandbox.models import IdempotencyRecord

    rate = _rate()
    stale = ShippingRate.objects.get(pk=rate.pk)
    before = IdempotencyRecord.objects.count()
    shipping_rate_set_active(shipping_rate=rate, active=False)
    # A second request from the same page (the row as it was shown): the same idempotency key, so Stripe
    # replays its first answer instead of applying the update again.
    assert shipping_rate_set_active(shipping_rate=stale, active=False).active is False
    assert IdempotencyRecord.objects.count() == before + 1
    # Once the row has changed, the next click is a new request.
    shipping_rate_set_active(shipping_rate=ShippingRate.objects.get(pk=rate.pk), active=True)
    assert IdempotencyRecord.objects.count() == before + 2
    assert stripe_client.v1.shipping_rates.retrieve(rate.stripe_id).active is True


def test_a_viewer_cannot_archive(sandbox, stripe_client, staff_user):
    rate = _rate()
    staff_role_set(user=staff_user, role="Viewers")
    viewer = Client()
    viewer.force_login(staff_user)
    response = viewer.post(
        reverse("catalog:shipping-rate-active", args=[rate.stripe_id]), {"active": "false"}
    )
    assert response.status_code == 403
    assert stripe_client.v1.shipping_rates.retrieve(rate.stripe_id).active is True
    page = viewer.get(reverse("catalog:shipping-rate-list")).text
    assert "Archive Express" not in page


def test_archive_needs_post(staff_client):
    rate = ShippingRate.objects.create(stripe_id="shr_x", display_name="X", amount=1, currency="eur")
    assert staff_client.get(reverse("catalog:shipping-rate-active", args=[rate.stripe_id])).status_code == 405


def test_a_link_keeps_its_archived_rate_when_edited(sandbox, stripe_client):
    from links.editor import LinkEditor

    rate, _standard = _rate(), _rate("Standard")
    shipping_rate_set_active(shipping_rate=rate, active=False)
    # Editing a link whose shipping option was archived since: still shown, ticked, and said archived, so that
    # saving the link keeps it unless the merchant unticks it.
    editor = LinkEditor(options={"shipping_options": [{"shipping_rate": rate.stripe_id}]}, editing=True)
    field = editor["shipping"]["shipping_rates"]
    assert (rate.stripe_id, "Express — 5.00 EUR (archived)") in field.field.choices
    assert f'value="{rate.stripe_id}"' in str(field) and "checked" in str(field).split(rate.stripe_id)[1][:80]
    # A new link is offered active rates only.
    assert [label for _, label in LinkEditor()["shipping"].fields["shipping_rates"].choices] == [
        "Standard — 5.00 EUR"
    ]
