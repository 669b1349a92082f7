"""Fulfilment: one order per checkout session, whatever the number, order or timing of the events.

Every entry point re-fetches the current object from the Stripe API (an event's payload may be old),
then applies it in one transaction around the order row, locked on PostgreSQL:

* the unique ``Order.checkout_session_id`` is the ledger of orders;
* the status only moves forward (``STATUS_RANK``), and every change leaves an ``OrderStatusChange``;
* ``paid_at`` is set once, when the order first counts as paid, and that is the one moment the link's
  revenue and order count grow;
* e-mails go through ``OutboundEmail``, unique per (order, kind, Stripe object), sent by a task after the
  commit: one confirmation per order, one invoice e-mail per paid invoice (a subscription's renewals
  included).

API calls happen before the transaction: no row lock is held while waiting on the network.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import stripe
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog import limits
from catalog.money import from_minor_units
from config.bulk import BulkReport, bulk_apply
from config.stripe_client import get_stripe_client
from links.emails import outbound_email_queue
from links.models import Order, OrderLineItem, OrderStatusChange, OutboundEmail, PaymentLink
from links.revenue import revenue_count_payment

logger = logging.getLogger(__name__)
# One line each for a person watching (``manage.py demo`` prints them): a payment received or failed,
# an order fulfilled.
notices = logging.getLogger("paylinks.notices")

# Forward-only state: a change is applied only to a higher rank. A failed or expired payment can still
# become paid (Stripe is the judge), a paid order never goes back to awaiting payment.
STATUS_RANK = {
    Order.Status.AWAITING_PAYMENT: 0,
    Order.Status.PAYMENT_FAILED: 1,
    Order.Status.EXPIRED: 1,
    Order.Status.CANCELED: 1,
    Order.Status.PAID: 2,
    Order.Status.FULFILLED: 3,
}
PAID_PAYMENT_STATUSES = frozenset({"paid", "no_payment_required"})
# The reconciler looks back this far for completed sessions without an order.
RECONCILE_WINDOW = timedelta(days=3)
# Orders awaiting a delayed payment are re-read for this long, a batch per run.
AWAITING_WINDOW = timedelta(days=30)
AWAITING_BATCH = 200


# STRIPE OBJECTS ------------------------------------------------------------------------------------


def _as_dict(obj: Any) -> dict:
    if obj is None:
        return {}
    return obj.to_dict(for_json=True) if hasattr(obj, "to_dict") else dict(obj)


def _id(value: Any) -> str:
    """An expandable field's id, whether Stripe sent the id or the expanded object."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def _text(value: Any, max_length: int) -> str:
    return str(value or "")[:max_length]


# One request brings the session with everything fulfilment reads: its line items, subscription, invoice,
# PaymentIntent with its charge (a manual capture's state and deadline), and the promotion code and
# shipping rate (for their names).
SESSION_EXPAND = [
    "line_items",
    "subscription",
    "invoice",
    "payment_intent.latest_charge",
    "discounts.promotion_code",
    "shipping_cost.shipping_rate",
]


def checkout_session_fetch(*, session_id: str) -> tuple[dict, list[dict]]:
    """The session as Stripe has it now (subscription and invoice expanded), and all its line items."""
    client = get_stripe_client()
    # The answer's JSON as it comes (the SDK's raw_request: same auth, retries and errors): the typed
    # objects of sessions.retrieve cost more CPU than the request and would only be turned back into dicts.
    path = f"/v1/checkout/sessions/{quote(session_id, safe='')}"
    session = dict(client.raw_request("get", path, expand=SESSION_EXPAND).data)
    expanded = session.pop("line_items", None) or {}
    line_items = list(expanded.get("data") or [])
    if expanded.get("has_more") or not expanded:
        # More items than an expanded list holds: page through the rest.
        params = {"limit": 100, **({"starting_after": line_items[-1]["id"]} if line_items else {})}
        page = client.v1.checkout.sessions.line_items.list(session_id, params=params)
        line_items += [_as_dict(item) for item in page.auto_paging_iter()]
    return session, line_items


