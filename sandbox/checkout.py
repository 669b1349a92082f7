"""Checkout sessions opened by payment links: open, price, pay (complete or decline), expire."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field

import stripe
from django.conf import settings
from django.db import transaction

from sandbox import billing, cards, charges, discounts, objects, pricing, store, tax
from sandbox.events import event_emit, previous_attributes
from sandbox.ids import new_id
from sandbox.models import ApiObject
from sandbox.shapes import shape

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


def session_line_items(
    *,
    link: dict,
    quantities: dict[str, int] | None = None,
    custom_amount: int | None = None,
    optional: dict[str, int] | None = None,
) -> list[dict]:
    """The session's LineItems: the link's items with the chosen quantities (items brought down to 0
    are left out, as on Stripe), then the optional items the customer added."""
    chosen = [
        {
            "id": item["id"],
            "price": item["price"],
            "quantity": (quantities or {}).get(item["id"], item["quantity"]),
            "adjustable_quantity": item["adjustable_quantity"],
        }
        for item in link["_line_items"]
    ]
    for extra in link.get("optional_items") or []:
        if (optional or {}).get(extra["price"]):
            chosen.append(
                {
                    "id": f"optional_{extra['price']}",
                    "price": extra["price"],
                    "quantity": optional[extra["price"]],
                    "adjustable_quantity": extra["adjustable_quantity"],
                }
            )
    items = []
    for item in chosen:
        quantity = item["quantity"]
        if quantity == 0:
            continue
        price = store.get(type="price", object_id=item["price"]).data
        product = store.get(type="product", object_id=price["product"]).data
        subtotal = pricing.line_subtotal(price, quantity, custom_amount=custom_amount)
        line = objects.line_item(
            price=store.public(price),
            quantity=quantity,
            amounts={"subtotal": subtotal, "total": subtotal},
            adjustable=item["adjustable_quantity"],
            product_name=product["name"],
        )
        line["id"] = new_id("li")
        line["_link_item"] = item["id"]  # which link item the customer's quantity applies to
        items.append(line)
    return items


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
    items = session_line_items(link=link.data)
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
        _price_session(session.data, link.data, payment)
        trialing = session.data["mode"] == "subscription" and billing.trial_days(
            link=link.data, line_items=session.data["_line_items"]
        )
        intent = None if trialing else _payment_intent(session.data, link.data, payment)
        if intent and payment.payment_method_type == "sepa_debit":
            event = _complete_processing(session, link, payment, intent=intent)
            return PaymentResult(session=session, completed_event_id=event.stripe_id)
        if intent and cards.requires_authentication(payment.card_number) and not authenticated:
            _require_action(intent, session)
            session.data["_pending_payment"] = asdict(payment)
            store.save(session)
            return PaymentResult(session=session, requires_action=True)
        decline = cards.card_outcome(payment.card_number)
        if decline is not None:
            if intent:
                _decline(intent, decline, payment=payment)
            store.save(session)
            return PaymentResult(session=session, decline=decline)
        # A free trial charges nothing now: Stripe reports ``no_payment_required``.
        status = "no_payment_required" if trialing else "paid"
        if intent and intent.data["capture_method"] == "manual":
            status = "unpaid"  # authorised only: the merchant captures later
        event = _complete_paid(session, link, payment, intent=intent, payment_status=status)
        return PaymentResult(session=session, completed_event_id=event.stripe_id)


def _complete_paid(
    session: ApiObject,
    link: ApiObject,
    payment: Payment,
    *,
    intent: ApiObject | None,
    payment_status: str = "paid",
) -> ApiObject:
    customer_id = _customer(session.data, link.data, payment)
    if intent:
        _succeed(intent, customer_id=customer_id, payment=payment)
    _complete(session.data, payment, intent_id=intent.stripe_id if intent else None, customer_id=customer_id)
    session.data["payment_status"] = payment_status
    if session.data["mode"] == "subscription":
        subscription = billing.subscription_create(
            session=session.data,
            link=link.data,
            customer_id=customer_id,
            payment_method=intent.data["payment_method"] if intent else None,
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
    _payment_method_id(intent)
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
            _decline(intent, cards.SEPA_DEBIT_FAILED, method="sepa_debit")
            event_type = "checkout.session.async_payment_failed"
        else:
            _succeed(intent, customer_id=session.data["customer"])
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
        _decline(intent, cards.AUTHENTICATION_FAILED, payment=Payment(**pending))
        session.data.pop("_pending_payment")
        store.save(session)
        return PaymentResult(session=session, decline=cards.AUTHENTICATION_FAILED)


def _require_action(intent: ApiObject, session: ApiObject) -> None:
    intent.data["status"] = "requires_action"
    intent.data["next_action"] = {
        "redirect_to_url": {"return_url": session.data["url"], "url": session.data["url"] + "/authenticate"},
        "type": "redirect_to_url",
    }
    _payment_method_id(intent)
    store.save(intent)


def session_reprice(*, session_id: str, payment: Payment) -> ApiObject:
    """Recompute an open session's totals for the customer's choices, without charging."""
    with transaction.atomic():
        session = store.locked(type="checkout.session", object_id=session_id)
        if session.data["status"] != "open":
            raise SessionNotOpen
        link = store.get(type="payment_link", object_id=session.data["payment_link"])
        _price_session(session.data, link.data, payment)
        store.save(session)
        return session


def link_available(link: dict) -> bool:
    restrictions = (link.get("restrictions") or {}).get("completed_sessions")
    if restrictions and restrictions["count"] >= restrictions["limit"]:
        return False
    return bool(link["active"])


def _price_session(data: dict, link: dict, payment: Payment) -> None:
    """Lines, then the promotion code's discount, then tax on the discounted amounts, then shipping."""
    items = session_line_items(
        link=link,
        quantities=payment.quantities,
        custom_amount=payment.custom_amount,
        optional=payment.optional_items,
    )
    currency = data["currency"]
    subtotal = sum(li["amount_subtotal"] for li in items)
    data["discounts"] = []
    if payment.promotion_code:
        promo, coupon = discounts.promotion_code_lookup(
            code=payment.promotion_code,
            currency=currency,
            subtotal=subtotal,
            email=payment.email,
            product_ids=[li["price"]["product"] for li in items],
        )
        amounts = discounts.line_discounts(coupon=coupon.data, lines=items, currency=currency)
        discount = _discount_object(
            session_id=data["id"], promo_id=promo.stripe_id, coupon_id=coupon.stripe_id
        )
        for line, amount in zip(items, amounts, strict=True):
            line["amount_discount"] = amount
            line["discounts"] = [{"amount": amount, "discount": discount}] if amount else []
        data["discounts"] = [{"coupon": coupon.stripe_id, "promotion_code": promo.stripe_id}]
    country = (payment.address or {}).get("country")
    percentage = tax.rate_for(country) if link["automatic_tax"]["enabled"] else None
    exclusive_tax = 0
    for line in items:
        net = line["amount_subtotal"] - line["amount_discount"]
        line_tax = 0
        if percentage is not None:
            behavior = line["price"]["tax_behavior"]
            line_tax = tax.line_tax(amount=net, percentage=percentage, behavior=behavior)
            rate = tax.tax_rate_object(country, percentage, inclusive=behavior == "inclusive")
            line["taxes"] = [
                {
                    "amount": line_tax,
                    "rate": rate,
                    "taxability_reason": "standard_rated",
                    "taxable_amount": net,
                }
            ]
            if behavior != "inclusive":
                exclusive_tax += line_tax
        line["amount_tax"] = line_tax
        line["amount_total"] = net + (
            line_tax if line["taxes"] and line["price"]["tax_behavior"] != "inclusive" else 0
        )
    if link["automatic_tax"]["enabled"]:
        data["automatic_tax"].update(
            {
                "provider": "stripe",
                "status": "complete" if percentage is not None else "requires_location_inputs",
            }
        )
    data["_line_items"] = items
    shipping = _shipping(data, payment.shipping_rate)
    discount_total = sum(li["amount_discount"] for li in items)
    data["amount_subtotal"] = subtotal
    data["amount_total"] = subtotal - discount_total + exclusive_tax + shipping
    data["total_details"] = {
        "amount_discount": discount_total,
        "amount_shipping": shipping,
        "amount_tax": sum(li["amount_tax"] for li in items),
    }
    # Returned only with expand[]=total_details.breakdown.
    data["_breakdown"] = {
        "discounts": _discount_breakdown(items, discount_total),
        "taxes": _tax_breakdown(items),
    }


