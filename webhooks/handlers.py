"""One handler per Stripe event type, found through ``HANDLERS``.

A handler takes the stored event and either finishes or raises (the event is then retried with
back-off). Handlers must be idempotent and order-independent: those about checkout sessions,
subscriptions and invoices re-fetch the object from the API and apply its current state; the catalog
handlers apply the payload through the same function as the forms and the sync from Stripe
(``*_sync_from_stripe``), with the event's time: an event older than the one the row holds changes
nothing, and an object that does not fit raises StripeObjectInvalid, so the event is failed for good with
the reason (a retry would meet the same object).
"""

from __future__ import annotations

from collections.abc import Callable

from catalog.services import (
    PRICE_MUTABLE_FIELDS,
    coupon_refresh_from_stripe,
    price_sync_from_stripe,
    product_sync_from_stripe,
    promotion_code_refresh_from_stripe,
)
from links import capture, conversion, disputes, fulfilment, refunds
from links.services import payment_link_sync_from_stripe
from webhooks.models import WebhookEvent


def _actor(event: WebhookEvent) -> str:
    return f"{event.type} {event.stripe_event_id}"[:200]


def _object(event: WebhookEvent) -> dict:
    return event.payload["data"]["object"]


def _object_id(event: WebhookEvent) -> str:
    # The column stored with the event: the worker need not load and parse the payload for it.
    return event.object_id or _object(event)["id"]


# CHECKOUT ------------------------------------------------------------------------------------------


def handle_checkout_session_completed(event: WebhookEvent) -> None:
    fulfilment.checkout_session_fulfil(session_id=_object_id(event), actor=_actor(event))
    # The link's conversion: complete is final, so the payload is as good as a fetch.
    conversion.checkout_session_record_event(session=_object(event))


def handle_checkout_session_async_payment_succeeded(event: WebhookEvent) -> None:
    # Same as completed: the re-fetched session says paid, whichever of the two events comes first.
    fulfilment.checkout_session_fulfil(session_id=_object_id(event), actor=_actor(event))


def handle_checkout_session_async_payment_failed(event: WebhookEvent) -> None:
    fulfilment.checkout_session_payment_failed(session_id=_object_id(event), actor=_actor(event))


def handle_checkout_session_expired(event: WebhookEvent) -> None:
    # An expired session never comes back: the payload is as good as a fetch.
    fulfilment.checkout_session_expire(session_id=_object_id(event), actor=_actor(event))
    conversion.checkout_session_record_event(session=_object(event))


# MANUAL CAPTURE AND DISPUTES -----------------------------------------------------------------------
# Each re-fetches the PaymentIntent (or the dispute) and applies its current state, so that a capture or
# cancel made in Stripe's Dashboard shows on the order, and any order or repetition of the events gives
# the same result.


def handle_payment_intent_changed(event: WebhookEvent) -> None:
    # amount_capturable_updated (authorised), succeeded (captured), canceled (canceled or expired), for
    # manual captures only: an automatic payment's order is the session's completion's to record, and a
    # PaymentIntent's capture method never changes once confirmed, so the payload's is as good as a fetch.
    if _object(event).get("capture_method") != "manual":
        return
    capture.payment_intent_sync(payment_intent_id=_object_id(event), actor=_actor(event))


def handle_charge_changed(event: WebhookEvent) -> None:
    # charge.captured, charge.expired (an authorisation not captured in time): about the charge's
    # PaymentIntent, which the charge never changes.
    intent = _object(event).get("payment_intent")
    intent_id = intent.get("id") if isinstance(intent, dict) else intent
    if intent_id:
        capture.payment_intent_sync(payment_intent_id=intent_id, actor=_actor(event))


def handle_charge_dispute_changed(event: WebhookEvent) -> None:
    disputes.dispute_sync(dispute_id=_object_id(event), actor=_actor(event))


# REFUNDS -------------------------------------------------------------------------------------------
# Re-fetched and applied as they are now (links.refunds.refund_record): one made in Stripe's Dashboard
# shows on its order; a retried, duplicated or reordered delivery changes nothing.