def _custom_fields(session: dict) -> list[dict]:
    """Keep the question and the answer of each custom field, not the field's configuration."""
    fields = []
    for field in session.get("custom_fields") or []:
        kind = field.get("type") or ""
        label = (field.get("label") or {}).get("custom") or field.get("key") or ""
        value = (field.get(kind) or {}).get("value") if kind else None
        fields.append({"key": field.get("key") or "", "label": label, "type": kind, "value": value})
    return fields


def _promotion_code(session: dict) -> tuple[str, str]:
    """The promotion code's id and, when it came expanded, the code customers type (``SPRING``)."""
    breakdown = (session.get("total_details") or {}).get("breakdown") or {}
    for code in [
        *(discount.get("promotion_code") for discount in session.get("discounts") or []),
        *((item.get("discount") or {}).get("promotion_code") for item in breakdown.get("discounts") or []),
    ]:
        if _id(code):
            text = code.get("code") if isinstance(code, dict) else ""
            return _id(code)[:255], _text(text, limits.PROMOTION_CODE_MAX_LENGTH)
    return "", ""


def _tax_ids(details: dict) -> list[dict]:
    return [
        {"type": _text(tax_id.get("type"), 32), "value": _text(tax_id.get("value"), 100)}
        for tax_id in details.get("tax_ids") or []
        if isinstance(tax_id, dict)
    ]


def _reuse_agreement(session: dict, intent: dict) -> str:
    """Whether the customer saw the payment method reuse agreement ("shown", "hidden"), or "" when no
    payment method was kept for later (Stripe shows it only then: a subscription's, or one set up for
    future use)."""
    subscription = session.get("subscription")
    if isinstance(subscription, dict):
        saved = bool(subscription.get("default_payment_method"))
    else:
        saved = session.get("mode") == "subscription" or bool(intent.get("setup_future_usage"))
    if not saved:
        return ""
    consent = session.get("consent_collection") or {}
    position = (consent.get("payment_method_reuse_agreement") or {}).get("position")
    return "hidden" if position == "hidden" else "shown"


def order_fields_from_session(session: dict) -> dict:
    """The ``Order`` columns that mirror a checkout session (everything but status and timestamps)."""
    details = session.get("customer_details") or {}
    totals = session.get("total_details") or {}
    shipping_cost = session.get("shipping_cost") or {}
    collected = session.get("collected_information") or {}
    subscription = session.get("subscription")
    intent = session.get("payment_intent")
    shipping_rate = shipping_cost.get("shipping_rate")
    promotion_code, promotion_code_text = _promotion_code(session)
    individual_name = collected.get("individual_name") or details.get("individual_name")
    business_name = collected.get("business_name") or details.get("business_name")
    fields = {
        "payment_status": _text(session.get("payment_status"), 32),
        "customer_email": _text(details.get("email") or session.get("customer_email"), 254),
        "customer_name": _text(details.get("name") or individual_name or business_name, 300),
        "individual_name": _text(individual_name, 300),
        "business_name": _text(business_name, 300),
        "customer_tax_ids": _tax_ids(details),
        "customer_phone": _text(details.get("phone"), 64),
        "customer_id": _text(_id(session.get("customer")), 255),
        "billing_address": details.get("address"),
        # Top-level shipping_details went away in API 2025-03-31; older sandboxes may still send it.
        "shipping_details": collected.get("shipping_details") or session.get("shipping_details"),
        "shipping_rate_id": _text(_id(shipping_rate), 255),
        "currency": _text(session.get("currency"), 3).lower(),
        "amount_subtotal": int(session.get("amount_subtotal") or 0),
        "amount_discount": int(totals.get("amount_discount") or 0),
        "amount_shipping": int(totals.get("amount_shipping") or shipping_cost.get("amount_total") or 0),
        "amount_tax": int(totals.get("amount_tax") or 0),
        "amount_total": int(session.get("amount_total") or 0),
        "promotion_code": promotion_code,
        "client_reference_id": _text(session.get("client_reference_id"), 200),
        "custom_fields": _custom_fields(session),
        "consent": session.get("consent"),
        "payment_intent_id": _text(_id(session.get("payment_intent")), 255),
        "invoice_id": _text(_id(session.get("invoice")), 255),
        "subscription_id": _text(_id(subscription), 255),
    }
    if isinstance(subscription, dict) and subscription.get("status"):
        fields["subscription_status"] = _text(subscription["status"], 32)
    if isinstance(intent, dict):
        fields |= payment_intent_fields(intent)
    # An older stored session (or a test's) may hold the ids alone: the names already stored stay.
    if isinstance(shipping_rate, dict):
        name = shipping_rate.get("display_name")
        fields["shipping_rate_name"] = _text(name, limits.SHIPPING_RATE_NAME_MAX_LENGTH)
    if promotion_code_text:
        fields["promotion_code_text"] = promotion_code_text
    fields["reuse_agreement"] = _reuse_agreement(session, intent if isinstance(intent, dict) else {})
    return fields


