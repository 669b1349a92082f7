"""Checkout sessions opened by payment links: open, pay (complete, decline, 3-D Secure, SEPA), settle, expire.

The money of a session is in totals.py, its PaymentIntent in intents.py.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.db import transaction

from sandbox import billing, cards, charges, discounts, intents, objects, store, totals
from sandbox.events import event_emit, previous_attributes
from sandbox.ids import new_id
from sandbox.models import ApiObject

# Stripe's test SEPA debits settle after a few minutes.
DEFAULT_SEPA_SETTLEMENT_SECONDS = 180


class LinkUnavailable(Exception):
    """The link was deactivated (or reached its limit) while the customer was on the page."""


class SessionNotOpen(Exception):
    """The session is already complete or expired."""


@dataclass
class Payment:
    """What the customer entered on the hosted page, already validated by the form."""

    email: str
    card_number: str
    name: str = ""
    quantities: dict[str, int] = field(default_factory=dict)
    custom_amount: int | None = None
    phone: str | None = None
    address: dict | None = None
    shipping: dict | None = None
    shipping_rate: str | None = None
    custom_fields: dict[str, str | None] = field(default_factory=dict)
    terms_accepted: bool = False
    promotions: str | None = None
    promotion_code: str | None = None
    payment_method_type: str = "card"
    iban: str = ""
    exp_month: int | None = None
    exp_year: int | None = None
    optional_items: dict[str, int] = field(default_factory=dict)
    individual_name: str | None = None
    business_name: str | None = None
    tax_id: dict | None = None


@dataclass
class PaymentResult:
    session: ApiObject
    decline: cards.CardDecline | None = None
    completed_event_id: str | None = None
    requires_action: bool = False


def session_expire(*, session: ApiObject) -> None:
    """Expire an open session (locked by the caller): ``status=expired``, ``checkout.session.expired``."""
    before = copy.deepcopy(session.data)
    session.data["status"] = "expired"
    session.data["url"] = None
    store.save(session)
    event_emit(
        type="checkout.session.expired", obj=session.data, previous=previous_attributes(before, session.data)
    )


def session_mode(line_items: list[dict]) -> str:
    return "subscription" if any(li["price"]["type"] == "recurring" for li in line_items) else "payment"


def session_open(
    *,
    link: ApiObject,
    hosted_url_for,
    client_reference_id: str | None,
    customer_email: str | None,
    locale: str | None,
    utm: dict | None = None,
    prefilled_promo_code: str = "",
    base_url: str = "",
) -> ApiObject:
    """Open a session for one visit to the link (Stripe: each visit makes a new ``cs_…``).

    ``utm`` codes are kept for the redirect, ``base_url`` for the invoice URLs the session may make.
    """
    items = totals.session_line_items(link=link.data)
    subtotal = sum(li["amount_subtotal"] for li in items)
    data = objects.checkout_session(
        link=link.data,
        mode=session_mode(items),
        currency=link.data["currency"],
        amount_subtotal=subtotal,
        amount_total=subtotal,
        client_reference_id=client_reference_id,
        customer_email=customer_email,
        hosted_url="",
        locale=locale,
    )
    data["url"] = hosted_url_for(data["id"])
    data["_line_items"] = items
    data["_utm"] = utm or {}
    data["_prefilled_promo_code"] = prefilled_promo_code
    data["_base_url"] = base_url
    if prefilled_promo_code and link.data["allow_promotion_codes"]:
        # Like Stripe, a valid prefilled code is applied at once; an invalid one only fills the field.
        try:
            totals.session_price(
                data, link.data, Payment(email="", card_number="", promotion_code=prefilled_promo_code)
            )
        except discounts.PromotionCodeRefused:
            pass
    return store.create(object_id=data["id"], type="checkout.session", data=data, parent=link.stripe_id)


def session_pay(*, session_id: str, payment: Payment, authenticated: bool = False) -> PaymentResult:
    """Charge the card and complete the session, in one transaction.

    1. Lock the session and its link; refuse a closed session or an unavailable link.
    2. Price the line items with the customer's quantities, promotion code, tax and shipping.
    3. A 3-D Secure card not yet ``authenticated``: the PaymentIntent ``requires_action`` and the payment
       waits on the session for the authentication page (``session_authenticate``).
    4. Declined card: a failed PaymentIntent (``payment_intent.payment_failed``); the session stays open.
    5. Otherwise: the customer, the succeeded PaymentIntent (or the subscription and its invoice), the
       session ``complete``/``paid``, the link's completed-session count (deactivating it at its limit)
       and the events, ``checkout.session.completed`` last. That event is left undelivered for the
       caller to send after commit (Stripe waits for the endpoint's answer before redirecting).
    """
    with transaction.atomic():
        session = store.locked(type="checkout.session", object_id=session_id)
        if session.data["status"] != "open":
            raise SessionNotOpen
        link = store.locked(type="payment_link", object_id=session.data["payment_link"])
        if not link_available(link.data):
            raise LinkUnavailable
        totals.session_price(session.data, link.data, payment)
        free_today = nothing_due_today(session=session.data, link=link.data)
        collected = payment_method_collected(session=session.data, link=link.data)
        intent = None if free_today else intents.intent_for_session(session.data, link.data, payment)
        if intent and payment.payment_method_type == "sepa_debit":
            event = _complete_processing(session, link, payment, intent=intent)
            return PaymentResult(session=session, completed_event_id=event.stripe_id)
        if intent and cards.requires_authentication(payment.card_number) and not authenticated:
            intents.intent_require_action(intent, session)
            session.data["_pending_payment"] = asdict(payment)
            store.save(session)
            return PaymentResult(session=session, requires_action=True)
        # A trial without a payment method (``payment_method_collection=if_required``) has no card to try.
        decline = cards.card_outcome(payment.card_number) if collected else None
        if decline is not None:
            if intent:
                intents.intent_decline(intent, decline, payment=payment)
            store.save(session)
            return PaymentResult(session=session, decline=decline)
        # A free trial charges nothing now: Stripe reports ``no_payment_required``.
        status = "no_payment_required" if free_today else "paid"
        if intent and intent.data["capture_method"] == "manual":
            status = "unpaid"  # authorised only: the merchant captures later
        event = _complete_paid(
            session, link, payment, intent=intent, payment_status=status, payment_method_collected=collected
        )
        return PaymentResult(session=session, completed_event_id=event.stripe_id)


def nothing_due_today(*, session: dict, link: dict) -> bool:
    """A subscription's free trial with nothing else to pay now (a one-time item is charged at once)."""
    trial = totals.is_trial(link=link, line_items=session["_line_items"])
    return trial and session["amount_total"] == 0


def payment_method_collected(*, session: dict, link: dict) -> bool:
    """Whether the page asks for a payment method: always, but with ``payment_method_collection=if_required``
    not when nothing is due today (a subscription's free trial)."""
    return link.get("payment_method_collection") != "if_required" or not nothing_due_today(
        session=session, link=link
    )


def _complete_paid(
    session: ApiObject,
    link: ApiObject,
    payment: Payment,
    *,
    intent: ApiObject | None,
    payment_status: str = "paid",
    payment_method_collected: bool = True,
) -> ApiObject:
    customer_id = _customer(session.data, link.data, payment)
    if intent:
        intents.intent_succeed(intent, customer_id=customer_id, payment=payment)
    _complete(session.data, payment, intent_id=intent.stripe_id if intent else None, customer_id=customer_id)
    session.data["payment_status"] = payment_status
    if session.data["mode"] == "subscription":
        # A trial's card is saved for the first invoice (Stripe collects it with a SetupIntent).
        payment_method = intent.data["payment_method"] if intent else None
        if payment_method is None and payment_method_collected:
            payment_method = new_id("pm")
        subscription = billing.subscription_create(
            session=session.data, link=link.data, customer_id=customer_id, payment_method=payment_method
        )
        session.data["subscription"] = subscription["id"]
        session.data["invoice"] = subscription["latest_invoice"]
    elif link.data["invoice_creation"]["enabled"]:
        session.data["invoice"] = billing.invoice_for_payment(
            session=session.data, link=link.data, customer_id=customer_id
        )["id"]
    _redeem(session.data)
    session.data.pop("_pending_payment", None)
    store.save(session)
    _count_completed(link)
    return event_emit(type="checkout.session.completed", obj=session.data, deliver_now=True)


def _complete_processing(
    session: ApiObject, link: ApiObject, payment: Payment, *, intent: ApiObject
) -> ApiObject:
    """SEPA Direct Debit: the session completes ``unpaid`` and the debit settles later (sandbox clock)."""
    from sandbox import clock

    intent.data["status"] = "processing"
    intent.data["payment_method_types"] = ["sepa_debit"]
    intents.payment_method_id(intent)
    intent.data["latest_charge"] = charges.charge_create(
        intent=intent.data, payment=payment, decline=None, status="pending"
    )["id"]
    store.save(intent)
    event_emit(type="payment_intent.processing", obj=intent.data)
    settles_in = int(getattr(settings, "SANDBOX_SEPA_SETTLEMENT_SECONDS", DEFAULT_SEPA_SETTLEMENT_SECONDS))
    session.data["_settles_at"] = clock.now() + settles_in
    session.data["_settlement_fails"] = payment.iban in cards.FAILING_IBANS
    event = _complete_paid(session, link, payment, intent=None, payment_status="unpaid")
    session.data["payment_intent"] = intent.stripe_id
    store.save(session)
    return event


def session_settle(*, session_id: str) -> int:
    """Settle a processed SEPA debit: ``async_payment_succeeded`` or ``_failed``. Return 1 if settled."""
    with transaction.atomic():
        session = store.locked(type="checkout.session", object_id=session_id)
        if "_settles_at" not in session.data:
            return 0
        fails = session.data.pop("_settlement_fails")
        session.data.pop("_settles_at")
        intent = store.locked(type="payment_intent", object_id=session.data["payment_intent"])
        before = copy.deepcopy(session.data)
        if fails:
            charge = store.locked(type="charge", object_id=intent.data["latest_charge"])
            charge.data.update(
                {
                    "status": "failed",
                    "failure_code": cards.SEPA_DEBIT_FAILED.code,
                    "failure_message": str(cards.SEPA_DEBIT_FAILED.message),
                }
            )
            store.save(charge)
            event_emit(type="charge.failed", obj=charge.data)
            intents.intent_decline(intent, cards.SEPA_DEBIT_FAILED, method="sepa_debit")
            event_type = "checkout.session.async_payment_failed"
        else:
            intents.intent_succeed(intent, customer_id=session.data["customer"])
            session.data["payment_status"] = "paid"
            event_type = "checkout.session.async_payment_succeeded"
        store.save(session)
        event_emit(type=event_type, obj=session.data, previous=previous_attributes(before, session.data))
        return 1


def session_authenticate(*, session_id: str, approved: bool) -> PaymentResult:
    """The customer's answer on the 3-D Secure page: go on with the payment, or fail it."""
    with transaction.atomic():
        session = store.locked(type="checkout.session", object_id=session_id)
        pending = session.data.get("_pending_payment")
        if session.data["status"] != "open" or not pending:
            raise SessionNotOpen
        if approved:
            return session_pay(session_id=session_id, payment=Payment(**pending), authenticated=True)
        intent = store.locked(type="payment_intent", object_id=session.data["payment_intent"])
        intents.intent_decline(intent, cards.AUTHENTICATION_FAILED, payment=Payment(**pending))
        session.data.pop("_pending_payment")
        store.save(session)
        return PaymentResult(session=session, decline=cards.AUTHENTICATION_FAILED)


def session_reprice(*, session_id: str, payment: Payment) -> ApiObject:
    """Recompute an open session's totals for the customer's choices, without charging."""
    with transaction.atomic():
        session = store.locked(type="checkout.session", object_id=session_id)
        if session.data["status"] != "open":
            raise SessionNotOpen
        link = store.get(type="payment_link", object_id=session.data["payment_link"])
        totals.session_price(session.data, link.data, payment)
        store.save(session)
        return session


def link_available(link: dict) -> bool:
    restrictions = (link.get("restrictions") or {}).get("completed_sessions")
    if restrictions and restrictions["count"] >= restrictions["limit"]:
        return False
    return bool(link["active"])


def _redeem(data: dict) -> None:
    """Count the redemption on the promotion code and its coupon. Stripe then sends ``promotion_code.updated``
    (``previous_attributes: {"times_redeemed": …}``), and nothing for the coupon."""
    for entry in data["discounts"]:
        for type, object_id in (("promotion_code", entry["promotion_code"]), ("coupon", entry["coupon"])):
            obj = store.locked(type=type, object_id=object_id)
            previous = {"times_redeemed": obj.data["times_redeemed"]}
            obj.data["times_redeemed"] += 1
            store.save(obj)
            if type == "promotion_code":
                event_emit(type="promotion_code.updated", obj=obj.data, previous=previous)


def _customer(session: dict, link: dict, payment: Payment) -> str | None:
    """A Customer when Stripe makes one: ``customer_creation=always``, or (``if_required``) subscription
    mode and payment mode with a post-purchase invoice."""
    needed = session["mode"] == "subscription" or link["invoice_creation"]["enabled"]
    if link["customer_creation"] != "always" and not needed:
        return None
    data = objects.customer(
        email=payment.email,
        name=payment.name or payment.individual_name or payment.business_name or None,
        address=payment.address,
        phone=payment.phone,
    )
    data["business_name"] = payment.business_name
    data["individual_name"] = payment.individual_name
    customer = store.create(object_id=data["id"], type="customer", data=data)
    event_emit(type="customer.created", obj=customer.data)
    return customer.stripe_id


def _complete(data: dict, payment: Payment, *, intent_id: str, customer_id: str | None) -> None:
    data.update(
        {
            "status": "complete",
            "payment_status": "paid",
            "payment_intent": intent_id if data["mode"] == "payment" else None,
            "customer": customer_id,
            "url": None,
            "customer_details": {
                "address": payment.address or _empty_address(),
                "business_name": payment.business_name,
                "email": payment.email,
                "individual_name": payment.individual_name,
                "name": payment.name or None,
                "phone": payment.phone,
                "tax_exempt": "none",
                "tax_ids": [payment.tax_id] if payment.tax_id else [],
            },
        }
    )
    if payment.shipping or payment.individual_name or payment.business_name:
        data["collected_information"] = {
            "business_name": payment.business_name,
            "individual_name": payment.individual_name,
            "shipping_details": payment.shipping,
        }
    for custom_field in data["custom_fields"]:
        kind = custom_field["type"]
        custom_field[kind] = {
            **(custom_field[kind] or {}),
            "value": payment.custom_fields.get(custom_field["key"]),
        }
    if data["consent_collection"]:
        data["consent"] = {
            "promotions": payment.promotions,
            "terms_of_service": "accepted" if payment.terms_accepted else None,
        }


def _empty_address() -> dict:
    return {"city": None, "country": None, "line1": None, "line2": None, "postal_code": None, "state": None}


def _count_completed(link: ApiObject) -> None:
    """Count the completed session; at the limit the link deactivates (``payment_link.updated``)."""
    restrictions = (link.data.get("restrictions") or {}).get("completed_sessions")
    if not restrictions:
        return
    before = copy.deepcopy(link.data)
    restrictions["count"] += 1
    if restrictions["count"] >= restrictions["limit"]:
        link.data["active"] = False
    store.save(link)
    event_emit(type="payment_link.updated", obj=link.data, previous=previous_attributes(before, link.data))
