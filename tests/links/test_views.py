from __future__ import annotations

import pytest
from django.urls import reverse

from links.models import Order, PaymentLink
from tests.catalog.factories import PriceFactory
from tests.links.factories import LineItemFactory, OrderFactory, PaymentLinkFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def link():
    return LineItemFactory(payment_link__name="Spring poster", price__product__name="Poster").payment_link


def _urls(link) -> list[str]:
    return [
        reverse("home"),
        reverse("links:list"),
        reverse("links:create"),
        reverse("links:detail", args=[link.public_id]),
        reverse("links:edit", args=[link.public_id]),
        reverse("links:create") + f"?from={link.public_id}",
        reverse("links:set-active", args=[link.public_id]) + "?active=false",
        reverse("links:qr", args=[link.public_id, "png"]),
    ]


def test_anonymous_is_sent_to_login(client, link):
    for url in _urls(link):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_non_staff_is_forbidden(client, other_user, link):
    client.force_login(other_user)
    for url in _urls(link):
        assert client.get(url).status_code == 403


def test_staff_sees_every_page(staff_client, link):
    for url in _urls(link):
        assert staff_client.get(url).status_code == 200


def test_home_shows_counts_mode_and_recent_activity(staff_client, link):
    OrderFactory(payment_link=link, amount_total=2500, customer_email="ann@example.com")
    response = staff_client.get(reverse("home"))
    content = response.content.decode()
    assert response.context["stripe_mode"] == "sandbox"
    assert "Sandbox: no real payments" in content
    assert "Spring poster" in content and "ann@example.com" in content
    assert "25.00 USD" in content


def test_home_empty_state(staff_client):
    assert "No payment links yet." in staff_client.get(reverse("home")).content.decode()


def test_link_list_full_page_and_fragment(staff_client, link):
    full = staff_client.get(reverse("links:list"))
    fragment = staff_client.get(reverse("links:list"), {"q": "poster"}, HTTP_HX_REQUEST="true")
    assert b"<html" in full.content and b"Spring poster" in full.content
    assert b"<html" not in fragment.content
    assert fragment.content.lstrip().startswith(b'<section id="link-table"')
    assert b"Spring poster" in fragment.content


def test_link_list_search_by_product_name(staff_client, link):
    PaymentLinkFactory(name="Other")
    response = staff_client.get(reverse("links:list"), {"q": "poster"})
    assert [row.pk for row in response.context["page"].object_list] == [link.pk]


def test_link_list_empty_state(staff_client):
    assert b"No payment links yet." in staff_client.get(reverse("links:list")).content


def test_detail_shows_url_copy_button_qr_and_orders_with_totals(staff_client, link):
    OrderFactory(payment_link=link, amount_total=1500)
    OrderFactory(payment_link=link, amount_total=3000, status=Order.Status.FULFILLED)
    OrderFactory(payment_link=link, amount_total=9900, status=Order.Status.EXPIRED)
    # The counters fulfilment keeps for the two paid orders (tests/links/test_fulfilment.py checks them).
    PaymentLink.objects.filter(pk=link.pk).update(revenue=4500, orders_count=2)
    content = staff_client.get(reverse("links:detail", args=[link.public_id])).content.decode()
    assert f'data-copy="{link.url}"' in content
    assert '<svg role="img"' in content and "<title>QR code of" in content
    assert "45.00 USD" in content and "from 2 paid orders" in content
    assert "99.00 USD" in content  # the expired order is listed, but not in the total