def _discount_breakdown(items: list[dict], total: int) -> list[dict]:
    """The one promotion code's discount over the whole order."""
    discounts = [entry["discount"] for line in items for entry in line["discounts"]]
    return [{"amount": total, "discount": discounts[0]}] if discounts else []


def _tax_breakdown(items: list[dict]) -> list[dict]:
    """Taxes summed per rate over the lines."""
    totals: dict[tuple, dict] = {}
    for line in items:
        for tax_line in line["taxes"]:
            key = (tax_line["rate"]["percentage"], tax_line["rate"]["inclusive"])
            entry = totals.setdefault(key, {**tax_line, "amount": 0, "taxable_amount": 0})
            entry["amount"] += tax_line["amount"]
            entry["taxable_amount"] += tax_line["taxable_amount"]
    return list(totals.values())


def _shipping(data: dict, rate_id: str | None) -> int:
    if not rate_id:
        return 0
    rate = store.get(type="shipping_rate", object_id=rate_id).data
    amount = rate["fixed_amount"]["amount"]
    data["shipping_cost"] = {
        "amount_subtotal": amount,
        "amount_tax": 0,
        "amount_total": amount,
        "shipping_rate": rate["id"],
        "taxes": [],
    }
    return amount


def _discount_object(*, session_id: str, promo_id: str, coupon_id: str) -> dict:
    return {
        "id": new_id("di"),
        "object": "discount",
        "checkout_session": session_id,
        "customer": None,
        "customer_account": None,
        "end": None,
        "invoice": None,
        "invoice_item": None,
        "promotion_code": promo_id,
        "source": {"coupon": coupon_id, "type": "coupon"},
        "start": store.now(),
        "subscription": None,
        "subscription_item": None,
    }