def handle_refund_changed(event: WebhookEvent) -> None:
    # refund.created, refund.updated, refund.failed; charge.refund.updated (Stripe's older name for the
    # same changes, which it still sends to endpoints that ask for it).
    refunds.refund_sync(refund_id=_object_id(event), actor=_actor(event))


def handle_charge_refunded(event: WebhookEvent) -> None:
    # The charge's refunds, all of them as they are now: one whose own events were lost is recorded too.
    refunds.charge_refunds_sync(charge_id=_object_id(event), actor=_actor(event))


# BILLING -------------------------------------------------------------------------------------------


def handle_invoice_paid(event: WebhookEvent) -> None:
    fulfilment.invoice_paid(invoice_id=_object_id(event), actor=_actor(event))


def handle_customer_subscription_changed(event: WebhookEvent) -> None:
    obj = _object(event)
    fulfilment.subscription_sync(subscription_id=obj["id"], fallback_status=str(obj.get("status") or ""))


# CATALOG -------------------------------------------------------------------------------------------
# Events only update the rows we have (create=False): the dashboard creates its own rows when it creates
# the object in Stripe, and an insert here would race that.


def handle_product_changed(event: WebhookEvent) -> None:
    deleted = event.type == "product.deleted"
    product_sync_from_stripe(
        data={"id": _object_id(event), "active": False} if deleted else _object(event),
        only=("active",) if deleted else None,
        event_created=event.created,
        create=False,
    )


def handle_price_changed(event: WebhookEvent) -> None:
    deleted = event.type == "price.deleted"
    price_sync_from_stripe(
        data={"id": _object_id(event), "active": False} if deleted else _object(event),
        # Stripe prices are immutable but for these.
        only=("active",) if deleted else PRICE_MUTABLE_FIELDS,
        event_created=event.created,
        create=False,
    )


def handle_coupon_updated(event: WebhookEvent) -> None:
    # Re-fetched: the payload of an older delivery would carry an older redemption count.
    coupon_refresh_from_stripe(stripe_id=_object_id(event), event_created=event.created)


def handle_promotion_code_updated(event: WebhookEvent) -> None:
    # A checkout redeemed the code (or it was changed): its count and its coupon's, current.
    promotion_code_refresh_from_stripe(stripe_id=_object_id(event), event_created=event.created)


def handle_payment_link_changed(event: WebhookEvent) -> None:
    # Its function leaves a link we do not have alone, and keeps the home page's count of active links.
    payment_link_sync_from_stripe(data=_object(event), event_created=event.created)


HANDLERS: dict[str, Callable[[WebhookEvent], None]] = {
    "checkout.session.completed": handle_checkout_session_completed,
    "checkout.session.async_payment_succeeded": handle_checkout_session_async_payment_succeeded,
    "checkout.session.async_payment_failed": handle_checkout_session_async_payment_failed,
    "checkout.session.expired": handle_checkout_session_expired,
    "payment_intent.amount_capturable_updated": handle_payment_intent_changed,
    "payment_intent.succeeded": handle_payment_intent_changed,
    "payment_intent.canceled": handle_payment_intent_changed,
    "charge.captured": handle_charge_changed,
    "charge.expired": handle_charge_changed,
    "charge.dispute.created": handle_charge_dispute_changed,
    "charge.dispute.updated": handle_charge_dispute_changed,
    "charge.dispute.closed": handle_charge_dispute_changed,
    "charge.refunded": handle_charge_refunded,
    "charge.refund.updated": handle_refund_changed,
    "refund.created": handle_refund_changed,
    "refund.updated": handle_refund_changed,
    "refund.failed": handle_refund_changed,
    "invoice.paid": handle_invoice_paid,
    "customer.subscription.created": handle_customer_subscription_changed,
    "customer.subscription.updated": handle_customer_subscription_changed,
    "customer.subscription.deleted": handle_customer_subscription_changed,
    "product.created": handle_product_changed,
    "product.updated": handle_product_changed,
    "product.deleted": handle_product_changed,
    "price.created": handle_price_changed,
    "price.updated": handle_price_changed,
    "price.deleted": handle_price_changed,
    "coupon.updated": handle_coupon_updated,
    "promotion_code.updated": handle_promotion_code_updated,
    "payment_link.created": handle_payment_link_changed,
    "payment_link.updated": handle_payment_link_changed,
}