def test_unknown_link_is_404(staff_client):
    assert staff_client.get("/links/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_qr_downloads(staff_client, link):
    png = staff_client.get(reverse("links:qr", args=[link.public_id, "png"]))
    svg = staff_client.get(reverse("links:qr", args=[link.public_id, "svg"]))
    assert png["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")
    assert svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content
    assert "attachment" in svg["Content-Disposition"]
    assert staff_client.get(reverse("links:qr", args=[link.public_id, "gif"])).status_code == 404


def test_deactivation_asks_for_confirmation_full_page_and_fragment(staff_client, link):
    url = reverse("links:set-active", args=[link.public_id]) + "?active=false"
    full = staff_client.get(url)
    fragment = staff_client.get(url, HTTP_HX_REQUEST="true")
    assert b"<html" in full.content and b"Yes, deactivate" in full.content
    assert fragment.content.lstrip().startswith(b'<article id="link-status"')
    assert b"Yes, deactivate" in fragment.content


def _link_data(**overrides) -> dict:
    return {
        "name": "Poster link",
        "notes": "",
        "request_token": "c" * 32,
        "line_items-TOTAL_FORMS": "1",
        "line_items-INITIAL_FORMS": "0",
        "line_items-0-price": "",
        "line_items-0-quantity": "1",
        **overrides,
    }


def test_add_line_item_adds_a_row_without_saving(staff_client):
    full = staff_client.post(reverse("links:create"), _link_data(add_line_item="1"))
    fragment = staff_client.post(
        reverse("links:create"), _link_data(add_line_item="1"), HTTP_HX_REQUEST="true"
    )
    assert full.status_code == 200 and len(full.context["editor"].line_items.forms) == 2
    assert b"<html" in full.content
    assert fragment.content.lstrip().startswith(b'<fieldset id="section-line-items"')
    assert b'name="line_items-1-price"' in fragment.content


def test_create_without_a_price_is_422_with_error_at_the_row(staff_client):
    PriceFactory()
    response = staff_client.post(reverse("links:create"), _link_data(), HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert response.content.lstrip().startswith(b'<form id="link-form"')
    assert "price" in response.context["editor"].line_items.forms[0].errors


def test_mixed_currencies_are_refused_at_the_second_row(staff_client):
    usd, eur = PriceFactory(currency="usd"), PriceFactory(currency="eur")
    data = _link_data(
        **{
            "line_items-TOTAL_FORMS": "2",
            "line_items-0-price": usd.stripe_id,
            "line_items-1-price": eur.stripe_id,
            "line_items-1-quantity": "1",
        }
    )
    response = staff_client.post(reverse("links:create"), data)
    assert response.status_code == 422
    assert "same currency" in str(response.context["editor"].line_items.forms[1].errors["price"])


def test_url_builder_full_page_and_fragment(staff_client, link):
    url = reverse("links:detail", args=[link.public_id])
    params = {
        "share-build": "1",
        "share-client_reference_id": "cust_42",
        "share-utm_source": "newsletter",
        "share-prefilled_email": "ann@example.com",
    }
    full = staff_client.get(url, params)
    fragment = staff_client.get(url, params, HTTP_HX_REQUEST="true")
    built = (
        f"{link.url}?client_reference_id=cust_42&amp;prefilled_email=ann%40example.com"
        "&amp;utm_source=newsletter"
    )
    assert b"<html" in full.content and built in full.content.decode()
    assert fragment.content.lstrip().startswith(b'<section id="url-builder"')
    assert built in fragment.content.decode() and fragment.content.count(b"<svg") == 1


def test_url_builder_refuses_unsafe_values(staff_client, link):
    response = staff_client.get(
        reverse("links:detail", args=[link.public_id]),
        {"share-build": "1", "share-utm_source": "news letter"},
        HTTP_HX_REQUEST="true",
    )
    assert response.context["built_url"] == ""
    assert "utm_source" in response.context["builder"].errors


def test_link_list_filters(staff_client, link):
    other = LineItemFactory(
        payment_link__name="Yen", payment_link__currency="jpy", payment_link__active=False
    )
    response = staff_client.get(reverse("links:list"), {"currency": "jpy", "active": "false"})
    assert [row.pk for row in response.context["page"].object_list] == [other.payment_link.pk]
    by_product = staff_client.get(
        reverse("links:list"), {"product": link.line_items.get().price.product.stripe_id}
    )
    assert [row.pk for row in by_product.context["page"].object_list] == [link.pk]
    # An inactive link's URL no longer sells: the list offers no button to copy it.
    page = staff_client.get(reverse("links:list")).text
    assert f'id="copy-url-{link.public_id}"' in page
    assert f'id="copy-url-{other.payment_link.public_id}"' not in page


def test_link_page_previews_what_the_customer_is_asked(staff_client):
    link = PaymentLinkFactory(
        options={
            "phone_number_collection": {"enabled": True},
            "shipping_address_collection": {"allowed_countries": ["FR", "BE"]},
            "custom_fields": [
                {
                    "key": "size",
                    "label": {"type": "custom", "custom": "T-shirt size"},
                    "type": "text",
                    "optional": True,
                }
            ],
            "after_completion": {"type": "redirect", "redirect": {"url": "https://shop.example/thanks"}},
        }
    )

    page = staff_client.get(reverse("links:detail", args=[link.public_id])).content.decode()

    assert "Shipping address in 2 countries" in page
    assert "Phone number" in page
    assert "T-shirt size (optional)" in page
    assert "They are sent to https://shop.example/thanks" in page


def test_link_search_counts_up_to_the_search_cap(staff_client, monkeypatch):
    # A search says "more than" past SEARCH_COUNT_CAP, the unfiltered list only past COUNT_CAP.
    monkeypatch.setattr("links.views.SEARCH_COUNT_CAP", 25)
    monkeypatch.setattr("links.views.LINKS_PER_PAGE", 5)
    for _ in range(30):
        PaymentLinkFactory(name="Spring sale")
    searched = staff_client.get(reverse("links:list"), {"q": "spring"}).text
    assert "Page 1 of more than 5" in searched and "q=spring&amp;page=2" in searched
    assert "Page 1 of 6" in staff_client.get(reverse("links:list")).text