def _redeem(data: dict) -> None:
    """Count the redemption on the promotion code and its coupon."""
    for entry in data["discounts"]:
        for type, object_id in (("promotion_code", entry["promotion_code"]), ("coupon", entry["coupon"])):
            obj = store.locked(type=type, object_id=object_id)
            obj.data["times_redeemed"] += 1
            store.save(obj)


def _payment_intent(session: dict, link: dict, payment: Payment) -> ApiObject:
    """The session's PaymentIntent: created on the first attempt, reused by retries like Stripe."""
    if session["payment_intent"]:
        intent = store.locked(type="payment_intent", object_id=session["payment_intent"])
        intent.data["amount"] = session["amount_total"]
        return intent
    intent_data = link.get("payment_intent_data") or {}
    data = objects.payment_intent(
        amount=session["amount_total"],
        currency=session["currency"],
        customer_id=None,
        metadata=intent_data.get("metadata") or {},
        description=intent_data.get("description"),
        receipt_email=None,
        payment_method_types=session["payment_method_types"],
    )
    data["capture_method"] = intent_data.get("capture_method") or "automatic"
    # Connect: the link's fee, settlement merchant and destination are recorded on the payment.
    data["application_fee_amount"] = link.get("application_fee_amount")
    data["on_behalf_of"] = link.get("on_behalf_of")
    transfer = link.get("transfer_data")
    if transfer:
        data["transfer_data"] = shape(
            stripe.PaymentIntent.TransferData,
            {"amount": transfer.get("amount"), "destination": transfer["destination"]},
        )
        data["transfer_group"] = f"group_{data['id']}"
    intent = store.create(object_id=data["id"], type="payment_intent", data=data)
    session["payment_intent"] = intent.stripe_id
    event_emit(type="payment_intent.created", obj=intent.data)
    return intent


