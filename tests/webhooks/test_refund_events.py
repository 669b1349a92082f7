"""Refund events, exactly once: the sandbox's own events (refund.created, charge.refunded) for refunds
made through the API, as in Stripe's Dashboard, stored and processed as deliveries would be; duplicated,
reordered, or arriving before the order's own event."""

from __future__ import annotations

import pytest

from links import refunds
from links.models import Order, OrderStatusChange, OutboundEmail, PaymentLink, Refund
from tests.links.payments import CARD, advance_clock, paid_order, paid_session
from tests.webhooks.test_reliability import _in_threads
from webhooks.endpoints import handled_event_types
from webhooks.models import WebhookEvent
from webhooks.tasks import process_webhook_event

pytestmark = pytest.mark.django_db(transaction=True)

REFUND_EVENTS = (
    "refund.created",
    "refund.updated",
    "refund.failed",
    "charge.refunded",
    "charge.refund.updated",
)


def _sandbox_events(stripe_client, event_type: str) -> list[dict]:
    return [event.to_dict() for event in stripe_client.v1.events.list(params={"type": event_type}).data]


def _store(event: dict, *, suffix: str = "") -> WebhookEvent:
    """The event as the receiver stores it (a duplicate delivery of the same event id is the same row;
    ``suffix`` makes it another event about the same object, as Stripe's retried sends are not)."""
    return WebhookEvent.objects.create(
        stripe_event_id=event["id"] + suffix,
        type=event["type"],
        created=event["created"],
        payload=event,
        object_id=event["data"]["object"]["id"],
    )


def _process(event: WebhookEvent) -> None:
    assert process_webhook_event(event.id) == WebhookEvent.Status.PROCESSED


def test_the_endpoint_asks_for_the_refund_events():
    assert set(REFUND_EVENTS) <= set(handled_event_types())


@pytest.mark.parametrize("first", ["refund.created", "charge.refunded"])
def test_a_refund_made_in_stripe_appears_once_whatever_the_order_of_its_events(sandbox, stripe_client, first):
    order = paid_order(sandbox, stripe_client)
    stripe_refund = stripe_client.v1.refunds.create(
        params={"payment_intent": order.payment_intent_id, "amount": 600}
    )
    [created] = _sandbox_events(stripe_client, "refund.created")
    [refunded] = _sandbox_events(stripe_client, "charge.refunded")
    events = [created, refunded] if first == "refund.created" else [refunded, created]
    for event in events:
        _process(_store(event))
    # The same events sent again (as new deliveries Stripe retried): nothing changes.
    for event in reversed(events):
        _process(_store(event, suffix="_again"))

    refund = Refund.objects.get()
    assert (refund.stripe_id, refund.order, refund.amount, refund.status) == (
        stripe_refund.id,
        order,
        600,
        "succeeded",
    )
    assert refund.requested_by is None
    order.refresh_from_db()
    assert (order.amount_refunded, PaymentLink.objects.get().revenue) == (600, 1200)
    [entry] = order.status_changes.filter(action=OrderStatusChange.Action.REFUND)
    assert entry.actor == f"{events[0]['type']} {events[0]['id']}"
    assert OutboundEmail.objects.filter(order=order, kind=OutboundEmail.Kind.REFUND).count() == 1


def test_charge_refunded_records_every_refund_of_the_charge(sandbox, stripe_client):
    order = paid_order(sandbox, stripe_client)
    for amount in (300, 500):
        stripe_client.v1.refunds.create(params={"payment_intent": order.payment_intent_id, "amount": amount})
    # Only the last charge.refunded arrives (the others lost): it brings both refunds.
    latest = max(
        _sandbox_events(stripe_client, "charge.refunded"),
        key=lambda event: event["data"]["object"]["amount_refunded"],
    )
    _process(_store(latest))
    assert sorted(Refund.objects.values_list("amount", flat=True)) == [300, 500]
    order.refresh_from_db()
    assert order.amount_refunded == 800


def test_a_refund_made_by_staff_keeps_who_asked_whichever_records_it_first(
    sandbox, stripe_client, staff_user
):
    order = paid_order(sandbox, stripe_client)
    # What the service sends; here its event is recorded first.
    stripe_client.v1.refunds.create(
        params={
            "payment_intent": order.payment_intent_id,
            "amount": 400,
            "reason": "duplicate",
            "metadata": {"paylinks_user_id": str(staff_user.pk), "paylinks_note": "Paid twice"},
        }
    )
    [created] = _sandbox_events(stripe_client, "refund.created")
    _process(_store(created))
    refund = Refund.objects.get()
    assert (refund.requested_by, refund.note, refund.reason) == (staff_user, "Paid twice", "duplicate")
    entry = order.status_changes.get(action=OrderStatusChange.Action.REFUND)
    assert (entry.actor, entry.note) == ("alice", "Duplicate payment · Paid twice")


