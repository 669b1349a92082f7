"""Manual capture: staff capture an authorised payment (all of it or less) or cancel its authorisation, and
the PaymentIntent's events bring a capture or cancel made anywhere else (Stripe's Dashboard, the API) to
the order.

Both paths end in ``payment_intent_record``: the services apply the PaymentIntent the API answered with,
the event handlers the one they re-fetch. Applying the same state twice, or an older one after a newer,
changes nothing (``fulfilment.order_payment_intent_apply``). The Stripe call is made before, never inside,
the transaction that records it.
"""

from __future__ import annotations

import stripe
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from catalog.money import format_money
from config.stripe_calls import as_dict, idempotency_key, stripe_errors_as_validation
from config.stripe_client import get_stripe_client
from links import fulfilment
from links.models import Order

# The charge comes with the PaymentIntent: its card's ``capture_before`` is the authorisation's deadline.
INTENT_EXPAND = ["latest_charge"]

NOT_CAPTURABLE = _("This payment is not waiting for a capture: it was captured or canceled already.")
CHANGED_MEANWHILE = _(
    "This payment was captured or canceled elsewhere in the meantime: the order now shows its current state."
)
AMOUNT_TOO_SMALL = _("Enter an amount of at least %(min)s.")
AMOUNT_TOO_LARGE = _("Enter at most %(max)s: that is what the customer authorised.")


def order_is_capturable(order: Order) -> bool:
    """Whether the order is an authorisation still waiting for its capture."""
    return bool(order.payment_intent_id) and order.payment_intent_status == "requires_capture"


def capture_amount_refusal(*, order: Order, amount: int) -> str:
    """Why ``amount`` (minor units of the order's currency) cannot be captured, "" when it can."""
    if amount < 1:
        return str(AMOUNT_TOO_SMALL % {"min": format_money(1, order.currency)})
    if amount > order.amount_capturable:
        return str(AMOUNT_TOO_LARGE % {"max": format_money(order.amount_capturable, order.currency)})
    return ""


def _call_key(operation: str, *, order: Order, request_token: str, params: dict) -> str:
    # The form's token names this request; the order's id keeps two orders' tokens apart.
    return idempotency_key(operation, token=request_token, params={"order": str(order.public_id), **params})


def _state_changed_meanwhile(*, order: Order, actor: str) -> ValidationError:
    """The PaymentIntent is no longer authorised only (captured or canceled in Stripe's Dashboard, or by a
    second click): record its current state and say so."""
    payment_intent_sync(payment_intent_id=order.payment_intent_id, actor=actor)
    return ValidationError(CHANGED_MEANWHILE, code="changed")


def order_capture(*, order: Order, amount: int, user, request_token: str) -> Order:
    """Capture ``amount`` (minor units, at most what is authorised) of the order's authorised payment.

    What is not captured goes back to the customer (Stripe releases it): the order is paid, and counts in
    revenue, for what was captured.
    """
    if not order_is_capturable(order):
        raise ValidationError(NOT_CAPTURABLE, code="not_capturable")
    refusal = capture_amount_refusal(order=order, amount=amount)
    if refusal:
        raise ValidationError({"amount": refusal}, code="amount")
    actor = user.get_username()
    params = {"amount_to_capture": amount, "expand": INTENT_EXPAND}
    key = _call_key("payment-intent-capture", order=order, request_token=request_token, params=params)
    try:
        with stripe_errors_as_validation({"amount_to_capture": "amount"}):
            intent = get_stripe_client().v1.payment_intents.capture(
                order.payment_intent_id, params=params, options={"idempotency_key": key}
            )
    except ValidationError as error:
        if _is_unexpected_state(error):
            raise _state_changed_meanwhile(order=order, actor=actor) from error
        raise
    return payment_intent_record(intent=as_dict(intent), actor=actor) or order


def order_cancel_authorization(*, order: Order, user, request_token: str) -> Order:
    """Cancel the order's authorisation: nothing is captured and the customer's funds are released."""
    if not order_is_capturable(order):
        raise ValidationError(NOT_CAPTURABLE, code="not_capturable")
    actor = user.get_username()
    params = {"expand": INTENT_EXPAND}
    key = _call_key("payment-intent-cancel", order=order, request_token=request_token, params=params)
    try:
        with stripe_errors_as_validation():
            intent = get_stripe_client().v1.payment_intents.cancel(
                order.payment_intent_id, params=params, options={"idempotency_key": key}
            )
    except ValidationError as error:
        if _is_unexpected_state(error):
            raise _state_changed_meanwhile(order=order, actor=actor) from error
        raise
    return payment_intent_record(intent=as_dict(intent), actor=actor) or order


def _is_unexpected_state(error: ValidationError) -> bool:
    cause = error.__cause__
    return isinstance(cause, stripe.InvalidRequestError) and cause.code == "payment_intent_unexpected_state"


# FROM STRIPE ---------------------------------------------------------------------------------------


def payment_intent_record(*, intent: dict, actor: str) -> Order | None:
    """Apply a PaymentIntent as Stripe returned it to its order, under the order's row lock; None when no
    order has it."""
    order_id = Order.objects.filter(payment_intent_id=intent["id"]).values_list("id", flat=True).first()
    if order_id is None:
        return None
    with transaction.atomic():
        order = Order.objects.select_for_update().get(id=order_id)
        fulfilment.order_payment_intent_apply(order=order, intent=intent, actor=actor)
    return order


def payment_intent_sync(*, payment_intent_id: str, actor: str) -> Order | None:
    """Fetch the PaymentIntent and apply its current state to its order (for its events: authorised,
    captured, canceled, expired). No order yet (its session's completion is still queued, or was lost):
    the session is found at Stripe and fulfilled, reading the PaymentIntent with it, so nothing is lost."""
    client = get_stripe_client()
    if not Order.objects.filter(payment_intent_id=payment_intent_id).exists():
        page = client.v1.checkout.sessions.list(params={"payment_intent": payment_intent_id, "limit": 1})
        if not page.data:
            return None  # not a payment link's payment
        return fulfilment.checkout_session_fulfil(session_id=page.data[0].id, actor=actor)
    intent = client.v1.payment_intents.retrieve(payment_intent_id, params={"expand": INTENT_EXPAND})
    return payment_intent_record(intent=as_dict(intent), actor=actor)