# A PaymentIntent's state only moves forward on the order: a fetch older than the one applied (a slow
# worker's) must not bring back "requires_capture" after the capture.
INTENT_STATUS_RANK = {
    "requires_payment_method": 0,
    "requires_confirmation": 0,
    "requires_action": 0,
    "processing": 1,
    "requires_capture": 2,
    "succeeded": 3,
    "canceled": 3,
}
# How Stripe says an uncaptured authorisation lapsed (after 7 days for cards), rather than was canceled.
AUTHORIZATION_EXPIRED_REASONS = frozenset({"automatic", "expired"})


def payment_intent_fields(intent: dict) -> dict:
    """The ``Order`` columns that mirror its PaymentIntent (with its ``latest_charge`` expanded, for the
    deadline of an authorisation)."""
    fields = {
        "payment_intent_status": _text(intent.get("status"), 32),
        "capture_method": _text(intent.get("capture_method"), 32),
        "setup_future_usage": _text(intent.get("setup_future_usage"), 32),
        "amount_capturable": int(intent.get("amount_capturable") or 0),
        "amount_received": int(intent.get("amount_received") or 0),
    }
    charge = intent.get("latest_charge")
    if isinstance(charge, dict):
        card = (charge.get("payment_method_details") or {}).get("card") or {}
        deadline = card.get("capture_before")
        fields["capture_before"] = datetime.fromtimestamp(deadline, tz=UTC) if deadline else None
    return fields


def _intent_is_older(order: Order, intent_status: str) -> bool:
    """Whether applying ``intent_status`` would move the order's PaymentIntent state backwards."""
    current = INTENT_STATUS_RANK.get(order.payment_intent_status, -1)
    return INTENT_STATUS_RANK.get(intent_status, -1) < current


def order_amount_received(order: Order) -> int:
    """What the order's payment brought in: for a manual capture, what was captured (it may be less than
    authorised); otherwise the total."""
    if order.capture_method == "manual" and order.payment_intent_status == "succeeded":
        return order.amount_received or order.amount_total
    return order.amount_total


def order_authorisation_record(*, order: Order, intent: dict, actor: str) -> None:
    """The end of a manual capture's authorisation in the order's history, once: captured (with what was
    received), canceled or expired. Call under the order's row lock, its PaymentIntent fields applied.

    An order recorded as already captured (its session read after the capture) gets its entry too, so
    whichever of the capture's events or the session's completion comes first, there is one entry.
    """
    if order.capture_method != "manual":
        return
    if order.payment_intent_status == "succeeded":
        action, amount = OrderStatusChange.Action.CAPTURE, order.amount_received
    elif order.payment_intent_status == "canceled":
        expired = intent.get("cancellation_reason") in AUTHORIZATION_EXPIRED_REASONS
        action = (
            OrderStatusChange.Action.AUTHORIZATION_EXPIRED
            if expired
            else OrderStatusChange.Action.AUTHORIZATION_CANCELED
        )
        amount = int(intent.get("amount") or order.amount_total)
    else:
        return
    ends = [
        OrderStatusChange.Action.CAPTURE,
        OrderStatusChange.Action.AUTHORIZATION_CANCELED,
        OrderStatusChange.Action.AUTHORIZATION_EXPIRED,
    ]
    if not order.status_changes.filter(action__in=ends).exists():
        OrderStatusChange.objects.create(order=order, action=action, amount=amount, actor=actor[:200])


