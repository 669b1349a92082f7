"""The hosted payment page: opening a link creates a session, paying completes it."""

from __future__ import annotations

import pytest

from sandbox.models import ApiObject

pytestmark = pytest.mark.django_db

CARD = {
    "card_number": "4242 4242 4242 4242",
    "card_expiry": "12 / 34",
    "card_cvc": "123",
    "cardholder_name": "Ada",
}


def _path(link: dict) -> str:
    return link["url"].removeprefix("http://testserver")


def _open(client, link: dict, query: str = "") -> tuple[object, dict]:
    response = client.get(_path(link) + query)
    session = ApiObject.objects.filter(type="checkout.session").order_by("-seq").first()
    return response, session.data


def test_opening_the_link_creates_an_open_session(client, api, price):
    link = api.ok(
        "post",
        "payment_links",
        {"line_items": [{"price": price["id"], "quantity": 2}], "metadata": {"ref": "x"}},
    )
    response, session = _open(client, link, "?client_reference_id=order-42&prefilled_email=ada@example.com")
    assert response.status_code == 200
    assert session["id"].startswith("cs_test_")
    assert session["status"] == "open"
    assert session["payment_link"] == link["id"]
    assert session["metadata"] == {"ref": "x"}
    assert session["client_reference_id"] == "order-42"
    assert session["amount_total"] == 3000
    assert b'value="ada@example.com"' in response.content
    assert b"30.00 USD" in response.content


def test_invalid_client_reference_id_is_ignored(client, link):
    _, session = _open(client, link, "?client_reference_id=not%20valid!")
    assert session["client_reference_id"] is None


def test_paying_with_4242_completes_the_session(client, api, link):
    _, session = _open(client, link)
    response = client.post(f"/sandbox/checkout/{session['id']}", {"email": "ada@example.com", **CARD})
    assert response.status_code == 302
    done = api.ok("get", f"checkout/sessions/{session['id']}", {"expand": ["payment_intent"]})
    assert done["status"] == "complete"
    assert done["payment_status"] == "paid"
    assert done["customer_details"]["email"] == "ada@example.com"
    assert done["amount_total"] == 1500
    assert done["payment_intent"]["status"] == "succeeded"
    assert done["payment_intent"]["amount_received"] == 1500
    types = [e["type"] for e in api.ok("get", "events", {"limit": 100})["data"]]
    assert "checkout.session.completed" in types
    assert "payment_intent.succeeded" in types


def test_confirmation_page_shows_custom_message(client, api, price):
    link = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [{"price": price["id"], "quantity": 1}],
            "after_completion": {
                "type": "hosted_confirmation",
                "hosted_confirmation": {"custom_message": "See you soon"},
            },
        },
    )
    response = client.post(_path(link), {"email": "a@example.com", **CARD}, follow=True)
    assert response.status_code == 200
    assert b"See you soon" in response.content


def test_redirect_after_completion_fills_session_id_and_forwards_utm(client, api, price):
    link = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [{"price": price["id"], "quantity": 1}],
            "after_completion": {
                "type": "redirect",
                "redirect": {"url": "https://shop.example/ok?s={CHECKOUT_SESSION_ID}"},
            },
        },
    )
    _, session = _open(client, link, "?utm_source=news")
    response = client.post(f"/sandbox/checkout/{session['id']}", {"email": "a@example.com", **CARD})
    assert response["Location"] == f"https://shop.example/ok?s={session['id']}&utm_source=news"