def _settle_charge(charge_id: str | None) -> None:
    """A pending (SEPA) charge succeeds when the debit settles."""
    if not charge_id:
        return
    charge = store.locked(type="charge", object_id=charge_id)
    charge.data.update(
        {"status": "succeeded", "paid": True, "captured": True, "amount_captured": charge.data["amount"]}
    )
    store.save(charge)
    event_emit(type="charge.succeeded", obj=charge.data)


def _payment_method_id(intent: ApiObject) -> str:
    intent.data["payment_method"] = intent.data.get("payment_method") or new_id("pm")
    return intent.data["payment_method"]


def _decline(
    intent: ApiObject, decline: cards.CardDecline, *, payment: Payment | None = None, method: str = "card"
) -> None:
    charge_id = intent.data.get("latest_charge")
    if payment is not None:
        charge = charges.charge_create(intent=intent.data, payment=payment, decline=decline)
        charge_id = charge["id"]
        intent.data["latest_charge"] = charge_id
    intent.data["status"] = "requires_payment_method"
    intent.data["next_action"] = None
    intent.data["last_payment_error"] = {
        "advice_code": None,
        "charge": charge_id,
        "code": decline.code,
        "decline_code": decline.decline_code,
        "doc_url": f"https://stripe.com/docs/error-codes/{decline.code.replace('_', '-')}",
        "message": str(decline.message),
        "network_advice_code": None,
        "network_decline_code": None,
        "param": None,
        "payment_intent": None,
        "payment_method": None,
        "payment_method_type": method,
        "request_log_url": None,
        "setup_intent": None,
        "source": None,
        "type": "card_error" if method == "card" else "invalid_request_error",
    }
    _payment_method_id(intent)
    store.save(intent)
    event_emit(type="payment_intent.payment_failed", obj=intent.data)


def _succeed(intent: ApiObject, *, customer_id: str | None, payment: Payment | None = None) -> None:
    """The charge went through: ``succeeded``, or ``requires_capture`` for ``capture_method=manual``."""
    manual = intent.data["capture_method"] == "manual"
    amount = intent.data["amount"]
    intent.data.update(
        {
            "status": "requires_capture" if manual else "succeeded",
            "amount_received": 0 if manual else amount,
            "amount_capturable": amount if manual else 0,
            "last_payment_error": None,
            "next_action": None,
            "customer": customer_id,
        }
    )
    _payment_method_id(intent)
    if payment is not None:
        charge = charges.charge_create(intent=intent.data, payment=payment, decline=None, captured=not manual)
        intent.data["latest_charge"] = charge["id"]
    else:
        _settle_charge(intent.data["latest_charge"])
    store.save(intent)
    event_type = "payment_intent.amount_capturable_updated" if manual else "payment_intent.succeeded"
    event_emit(type=event_type, obj=intent.data)


def _customer(session: dict, link: dict, payment: Payment) -> str | None:
    """A Customer when Stripe makes one: ``customer_creation=always``, or (``if_required``) subscription
    mode and payment mode with a post-purchase invoice."""
    needed = session["mode"] == "subscription" or link["invoice_creation"]["enabled"]
    if link["customer_creation"] != "always" and not needed:
        return None
    data = objects.customer(
        email=payment.email, name=payment.name or None, address=payment.address, phone=payment.phone
    )
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