def order_payment_intent_apply(*, order: Order, intent: dict, actor: str) -> bool:
    """Apply the PaymentIntent's current state to its locked order: the authorisation's amounts and
    deadline, its capture (the order becomes paid, its revenue what was received) or its end (canceled,
    expired). False, and nothing written, when ``intent`` is older than what the order holds."""
    fields = payment_intent_fields(intent)
    if _intent_is_older(order, fields["payment_intent_status"]):
        return False
    changed = [name for name, value in fields.items() if getattr(order, name) != value]
    for name in changed:
        setattr(order, name, fields[name])
    if changed:
        order.save(update_fields=[*changed, "updated_at"])
    status = order.payment_intent_status
    if status == "succeeded":
        order_status_change(order=order, to_status=Order.Status.PAID, actor=actor)
    elif status == "canceled" and order.capture_method == "manual":
        expired = intent.get("cancellation_reason") in AUTHORIZATION_EXPIRED_REASONS
        to_status = Order.Status.EXPIRED if expired else Order.Status.CANCELED
        order_status_change(order=order, to_status=to_status, actor=actor)
    order_authorisation_record(order=order, intent=intent, actor=actor)
    return True


def session_target_status(session: dict) -> str:
    """Paid when the session says so, or when its PaymentIntent has succeeded: a manual-capture payment
    completes its session ``unpaid`` (only authorised), and its capture comes later."""
    if session.get("payment_status") in PAID_PAYMENT_STATUSES:
        return Order.Status.PAID
    intent = session.get("payment_intent")
    if isinstance(intent, dict) and intent.get("status") == "succeeded":
        return Order.Status.PAID
    if (
        isinstance(intent, dict)
        and intent.get("status") == "canceled"
        and intent.get("capture_method") == "manual"
    ):
        # An authorisation that ended without a capture: canceled by staff, or lapsed.
        if intent.get("cancellation_reason") in AUTHORIZATION_EXPIRED_REASONS:
            return Order.Status.EXPIRED
        return Order.Status.CANCELED
    return Order.Status.AWAITING_PAYMENT


def order_success_url_template() -> str:
    """The after-payment page to give Stripe as a link's ``after_completion`` redirect URL.

    Stripe replaces ``{CHECKOUT_SESSION_ID}``; the page shows the order and polls until it is settled.
    """
    from django.conf import settings
    from django.urls import reverse

    return f"{settings.PAYLINKS_BASE_URL}{reverse('orders:success')}?session_id={{CHECKOUT_SESSION_ID}}"


# THE ORDER LEDGER ----------------------------------------------------------------------------------


def _locked_orders():
    # select_for_update is a no-op on SQLite, where IMMEDIATE transactions already serialise writers.
    return Order.objects.select_for_update()


def order_status_change(*, order: Order, to_status: str, actor: str) -> bool:
    """Move a locked order forward to ``to_status``; False (and nothing written) if that is not forward.

    Call inside a transaction holding the order's row lock. Reaching paid (or beyond) for the first time
    sets ``paid_at``, counts the order in its link's revenue, and queues the confirmation e-mails.
    """
    if STATUS_RANK[to_status] <= STATUS_RANK.get(order.status, -1):
        return False
    now = timezone.now()
    from_status = order.status
    order.status = to_status
    update_fields = ["status", "updated_at"]
    first_paid = _is_paid(to_status) and order.paid_at is None
    if first_paid:
        order.paid_at = now
        update_fields.append("paid_at")
    if to_status == Order.Status.FULFILLED:
        order.fulfilled_at = now
        update_fields.append("fulfilled_at")
    order.save(update_fields=update_fields)
    _status_changed(order=order, from_status=from_status, first_paid=first_paid, actor=actor)
    return True


def _is_paid(status: str) -> bool:
    return STATUS_RANK[status] >= STATUS_RANK[Order.Status.PAID]


