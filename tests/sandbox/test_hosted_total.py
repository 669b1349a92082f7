"""The hosted page's total is the amount charged (no JavaScript: Django's test client).

The first render is priced with the pre-selected shipping rate and tax; a submit whose selection's total
differs from the total the page showed (``shown_total``) charges nothing and shows the new total.
"""

from __future__ import annotations

import re

import pytest

from sandbox.models import ApiObject

pytestmark = pytest.mark.django_db

PAYMENT = {
    "email": "ada@example.com",
    "card_number": "4242 4242 4242 4242",
    "card_expiry": "12 / 34",
    "card_cvc": "123",
    "cardholder_name": "Ada",
    "billing_line1": "1 rue de la Paix",
    "billing_city": "Paris",
    "billing_postal_code": "75002",
    "billing_country": "FR",
}


@pytest.fixture
def shop(api, product) -> dict:
    """20.00 EUR a poster (adjustable quantity), two shipping rates (4.90 first), French VAT 20 %."""
    price = api.ok(
        "post",
        "prices",
        {"product": product["id"], "currency": "eur", "unit_amount": 2000, "tax_behavior": "exclusive"},
    )
    rates = [
        api.ok(
            "post",
            "shipping_rates",
            {
                "display_name": name,
                "type": "fixed_amount",
                "fixed_amount": {"amount": amount, "currency": "eur"},
            },
        )
        for name, amount in (("Post", 490), ("Express", 1500))
    ]
    link = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [{"price": price["id"], "quantity": 1, "adjustable_quantity": {"enabled": True}}],
            "shipping_options": [{"shipping_rate": rate["id"]} for rate in rates],
            "automatic_tax": {"enabled": True},
        },
    )
    item = api.ok("get", f"payment_links/{link['id']}/line_items")["data"][0]["id"]
    return {"link": link, "rates": rates, "quantity": f"quantity_{item}"}


def _open(client, shop: dict, **headers):
    response = client.get(shop["link"]["url"].removeprefix("http://testserver"), **headers)
    session = ApiObject.objects.filter(type="checkout.session").order_by("-seq").first()
    return response, session.stripe_id


def _shown_total(html: str) -> int:
    return int(re.search(r'name="shown_total" value="(\d+)"', html).group(1))