def test_declined_card_shows_error_and_session_stays_open(client, api, link):
    _, session = _open(client, link)
    response = client.post(
        f"/sandbox/checkout/{session['id']}",
        {"email": "a@example.com", **CARD, "card_number": "4000000000000002"},
    )
    assert response.status_code == 402
    assert b"Your card was declined." in response.content
    assert api.ok("get", f"checkout/sessions/{session['id']}")["status"] == "open"
    failed = api.ok("get", "events", {"type": "payment_intent.payment_failed"})["data"]
    assert failed[0]["data"]["object"]["last_payment_error"]["decline_code"] == "generic_decline"


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("4000000000009995", b"insufficient funds"),
        ("4000000000000069", b"Your card has expired."),
        ("4000000000000127", b"security code is incorrect"),
        ("4242424242424241", b"Your card number is incorrect."),
    ],
)
def test_test_cards_decline_with_their_message(client, link, number, message):
    response = client.post(_path(link), {"email": "a@example.com", **CARD, "card_number": number})
    assert message in response.content
    assert not ApiObject.objects.filter(type="checkout.session", data__status="complete").exists()


def test_expired_card_date_is_refused_at_the_field(client, link):
    response = client.post(_path(link), {"email": "a@example.com", **CARD, "card_expiry": "01 / 20"})
    assert b"expiration year is in the past" in response.content


def test_adjustable_quantity_is_bounded_and_priced(client, api, price):
    link = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [
                {"price": price["id"], "quantity": 1, "adjustable_quantity": {"enabled": True, "maximum": 3}}
            ]
        },
    )
    _, session = _open(client, link)
    item_id = api.ok("get", f"payment_links/{link['id']}/line_items")["data"][0]["id"]
    too_many = client.post(
        f"/sandbox/checkout/{session['id']}", {"email": "a@example.com", **CARD, f"quantity_{item_id}": 4}
    )
    assert too_many.status_code == 200
    assert api.ok("get", f"checkout/sessions/{session['id']}")["status"] == "open"
    client.post(
        f"/sandbox/checkout/{session['id']}", {"email": "a@example.com", **CARD, f"quantity_{item_id}": 3}
    )
    done = api.ok("get", f"checkout/sessions/{session['id']}", {"expand": ["line_items"]})
    assert done["amount_total"] == 4500
    assert done["line_items"]["data"][0]["quantity"] == 3


def test_a_session_with_its_line_items_is_read_from_the_database_once(client, api, link):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _, session = _open(client, link)
    with CaptureQueriesContext(connection) as queries:
        body = api.ok("get", f"checkout/sessions/{session['id']}", {"expand": ["line_items"]})
    assert body["line_items"]["data"][0]["quantity"] == 1
    reads = [q["sql"] for q in queries.captured_queries if session["id"] in q["sql"]]
    assert len(reads) == 1, reads


def test_inactive_link_shows_inactive_message(client, api, link):
    api.ok("post", f"payment_links/{link['id']}", {"active": False, "inactive_message": "Back in May"})
    response = client.get(_path(link))
    assert response.status_code == 410
    assert b"Back in May" in response.content
    assert not ApiObject.objects.filter(type="checkout.session").exists()


def test_completed_sessions_limit_deactivates_the_link(client, api, price):
    link = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [{"price": price["id"], "quantity": 1}],
            "restrictions": {"completed_sessions": {"limit": 1}},
        },
    )
    client.post(_path(link), {"email": "a@example.com", **CARD})
    after = api.ok("get", f"payment_links/{link['id']}")
    assert after["restrictions"]["completed_sessions"]["count"] == 1
    assert after["active"] is False
    assert client.get(_path(link)).status_code == 410


def test_customer_chooses_price_within_bounds(client, api, product):
    price = api.ok(
        "post",
        "prices",
        {
            "product": product["id"],
            "currency": "usd",
            "custom_unit_amount": {"enabled": True, "minimum": 500, "maximum": 5000, "preset": 1000},
        },
    )
    link = api.ok("post", "payment_links", {"line_items": [{"price": price["id"], "quantity": 1}]})
    low = client.post(_path(link), {"email": "a@example.com", **CARD, "custom_amount": "2.00"})
    assert b"at least 5.00 USD" in low.content
    client.post(_path(link), {"email": "a@example.com", **CARD, "custom_amount": "12.50"})
    done = api.ok("get", "checkout/sessions", {"status": "complete"})["data"][0]
    assert done["amount_total"] == 1250


