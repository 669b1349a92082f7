"""Bulk actions on the links list (issue 26, part 4): selected rows, confirmed, run through the single
action's service against the sandbox over HTTP, and reported on the list."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from django.test import Client
from django.urls import reverse

from catalog import services as catalog_services
from config.roles import staff_role_set
from links import services
from links.models import PaymentLink
from links.views import LINKS_PER_PAGE
from tests.links.factories import PaymentLinkFactory

REPORT = re.compile(r'<p class="bulk-report[^"]*" role="status">(.*?)</p>')
pytestmark = pytest.mark.django_db(transaction=True)

BULK = reverse("links:bulk")


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
def make_link(stripe_client):
    price = catalog_services.product_create_with_price(
        name="Poster", currency="usd", unit_amount=1500, request_token="1" * 32
    ).prices.get()

    def make(name: str) -> PaymentLink:
        return services.payment_link_create(
            name=name, line_items=[{"price": price, "quantity": 1}], request_token=f"{len(name):032x}"
        )

    return make


def _ids(*links) -> list[str]:
    return [str(link.public_id) for link in links]


def _report(client, response) -> list[str]:
    """The report as the list page shows it after the redirect: in place, one paragraph per message."""
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    return [
        html.unescape(text)
        for text in re.findall(r'<p class="bulk-report[^"]*" role="status">(.*?)</p>', page)
    ]


def test_deactivating_three_links_reports_two_done_and_one_failed_with_stripes_reason(
    staff_client, make_link, stripe_client
):
    poster, mug = make_link("Poster"), make_link("Mug sale")
    # A link Stripe no longer has: the sandbox answers 404, and the other links go on.
    gone = PaymentLinkFactory(name="Old flyer", stripe_id="plink_gone")
    data = {"action": "deactivate", "ids": _ids(poster, gone, mug), "back": "q=po&page=1", "confirm": "on"}
    response = staff_client.post(BULK, data)
    assert response.status_code == 302 and response["Location"] == f"{reverse('links:list')}?q=po&page=1"
    done, failed = _report(staff_client, response)
    assert done == "2 links deactivated."
    assert failed.startswith("1 failed: Old flyer: ") and "plink_gone" in failed
    # Through payment_link_set_active: Stripe has them inactive, and so do we.
    for link in (poster, mug):
        assert stripe_client.v1.payment_links.retrieve(link.stripe_id).active is False
        link.refresh_from_db()
        assert link.active is False
    gone.refresh_from_db()
    assert gone.active is True


def test_a_link_already_inactive_is_reported_and_not_sent_to_stripe(staff_client, make_link, stripe_client):
    poster, mug = make_link("Poster"), make_link("Mug sale")
    services.payment_link_set_active(link=mug, active=False)
    updated_at = PaymentLink.objects.get(pk=mug.pk).updated_at
    response = staff_client.post(BULK, {"action": "deactivate", "ids": _ids(poster, mug), "confirm": "on"})
    assert _report(staff_client, response) == ["1 link deactivated.", "1 failed: Mug sale: already inactive"]
    assert PaymentLink.objects.get(pk=mug.pk).updated_at == updated_at


def test_reactivate(staff_client, make_link, stripe_client):
    poster = make_link("Poster")
    services.payment_link_set_active(link=poster, active=False)
    response = staff_client.post(BULK, {"action": "reactivate", "ids": _ids(poster), "confirm": "on"})
    # With no filters to keep, the list's own address (no stray "?").
    assert response["Location"] == reverse("links:list")
    assert _report(staff_client, response) == ["1 link reactivated."]
    assert stripe_client.v1.payment_links.retrieve(poster.stripe_id).active is True


def test_nothing_runs_without_confirmation(staff_client, make_link, stripe_client):
    poster, mug = make_link("Poster"), make_link("Mug sale")
    services.payment_link_set_active(link=mug, active=False)
    # The list's form (GET) and a POST without "confirm" both only show what would happen.
    for response in (
        staff_client.get(BULK, {"action": "deactivate", "ids": _ids(poster, mug)}),
        staff_client.post(BULK, {"action": "deactivate", "ids": _ids(poster, mug)}),
    ):
        page = response.content.decode()
        assert response.status_code == 200
        assert "Deactivate 2 payment links?" in page and "Left as it is: already inactive" in page
        # One of the two changes: the button speaks of one.
        assert 'name="confirm"' in page and "Yes, deactivate it" in page
    assert stripe_client.v1.payment_links.retrieve(poster.stripe_id).active is True
    assert PaymentLink.objects.get(pk=poster.pk).active is True


def test_viewers_may_export_but_not_change(viewer_client, make_link, stripe_client):
    poster = make_link("Poster")
    page = viewer_client.get(reverse("links:list")).content.decode()
    assert "Deactivate…" not in page and "Reactivate…" not in page
    confirm = viewer_client.get(BULK, {"action": "deactivate", "ids": _ids(poster)}).content.decode()
    assert "data-editor-required" in confirm and 'name="confirm"' not in confirm
    response = viewer_client.post(BULK, {"action": "deactivate", "ids": _ids(poster), "confirm": "on"})
    assert response.status_code == 403
    assert stripe_client.v1.payment_links.retrieve(poster.stripe_id).active is True
    exported = viewer_client.get(BULK, {"action": "export", "ids": _ids(poster)})
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")


def test_editors_see_a_checkbox_per_row_and_the_actions(staff_client):
    links = [PaymentLinkFactory(name=f"Link {n}") for n in range(3)]
    page = staff_client.get(reverse("links:list")).content.decode()
    for link in links:
        assert f'name="ids" value="{link.public_id}" form="link-bulk"' in page
        assert f"Select “{link.name}”" in page
    assert "Select all on this page" in page and "Deactivate…" in page and "Export selected as CSV" in page


def test_export_has_the_selected_links_only(staff_client):
    keep = [PaymentLinkFactory(name="=HYPERLINK(evil)", revenue=2500), PaymentLinkFactory(name="Mug")]
    PaymentLinkFactory(name="Not selected")
    response = staff_client.get(BULK, {"action": "export", "ids": _ids(*keep)})
    assert response["Content-Disposition"] == 'attachment; filename="payment-links.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["name"] for row in rows] == ["'=HYPERLINK(evil)", "Mug"]  # the formula is made text
    assert rows[0]["public_id"] == str(keep[0].public_id) and rows[0]["revenue"] == "2500"


def test_select_all_on_the_page_works_without_javascript(staff_client):
    links = [PaymentLinkFactory(name=f"Link {n}") for n in range(3)]
    page = staff_client.get(BULK, {"action": "deactivate", "select_all": "on", "page_ids": _ids(*links)})
    assert "Deactivate 3 payment links?" in page.content.decode()


def test_a_selection_is_bounded_by_the_page_and_never_empty(staff_client):
    links = PaymentLinkFactory.create_batch(LINKS_PER_PAGE + 1)
    too_many = staff_client.post(BULK, {"action": "deactivate", "ids": _ids(*links), "confirm": "on"})
    assert too_many.status_code == 200
    assert f"Select at most {LINKS_PER_PAGE} rows at a time" in too_many.content.decode()
    none = staff_client.post(BULK, {"action": "deactivate", "confirm": "on", "ids": ["not-a-uuid"]})
    assert "Select at least one row on the list first." in none.content.decode()
    assert PaymentLink.objects.filter(active=False).count() == 0


def test_htmx_gets_the_confirmation_alone_to_show_above_the_list(staff_client):
    link = PaymentLinkFactory(name="Poster")
    data = {"action": "deactivate", "ids": _ids(link)}
    fragment = staff_client.get(BULK, data, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and fragment.lstrip().startswith('<section id="bulk-confirm"')
    assert '<h2 id="bulk-confirm-heading">Deactivate 1 payment link?</h2>' in fragment
    assert 'name="confirm"' in fragment and "Poster" in fragment
    page = staff_client.get(BULK, data).content.decode()
    assert "<html" in page and '<h1 id="bulk-confirm-heading">Deactivate 1 payment link?</h1>' in page
