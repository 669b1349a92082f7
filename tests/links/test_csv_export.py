"""The orders export is safe to open in a spreadsheet: customer-typed text never runs as a formula."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from config.spreadsheets import spreadsheet_safe
from links import fulfilment
from links.models import PaymentLink
from tests.webhooks.stripe_objects import checkout_session, line_item

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Ann", "Ann"),
        ("a=b", "a=b"),
        (None, ""),
        (-5, -5),
        (2000, 2000),
    ],
)
def test_cells_that_start_like_a_formula_are_quoted(value, cell):
    assert spreadsheet_safe(value) == cell


def test_the_export_neutralises_what_customers_typed(staff_client, django_capture_on_commit_callbacks):
    link = PaymentLink.objects.create(stripe_id="plink_csv", name="Mugs", url="http://x/pay", currency="eur")
    session = checkout_session(
        payment_link=link.stripe_id,
        client_reference_id="=1+2",
        customer_details={"email": "=cmd@example.com", "name": "@SUM(A1:A9)", "phone": None, "address": None},
        custom_fields=[
            {
                "key": "note",
                "label": {"type": "custom", "custom": "Note"},
                "type": "text",
                "text": {"value": "+hello"},
            },
        ],
    )
    with django_capture_on_commit_callbacks():
        fulfilment.order_record_session(session=session, line_items=[line_item()], actor="test")

    response = staff_client.get(reverse("orders:export"))
    (row,) = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))

    assert row["customer_email"] == "'=cmd@example.com"
    assert row["customer_name"] == "'@SUM(A1:A9)"
    assert row["client_reference_id"] == "'=1+2"
    # The whole cell starts with the label, so only a label typed like a formula would be quoted.
    assert row["custom_fields"] == "Note: +hello"
    assert row["amount_total"] == "2000"