def _status_changed(*, order: Order, from_status: str, first_paid: bool, actor: str) -> None:
    """What follows a status already written on the order: its history row; on first reaching paid, the
    link's counters and the confirmation e-mails; on a failed payment, its e-mails."""
    if first_paid:
        _order_count_paid(order, order_is_new=not from_status)
    OrderStatusChange.objects.create(
        order=order, from_status=from_status, to_status=order.status, actor=actor[:200]
    )
    if order.status == Order.Status.PAYMENT_FAILED:
        outbound_email_queue(order=order, kind=OutboundEmail.Kind.PAYMENT_FAILED)
        outbound_email_queue(order=order, kind=OutboundEmail.Kind.STAFF_NOTIFICATION)
        _notice_on_commit(order=order, what="Payment failed")
    elif order.status == Order.Status.FULFILLED:
        _notice_on_commit(order=order, what="Order fulfilled", by=actor)
    elif first_paid:
        _notice_on_commit(order=order, what="Payment received")


def _notice_on_commit(*, order: Order, what: str, by: str = "") -> None:
    """Say it in one line once it is committed (a rolled-back change never happened): what, how much, on
    which link, and the order's page."""
    from django.conf import settings
    from django.urls import reverse

    amount = f"{from_minor_units(order_amount_received(order), order.currency)} {order.currency.upper()}"
    url = settings.PAYLINKS_BASE_URL + reverse("orders:detail", kwargs={"public_id": order.public_id})
    link_id = order.payment_link_id

    def say() -> None:
        # Read after the commit, outside the order's lock.
        links = PaymentLink.objects.filter(id=link_id)
        name = links.values_list("name", flat=True).first() if link_id else None
        where = f"on the link “{name}”" if name else "without a payment link"
        notices.info("%s: %s %s%s (order %s)", what, amount, where, f", marked by {by}" if by else "", url)

    transaction.on_commit(say)


def _order_count_paid(order: Order, *, order_is_new: bool) -> None:
    # Runs once per order: guarded by paid_at, under the order's row lock.
    revenue_count_payment(order=order, amount=order_amount_received(order))
    for kind in (OutboundEmail.Kind.ORDER_CONFIRMATION, OutboundEmail.Kind.STAFF_NOTIFICATION):
        outbound_email_queue(order=order, kind=kind, order_is_new=order_is_new)


def _optional_prices(session: dict) -> set[str]:
    return {_id(item.get("price")) for item in session.get("optional_items") or [] if isinstance(item, dict)}


def _line_items_create(order: Order, line_items: list[dict], *, optional_prices: set[str]) -> None:
    OrderLineItem.objects.bulk_create(
        OrderLineItem(
            order=order,
            stripe_id=_text(item.get("id"), 255),
            price_id=_text(_id(item.get("price")), 255),
            description=_text(item.get("description"), 500),
            quantity=int(item.get("quantity") or 0),
            currency=_text(item.get("currency") or order.currency, 3).lower(),
            amount_subtotal=int(item.get("amount_subtotal") or 0),
            amount_discount=int(item.get("amount_discount") or 0),
            amount_tax=int(item.get("amount_tax") or 0),
            amount_total=int(item.get("amount_total") or 0),
            optional=_id(item.get("price")) in optional_prices,
        )
        for item in line_items
    )


def order_record_session(*, session: dict, line_items: list[dict], actor: str) -> Order:
    """Create or update the one order of a completed checkout session, moving its status forward only.

    Idempotent and safe under concurrency: the unique checkout_session_id plus the row lock make a second
    caller (a duplicate event, a concurrent worker, the reconciler, the success page) update the same row.
    """
    try:
        return _order_record(session=session, line_items=line_items, actor=actor)
    except IntegrityError:
        # On PostgreSQL, another caller inserted this session's order between our look and our insert
        # (on SQLite, IMMEDIATE transactions take turns). Its row is committed now: the second attempt
        # finds it, locks it and brings it up to date.
        return _order_record(session=session, line_items=line_items, actor=actor)