def test_sessions_list_filters_by_link_and_status(client, api, link, price):
    other = api.ok("post", "payment_links", {"line_items": [{"price": price["id"], "quantity": 1}]})
    client.get(_path(link))
    client.post(_path(link), {"email": "a@example.com", **CARD})
    client.get(_path(other))
    assert len(api.ok("get", "checkout/sessions", {"payment_link": link["id"]})["data"]) == 2
    complete = api.ok("get", "checkout/sessions", {"payment_link": link["id"], "status": "complete"})["data"]
    assert len(complete) == 1


def test_expire_an_open_session(client, api, link):
    _, session = _open(client, link)
    expired = api.ok("post", f"checkout/sessions/{session['id']}/expire", {})
    assert expired["status"] == "expired"
    assert api.post(f"checkout/sessions/{session['id']}/expire", {}).status_code == 400
    assert client.get(f"/sandbox/checkout/{session['id']}").status_code == 410


def test_session_line_items_endpoint(client, api, link):
    _, session = _open(client, link)
    items = api.ok("get", f"checkout/sessions/{session['id']}/line_items", {"expand": ["data.price.product"]})
    assert items["data"][0]["price"]["product"]["name"] == "T-shirt"
    assert items["url"] == f"/v1/checkout/sessions/{session['id']}/line_items"
    assert all(not key.startswith("_") for key in items["data"][0])


def test_locale_fr_shows_the_page_in_french(client, api, link):
    response, session = _open(client, link, "?locale=fr")
    assert session["locale"] == "fr"
    assert "Numéro de carte".encode() in response.content
    declined = client.post(
        f"/sandbox/checkout/{session['id']}",
        {"email": "a@example.com", **CARD, "card_number": "4000000000000002"},
    )
    assert "Votre carte a été refusée.".encode() in declined.content


def test_unsupported_locale_is_ignored(client, link):
    _, session = _open(client, link, "?locale=xx")
    assert session["locale"] is None


def test_invalid_prefilled_email_is_ignored(client, link):
    response, session = _open(client, link, "?prefilled_email=not-an-email")
    assert session["customer_email"] is None
    assert b"not-an-email" not in response.content


def test_every_input_has_a_label(client, api, price):
    link = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [{"price": price["id"], "quantity": 1, "adjustable_quantity": {"enabled": True}}],
            "payment_method_types": ["card", "sepa_debit"],
            "allow_promotion_codes": True,
            "phone_number_collection": {"enabled": True},
            "billing_address_collection": "required",
            "consent_collection": {"terms_of_service": "required"},
        },
    )
    import re

    html = client.get(_path(link)).content.decode()
    ids = re.findall(r'<(?:input|select)[^>]*\bid="([^"]+)"', html)
    labelled = set(re.findall(r'<label for="([^"]+)"', html))
    assert ids and set(ids) <= labelled


def test_redirect_origin_is_allowed_as_form_action(client, api, price):
    link = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [{"price": price["id"], "quantity": 1}],
            "after_completion": {"type": "redirect", "redirect": {"url": "https://shop.example:8443/ok"}},
        },
    )
    policy = client.get(_path(link))["Content-Security-Policy"]
    form_action = next(d for d in policy.split(";") if d.strip().startswith("form-action"))
    assert "https://shop.example:8443" in form_action
    assert "'self'" in form_action


def test_submit_type_and_custom_text(client, api, price):
    link = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [{"price": price["id"], "quantity": 1}],
            "submit_type": "donate",
            "custom_text": {
                "submit": {"message": "Every euro helps"},
                "after_submit": {"message": "Thank you!"},
            },
        },
    )
    html = client.get(_path(link)).content.decode()
    assert '<button type="submit">Donate</button>' in html
    assert "Every euro helps" in html
    assert "Thank you!" in html