def test_the_first_render_shows_the_preselected_shipping_and_the_tax(client, shop):
    response, _ = _open(client, shop, HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    html = response.content.decode()
    # 20.00 + 20 % VAT (4.00) + Post 4.90, the billing country pre-selected from the browser's region.
    assert _shown_total(html) == 2890
    assert re.search(r'id="total"[^>]*>28,90', html) or re.search(r'id="total"[^>]*>28.90', html)
    assert re.search(r'<option value="FR" selected>France</option>', html)
    assert html.index('id="total"') < html.index('<button type="submit">')


def test_what_the_first_render_shows_is_what_a_submit_charges(client, api, shop):
    response, session_id = _open(client, shop, HTTP_ACCEPT_LANGUAGE="en-GB")
    shown = _shown_total(response.content.decode())
    paid = client.post(
        f"/sandbox/checkout/{session_id}",
        {
            **PAYMENT,
            shop["quantity"]: "1",
            "billing_country": "GB",
            "shipping_rate": shop["rates"][0]["id"],
            "shown_total": shown,
        },
    )
    assert paid.status_code == 302
    session = api.ok("get", f"checkout/sessions/{session_id}", {"expand": ["payment_intent"]})
    assert session["status"] == "complete"
    assert session["payment_intent"]["amount"] == shown == 2890


def test_a_total_other_than_the_shown_one_is_refused_and_nothing_is_charged(client, api, shop):
    response, session_id = _open(client, shop, HTTP_ACCEPT_LANGUAGE="fr-FR")
    shown = _shown_total(response.content.decode())
    # The customer changed the quantity and the shipping method, and pressed Pay without updating.
    changed = {
        **PAYMENT,
        shop["quantity"]: "2",
        "shipping_rate": shop["rates"][1]["id"],
        "shown_total": shown,
    }
    refused = client.post(f"/sandbox/checkout/{session_id}", changed)
    assert refused.status_code == 409
    html = refused.content.decode()
    assert "There is a problem" in html
    assert "The total is now 63.00 EUR. Nothing was charged" in html
    assert _shown_total(html) == 2 * 2000 + 800 + 1500 == 6300
    session = api.ok("get", f"checkout/sessions/{session_id}")
    assert session["status"] == "open"
    assert session["payment_intent"] is None
    assert api.ok("get", "payment_intents")["data"] == []
    # Paying again from the re-shown page (its new shown total) charges that total.
    paid = client.post(f"/sandbox/checkout/{session_id}", {**changed, "shown_total": _shown_total(html)})
    assert paid.status_code == 302
    done = api.ok("get", f"checkout/sessions/{session_id}", {"expand": ["payment_intent"]})
    assert done["payment_intent"]["amount"] == 6300


def test_update_total_without_javascript_shows_the_new_total_before_the_pay_button(client, shop):
    _, session_id = _open(client, shop, HTTP_ACCEPT_LANGUAGE="fr-FR")
    html = client.post(
        f"/sandbox/checkout/{session_id}",
        {
            "update": "1",
            shop["quantity"]: "3",
            "shipping_rate": shop["rates"][0]["id"],
            "billing_country": "FR",
        },
    ).content.decode()
    assert _shown_total(html) == 3 * 2000 + 1200 + 490
    assert "There is a problem" not in html


def test_a_failed_submit_lists_each_error_as_a_link_to_its_field(client, api, price):
    link = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [{"price": price["id"], "quantity": 1}],
            "consent_collection": {"terms_of_service": "required"},
        },
    )
    client.get(link["url"].removeprefix("http://testserver"))
    session = ApiObject.objects.filter(type="checkout.session").order_by("-seq").first()
    html = client.post(
        f"/sandbox/checkout/{session.stripe_id}", {"email": "ada@example.com", "card_number": "4242"}
    ).content.decode()
    summary = html[
        html.index('class="error-summary"') : html.index("</div>", html.index('class="error-summary"'))
    ]
    assert "There is a problem" in summary
    assert "autofocus" in summary
    assert '<a href="#id_card_number">Card number: Your card number is incorrect.</a>' in summary
    assert '<a href="#id_terms">I agree to the Terms of Service: This field is required.</a>' in summary
    assert 'id="terms-error"' in html
    assert 'aria-describedby="terms-error"' in html


def test_an_htmx_change_answers_the_summary_alone_with_the_new_total(client, api, shop):
    _, session_id = _open(client, shop, HTTP_ACCEPT_LANGUAGE="fr-FR")
    change = {
        "update": "1",
        shop["quantity"]: "2",
        "shipping_rate": shop["rates"][1]["id"],
        "billing_country": "FR",
    }
    response = client.post(f"/sandbox/checkout/{session_id}", change, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="summary">')
    assert "<html" not in html and "<form" not in html
    assert _shown_total(html) == 6300
    assert api.ok("get", f"checkout/sessions/{session_id}")["amount_total"] == 6300
    # A quantity the link does not allow: the error at its field, the last total kept.
    refused = client.post(
        f"/sandbox/checkout/{session_id}", {**change, shop["quantity"]: "0"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert f'id="{shop["quantity"]}-error"' in refused
    assert _shown_total(refused) == 6300


def test_an_htmx_change_after_the_session_was_paid_reloads_the_page(client, shop):
    _, session_id = _open(client, shop, HTTP_ACCEPT_LANGUAGE="fr-FR")
    paid = client.post(
        f"/sandbox/checkout/{session_id}",
        {**PAYMENT, shop["quantity"]: "1", "shipping_rate": shop["rates"][0]["id"]},
    )
    assert paid.status_code == 302
    late = client.post(f"/sandbox/checkout/{session_id}", {"update": "1"}, HTTP_HX_REQUEST="true")
    assert late["HX-Refresh"] == "true"


def test_amounts_read_in_the_customers_language(client, shop):
    french = _open(client, shop, HTTP_ACCEPT_LANGUAGE="fr-FR")[0].content.decode()
    assert re.search(r'id="total"[^>]*>28,90 EUR', french)
    assert "28.90 EUR" not in french
    english = _open(client, shop, HTTP_ACCEPT_LANGUAGE="en-GB")[0].content.decode()
    assert re.search(r'id="total"[^>]*>28.90 EUR', english)