def _order_record(*, session: dict, line_items: list[dict], actor: str) -> Order:
    fields = order_fields_from_session(session)
    target = session_target_status(session)
    link_stripe_id = _id(session.get("payment_link"))
    links = PaymentLink.objects.filter(stripe_id=link_stripe_id)
    with transaction.atomic():
        # The lock and the id alone: most sessions have no order yet, and the full row (some seventy
        # columns) is read only when there is one.
        order_id = (
            _locked_orders().filter(checkout_session_id=session["id"]).values_list("id", flat=True).first()
        )
        if order_id is None:
            # Inserted with the session's status (not inserted, then updated: one write of 14 indexes
            # fewer); its first history row goes from nothing straight to it. No savepoint around the
            # insert (get_or_create's): a conflict aborts this transaction, and the caller runs it again.
            paid = _is_paid(target)
            order = Order.objects.create(
                checkout_session_id=session["id"],
                # Looked up by the INSERT itself, which returns it: one statement fewer per order.
                payment_link_id=Subquery(links.values("id")[:1]) if link_stripe_id else None,
                status=target,
                paid_at=timezone.now() if paid else None,
                **fields,
            )
            _line_items_create(order, line_items, optional_prices=_optional_prices(session))
            _status_changed(order=order, from_status="", first_paid=paid, actor=actor)
            intent = session.get("payment_intent")
            if isinstance(intent, dict):
                order_authorisation_record(order=order, intent=intent, actor=actor)
            return order
        order = Order.objects.get(id=order_id)  # locked by the look above
        if _is_paid(order.status) and target != Order.Status.PAID:
            # A fetch older than the one that saw it paid: keep the newer payment status.
            fields.pop("payment_status")
        if _intent_is_older(order, fields.get("payment_intent_status", "")):
            # Likewise for its PaymentIntent (a capture or cancel applied by a newer fetch).
            for name in payment_intent_fields({}):
                fields.pop(name, None)
            fields.pop("capture_before", None)
        for name, value in fields.items():
            setattr(order, name, value)
        if order.payment_link_id is None and link_stripe_id:
            order.payment_link_id = links.values_list("id", flat=True).first()
        order.save()
        # Line items never change once recorded; an order created before they could be read gets them now.
        if not order.line_items.exists():
            _line_items_create(order, line_items, optional_prices=_optional_prices(session))
        order_status_change(order=order, to_status=target, actor=actor)
        intent = session.get("payment_intent")
        if isinstance(intent, dict) and not _intent_is_older(order, str(intent.get("status") or "")):
            order_authorisation_record(order=order, intent=intent, actor=actor)
    return order


def checkout_session_fulfil(*, session_id: str, actor: str) -> Order | None:
    """Fetch the session from Stripe and record its order; None while the session is not complete.

    For ``checkout.session.completed`` and ``async_payment_succeeded`` alike, in either order: the
    current session decides, so both events give the same single order.
    """
    session, line_items = checkout_session_fetch(session_id=session_id)
    if session.get("status") == "expired":
        return checkout_session_expire(session_id=session_id, actor=actor)
    if session.get("status") != "complete":
        return None
    order = order_record_session(session=session, line_items=line_items, actor=actor)
    _invoice_email_if_paid(order=order, session=session)
    return order


def checkout_session_payment_failed(*, session_id: str, actor: str) -> Order | None:
    """A delayed payment failed: record the order (if missing) and mark it failed, unless Stripe says paid."""
    session, line_items = checkout_session_fetch(session_id=session_id)
    if session.get("status") != "complete":
        return None
    order = order_record_session(session=session, line_items=line_items, actor=actor)
    if session.get("payment_status") in PAID_PAYMENT_STATUSES:
        return order
    with transaction.atomic():
        order = _locked_orders().get(id=order.id)
        order_status_change(order=order, to_status=Order.Status.PAYMENT_FAILED, actor=actor)
    return order


def checkout_session_expire(*, session_id: str, actor: str) -> Order | None:
    """An abandoned session: only an order still awaiting payment becomes expired; none is created."""
    with transaction.atomic():
        order = _locked_orders().filter(checkout_session_id=session_id).first()
        if order is None:
            return None
        order_status_change(order=order, to_status=Order.Status.EXPIRED, actor=actor)
    return order


