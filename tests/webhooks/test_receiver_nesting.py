"""A validly signed body nested deeper than any Stripe event is refused at the receiver (400, nothing
stored), on SQLite and on PostgreSQL, whose receiver group-commits outside a transaction."""

from __future__ import annotations

import json

import pytest

from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.receiving import MAX_JSON_DEPTH


def _nested(depth: int) -> dict:
    value: dict = {"leaf": True}
    for _ in range(depth):
        value = {"a": value}
    return value


def _event_with(stripe_event, value) -> str:
    return json.dumps(stripe_event(obj={"id": "cs_test_deep", "object": "checkout.session", "x": value}))


def _nothing_stored() -> bool:
    return not WebhookEvent.objects.exists() and not WebhookDelivery.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_signed_event_nested_thousands_deep_is_400(post_event, stripe_event, depth):
    # json.dumps itself would recurse too deep: the body is written as text.
    body = _event_with(stripe_event, "@").replace('"@"', '{"a":' * depth + "1" + "}" * depth)
    assert post_event(body).status_code == 400
    assert _nothing_stored()


@pytest.mark.django_db(transaction=True)
def test_deep_event_is_400_outside_a_transaction_too(post_event, stripe_event):
    # Outside a transaction the PostgreSQL receiver group-commits: the check comes before.
    body = _event_with(stripe_event, "@").replace('"@"', "[" * 5_000 + "]" * 5_000)
    assert post_event(body).status_code == 400
    assert _nothing_stored()


@pytest.mark.django_db
def test_nesting_that_python_reads_but_the_event_page_could_not_print_is_400(post_event, stripe_event):
    # 1,200 levels: json.loads reads it, the event page's indented json.dumps would not.
    assert post_event(_event_with(stripe_event, _nested(1_200))).status_code == 400
    assert _nothing_stored()


@pytest.mark.django_db
def test_event_as_deep_as_allowed_is_accepted(post_event, stripe_event):
    # The event, data and object wrap the value in three levels.
    assert post_event(_event_with(stripe_event, _nested(MAX_JSON_DEPTH - 4))).status_code == 200
    assert WebhookEvent.objects.count() == 1