def test_a_refund_event_before_its_orders_event_records_both(sandbox, stripe_client):
    session_id = paid_session(sandbox, stripe_client)
    intent_id = stripe_client.v1.checkout.sessions.retrieve(session_id).payment_intent
    stripe_client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 1800})
    [created] = _sandbox_events(stripe_client, "refund.created")
    _process(_store(created))
    order = Order.objects.get(checkout_session_id=session_id)
    assert (order.status, order.amount_refunded, order.is_fully_refunded) == (Order.Status.PAID, 1800, True)
    assert PaymentLink.objects.get().revenue == 0


def _process_all(stripe_client, event_types, *, reverse=False) -> None:
    events = [event for event_type in event_types for event in _sandbox_events(stripe_client, event_type)]
    events.sort(key=lambda event: event["created"], reverse=reverse)
    for event in events:
        if not WebhookEvent.objects.filter(stripe_event_id=event["id"]).exists():
            _process(_store(event))


@pytest.mark.parametrize("reverse", [False, True])
def test_a_refund_of_the_failing_test_card_is_counted_then_given_back_once(
    sandbox, stripe_client, staff_user, reverse
):
    failing_card = {**CARD, "card_number": "4000 0000 0000 5126"}
    order = paid_order(sandbox, stripe_client, card=failing_card)
    refund = refunds.order_refund(
        order=order, amount=600, reason="", note="", user=staff_user, request_token="f" * 32
    )
    assert refund.status == "succeeded"
    assert PaymentLink.objects.get().revenue == 1200
    advance_clock(stripe_client, 61)
    _process_all(stripe_client, REFUND_EVENTS, reverse=reverse)
    _process_all(stripe_client, REFUND_EVENTS)  # nothing new: each event once
    refund.refresh_from_db()
    order.refresh_from_db()
    assert (refund.status, refund.failure_reason) == ("failed", "expired_or_canceled_card")
    assert (order.amount_refunded, PaymentLink.objects.get().revenue) == (0, 1800)
    [failure] = order.status_changes.filter(action=OrderStatusChange.Action.REFUND_FAILED)
    assert failure.amount == 600
    assert refunds.order_amount_refundable(order) == 1800
    assert OutboundEmail.objects.filter(order=order, kind=OutboundEmail.Kind.REFUND).count() == 1


def test_a_sepa_refund_counts_when_it_settles(sandbox, stripe_client, staff_user, settings):
    settings.SANDBOX_SEPA_SETTLEMENT_SECONDS = 300
    debit = {"payment_method": "sepa_debit", "iban": "DE89370400440532013000", "cardholder_name": "Jane"}
    order = paid_order(
        sandbox,
        stripe_client,
        card=debit,
        link_params={"payment_method_types": ["card", "sepa_debit"]},
        settle_after=301,
    )
    refund = refunds.order_refund(
        order=order, amount=500, reason="", note="", user=staff_user, request_token="9" * 32
    )
    assert refund.status == "pending"
    order.refresh_from_db()
    assert (order.amount_refunded, PaymentLink.objects.get().revenue) == (0, 1800)
    assert refunds.order_amount_refundable(order) == 1300
    assert not OutboundEmail.objects.filter(kind=OutboundEmail.Kind.REFUND).exists()
    advance_clock(stripe_client, 301)
    _process_all(stripe_client, REFUND_EVENTS, reverse=True)
    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.status == "succeeded"
    assert (order.amount_refunded, PaymentLink.objects.get().revenue) == (500, 1300)
    entry = order.status_changes.get(action=OrderStatusChange.Action.REFUND)
    assert entry.actor == "alice"  # who asked, though an event recorded it
    assert OutboundEmail.objects.filter(order=order, kind=OutboundEmail.Kind.REFUND).count() == 1


def test_the_same_refund_recorded_concurrently_counts_once(sandbox, stripe_client, staff_user):
    """The service's answer and two deliveries of its events, at the same moment: one row, counted once."""
    order = paid_order(sandbox, stripe_client)
    stripe_refund = stripe_client.v1.refunds.create(
        params={"payment_intent": order.payment_intent_id, "amount": 700}
    ).to_dict()
    actors = iter(["alice", "refund.created evt_1", "charge.refunded evt_2"])
    recorded = _in_threads(3, lambda: refunds.refund_record(refund=stripe_refund, actor=next(actors)).pk)
    assert len(set(recorded)) == 1
    order.refresh_from_db()
    assert (order.amount_refunded, PaymentLink.objects.get().revenue) == (700, 1100)
    assert order.status_changes.filter(action=OrderStatusChange.Action.REFUND).count() == 1
    assert OutboundEmail.objects.filter(order=order, kind=OutboundEmail.Kind.REFUND).count() == 1