def order_mark_fulfilled(*, order: Order, actor: str) -> bool:
    """Staff marked the order as delivered; only a paid order can be fulfilled."""
    with transaction.atomic():
        locked = _locked_orders().get(id=order.id)
        if locked.status != Order.Status.PAID:
            return False
        return order_status_change(order=locked, to_status=Order.Status.FULFILLED, actor=actor)


ORDER_ALREADY_FULFILLED = _("already fulfilled")
ORDER_NOT_PAID = _("not paid (%(status)s)")


def order_label(order: Order) -> str:
    """An order as a bulk report names it: its customer and amount."""
    amount = f"{from_minor_units(order_amount_received(order), order.currency)} {order.currency.upper()}"
    return f"{order.customer_email or order.checkout_session_id} ({amount})"


def order_mark_fulfilled_refusal(*, order: Order) -> str:
    """Why ``order_mark_fulfilled`` would leave this order as it is ("" when it would not)."""
    if order.status == Order.Status.FULFILLED:
        return str(ORDER_ALREADY_FULFILLED)
    if order.status != Order.Status.PAID:
        return ORDER_NOT_PAID % {"status": order.get_status_display()}
    return ""


def orders_mark_fulfilled(*, orders: list[Order], actor: str) -> BulkReport:
    """Mark each paid order fulfilled through ``order_mark_fulfilled`` (one transaction per order); the
    others, and any whose status changed since it was read, are reported with why."""

    def mark(order: Order) -> None:
        if not order_mark_fulfilled(order=order, actor=actor):
            order.refresh_from_db(fields=["status"])
            raise ValidationError(order_mark_fulfilled_refusal(order=order) or str(ORDER_ALREADY_FULFILLED))

    return bulk_apply(
        rows=orders,
        label=order_label,
        refusal=lambda order: order_mark_fulfilled_refusal(order=order),
        apply=mark,
    )


def order_refetch(*, order: Order, actor: str) -> Order | None:
    """Bring an order up to date with the session as Stripe has it now."""
    return checkout_session_fulfil(session_id=order.checkout_session_id, actor=actor)


# SUBSCRIPTIONS AND INVOICES ------------------------------------------------------------------------


def subscription_sync(*, subscription_id: str, fallback_status: str = "") -> int:
    """Copy the subscription's current status (fetched from Stripe) to its orders; return how many.

    An order not yet recorded is not an error: fulfilment reads the subscription itself when it runs.
    ``fallback_status`` (the event's) is used only if Stripe no longer knows the subscription.
    """
    try:
        subscription = _as_dict(get_stripe_client().v1.subscriptions.retrieve(subscription_id))
    except stripe.InvalidRequestError:
        if not fallback_status:
            raise
        subscription = {"status": fallback_status}
    status = _text(subscription.get("status"), 32)
    if not status:
        return 0
    return (
        Order.objects.filter(subscription_id=subscription_id)
        .exclude(subscription_status=status)
        .update(subscription_status=status, updated_at=timezone.now())
    )


def _invoice_subscription_id(invoice: dict) -> str:
    # API 2025-03-31 moved it under parent.subscription_details.
    parent = (invoice.get("parent") or {}).get("subscription_details") or {}
    return _id(parent.get("subscription") or invoice.get("subscription"))


def invoice_paid(*, invoice_id: str, actor: str) -> Order | None:
    """Queue the e-mail of this paid invoice (once per invoice) to the customer of the order it belongs to:
    the order's own invoice, or a renewal of the order's subscription."""
    invoice = _as_dict(get_stripe_client().v1.invoices.retrieve(invoice_id))
    if invoice.get("status") != "paid":
        return None
    order = Order.objects.filter(invoice_id=invoice_id).first()
    subscription_id = _invoice_subscription_id(invoice)
    if order is None and subscription_id:
        order = Order.objects.filter(subscription_id=subscription_id).order_by("created_at").first()
    if order is None:
        # The session's own fulfilment sends it when it runs (it reads the session's invoice).
        return None
    with transaction.atomic():
        if not order.invoice_id:
            Order.objects.filter(id=order.id, invoice_id="").update(invoice_id=invoice_id[:255])
        outbound_email_queue(order=order, kind=OutboundEmail.Kind.INVOICE, stripe_object_id=invoice_id)
    return order


def _invoice_email_if_paid(*, order: Order, session: dict) -> None:
    invoice = session.get("invoice")
    if isinstance(invoice, dict) and invoice.get("status") == "paid" and order.customer_email:
        with transaction.atomic():
            outbound_email_queue(order=order, kind=OutboundEmail.Kind.INVOICE, stripe_object_id=invoice["id"])


# RECONCILIATION ------------------------------------------------------------------------------------


def checkout_sessions_reconcile(*, since: int | None = None) -> int:
    """Catch up on lost webhooks: list each link's completed sessions from Stripe and fulfil those whose
    order is missing, or still awaits a payment that Stripe now reports as made (a paid session, or for a
    manual capture, whose session stays unpaid, a captured PaymentIntent).

    Returns the number of sessions fulfilled. Safe to run at any time: fulfilment is idempotent.
    """
    client = get_stripe_client()
    created_after = since or int((timezone.now() - RECONCILE_WINDOW).timestamp())
    fulfilled = 0
    captured = _captured_payment_intents(created_after=created_after)
    for stripe_link_id in PaymentLink.objects.values_list("stripe_id", flat=True).iterator():
        page = client.v1.checkout.sessions.list(
            params={
                "payment_link": stripe_link_id,
                "status": "complete",
                "created": {"gte": created_after},
                "limit": 100,
            }
        )
        paid = {
            session["id"]: session["payment_status"] in PAID_PAYMENT_STATUSES
            for session in page.auto_paging_iter()
        }
        orders = {
            session_id: (status, intent_id)
            for session_id, status, intent_id in Order.objects.filter(
                checkout_session_id__in=list(paid)
            ).values_list("checkout_session_id", "status", "payment_intent_id")
        }
        for session_id, is_paid in paid.items():
            status, intent_id = orders.get(session_id, (None, ""))
            if status == Order.Status.AWAITING_PAYMENT and not is_paid:
                # A manual capture leaves its session unpaid: the PaymentIntent says when it is captured.
                is_paid = intent_id in captured
            if status is not None and not (is_paid and status == Order.Status.AWAITING_PAYMENT):
                continue
            if checkout_session_fulfil(session_id=session_id, actor="reconciler") is not None:
                fulfilled += 1
    return fulfilled + _awaiting_orders_refresh()


def _captured_payment_intents(*, created_after: int) -> set[str]:
    """The PaymentIntents of orders awaiting capture (authorised, ``requires_capture`` when last read) that
    Stripe now reports succeeded: one read per such order, none for the others."""
    intent_ids = Order.objects.filter(
        status=Order.Status.AWAITING_PAYMENT,
        payment_intent_status="requires_capture",
        created_at__gte=datetime.fromtimestamp(created_after, tz=UTC),
    ).values_list("payment_intent_id", flat=True)
    client = get_stripe_client()
    captured = set()
    for intent_id in intent_ids:
        try:
            intent = _as_dict(client.v1.payment_intents.retrieve(intent_id))
        except stripe.InvalidRequestError:
            logger.warning("Reconciler: PaymentIntent %s of an order awaiting capture not found", intent_id)
            continue
        if intent.get("status") == "succeeded":
            captured.add(intent_id)
    return captured


def _awaiting_orders_refresh() -> int:
    """Delayed payments settle days later (SEPA: up to 14): re-read the sessions of orders still waiting
    beyond the listing window, in case their settlement event was lost."""
    now = timezone.now()
    session_ids = Order.objects.filter(
        status=Order.Status.AWAITING_PAYMENT,
        created_at__lt=now - RECONCILE_WINDOW,
        created_at__gte=now - AWAITING_WINDOW,
    ).values_list("checkout_session_id", flat=True)[:AWAITING_BATCH]
    changed = 0
    for session_id in list(session_ids):
        order = checkout_session_fulfil(session_id=session_id, actor="reconciler")
        changed += order is not None and order.status != Order.Status.AWAITING_PAYMENT
    return changed
