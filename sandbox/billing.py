"""Subscriptions and invoices made by paid checkout sessions (subscription mode, ``invoice_creation``)."""

from __future__ import annotations

import datetime
import uuid

import stripe
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.urls import reverse

from sandbox import clock, objects, pricing, store
from sandbox.events import event_emit
from sandbox.ids import new_id, random_token
from sandbox.shapes import skeleton

DAY = 24 * 3600
# A subscription renews at most this many periods in one tick; a tick later renews the rest (a clock moved
# years ahead on a daily price).
RENEWALS_PER_TICK = 60


def period_boundary(*, anchor: int, recurring: dict, periods: int) -> int:
    """The end of the ``periods``-th billing period from ``anchor``.

    Counted from the anchor, as Stripe bills: an anchor on the 31st renews on the last day of shorter
    months and on the 31st again after them, instead of drifting to the 28th.
    """
    count = recurring["interval_count"] * periods
    step = {
        "day": relativedelta(days=count),
        "week": relativedelta(weeks=count),
        "month": relativedelta(months=count),
        "year": relativedelta(years=count),
    }[recurring["interval"]]
    return int((datetime.datetime.fromtimestamp(anchor, tz=datetime.UTC) + step).timestamp())


def trial_days(*, link: dict, line_items: list[dict]) -> int | None:
    given = (link.get("subscription_data") or {}).get("trial_period_days")
    if given:
        return given
    for item in line_items:
        days = (item["price"].get("recurring") or {}).get("trial_period_days")
        if days:
            return days
    return None


def subscription_create(*, session: dict, link: dict, customer_id: str, payment_method: str | None) -> dict:
    """Create the subscription, its first invoice and their events; return the subscription data."""
    now = clock.now()
    days = trial_days(link=link, line_items=session["_line_items"])
    trial_end = now + days * DAY if days else None
    sub_id = new_id("sub")
    recurring_items = [li for li in session["_line_items"] if li["price"]["type"] == "recurring"]
    first_recurring = recurring_items[0]["price"]["recurring"]
    current_end = trial_end or period_boundary(anchor=now, recurring=first_recurring, periods=1)
    sub_data = link.get("subscription_data") or {}
    # Left out unless they apply (Subscriptions.ts: ``presentment_details?:``; BillingMode ``updated_at?:``).
    data = skeleton(stripe.Subscription, omit=frozenset({"deleted", "presentment_details"}))
    data.update(
        {
            "id": sub_id,
            "object": "subscription",
            "application_fee_percent": link.get("application_fee_percent"),
            "on_behalf_of": link.get("on_behalf_of"),
            "transfer_data": {"amount_percent": None, "destination": link["transfer_data"]["destination"]}
            if link.get("transfer_data")
            else None,
            "automatic_tax": {
                "disabled_reason": None,
                "enabled": link["automatic_tax"]["enabled"],
                "liability": _tax_liability(link["automatic_tax"]),
            },
            "billing_cycle_anchor": current_end if trial_end else now,
            "billing_mode": {"flexible": None, "type": "classic"},
            "cancel_at_period_end": False,
            "collection_method": "charge_automatically",
            "created": now,
            "currency": session["currency"],
            "customer": customer_id,
            "default_payment_method": payment_method,
            "default_tax_rates": [],
            "description": sub_data.get("description"),
            "discounts": [],
            "billing_schedules": [],
            "invoice_settings": _invoice_settings(sub_data.get("invoice_settings") or {}),
            "items": {
                "object": "list",
                "data": [
                    _subscription_item(li, sub_id=sub_id, start=now, end=current_end)
                    for li in recurring_items
                ],
                "has_more": False,
                "url": f"/v1/subscription_items?subscription={sub_id}",
            },
            "livemode": False,
            "metadata": dict(sub_data.get("metadata") or {}),
            "payment_settings": {
                "payment_method_options": None,
                "payment_method_types": None,
                "save_default_payment_method": "off",
            },
            "start_date": now,
            "status": "trialing" if trial_end else "active",
            "trial_end": trial_end,
            "trial_settings": {
                "end_behavior": {
                    "billing_cycle_anchor": None,
                    "missing_payment_method": (
                        (sub_data.get("trial_settings") or {}).get("end_behavior") or {}
                    ).get("missing_payment_method")
                    or "create_invoice",
                }
            },
            "trial_start": now if trial_end else None,
        }
    )
    invoice = invoice_create(
        session=session,
        customer_id=customer_id,
        lines=session["_line_items"],
        # What the session charged today: nothing for the trial's recurring lines, one-time items in full.
        amount=session["amount_total"],
        billing_reason="subscription_create",
        subscription_id=sub_id,
        subscription_metadata=data["metadata"],
        period=(now, now),
        invoice_data=data["invoice_settings"],
        automatic_tax=data["automatic_tax"],
    )
    data["latest_invoice"] = invoice["id"]
    if not trial_end:
        data.update(_renewal(1, current_end))
    store.create(object_id=sub_id, type="subscription", data=data, parent=customer_id)
    event_emit(type="customer.subscription.created", obj=data)
    _invoice_events(invoice)
    return data


def _tax_liability(automatic_tax: dict) -> dict | None:
    """Who is liable for the tax when automatic tax is on: the given account, else the merchant."""
    if not automatic_tax.get("enabled"):
        return None
    return automatic_tax.get("liability") or {"type": "self"}


def _invoice_settings(given: dict) -> dict:
    """The link's ``subscription_data[invoice_settings]`` on the subscription: every invoice it makes
    follows them (issuer, footer, custom fields, description, account tax IDs)."""
    return {
        "account_tax_ids": given.get("account_tax_ids"),
        "custom_fields": given.get("custom_fields"),
        "description": given.get("description"),
        "footer": given.get("footer"),
        # No ``account`` for ``type: self`` (Subscriptions.ts: ``account?: string | Account``).
        "issuer": given.get("issuer") or {"type": "self"},
    }


def _subscription_item(line: dict, *, sub_id: str, start: int, end: int) -> dict:
    item = skeleton(stripe.SubscriptionItem)
    item.update(
        {
            "id": new_id("si", length=14),
            "object": "subscription_item",
            "created": start,
            "current_period_end": end,
            "current_period_start": start,
            "discounts": [],
            "metadata": {},
            "plan": objects.plan(line["price"]),
            "price": line["price"],
            "quantity": line["quantity"],
            "subscription": sub_id,
            "tax_rates": [],
        }
    )
    return item


def invoice_create(
    *,
    session: dict,
    customer_id: str | None,
    lines: list[dict],
    amount: int,
    billing_reason: str,
    subscription_id: str | None = None,
    subscription_metadata: dict | None = None,
    period: tuple[int, int] | None = None,
    invoice_data: dict | None = None,
    automatic_tax: dict | None = None,
    paid: bool = True,
) -> dict:
    """A paid invoice for the session (stored, no events yet: the caller emits them in order); ``paid=False``:
    finalized and open, nothing charged.

    ``invoice_data``: the link's invoice settings (``invoice_creation[invoice_data]``, or the subscription's
    ``invoice_settings``); ``automatic_tax``: the session's or the subscription's.
    """
    now = clock.now()
    invoice_id = new_id("in")
    details = session.get("customer_details") or {}
    token = uuid.uuid4().hex
    base = session.get("_base_url") or settings.PAYLINKS_BASE_URL
    # payments (includable) and threshold_reason are left out (Invoices.ts: ``payments?: ApiList<…>``,
    # ``threshold_reason?: Invoice.ThresholdReason``).
    data = skeleton(stripe.Invoice, omit=frozenset({"deleted", "payments", "threshold_reason"}))
    data.update(
        {
            "id": invoice_id,
            "object": "invoice",
            "account_country": "US",
            "account_name": None,
            "amount_due": amount,
            "amount_overpaid": 0,
            "amount_paid": amount if paid else 0,
            "amount_paid_off_stripe": 0,
            "amount_remaining": 0 if paid else amount,
            "amount_shipping": session["total_details"]["amount_shipping"] or 0,
            "attempt_count": 1 if amount and paid else 0,
            "attempted": bool(amount) and paid,
            "auto_advance": False,
            "automatic_tax": {
                "disabled_reason": None,
                "enabled": bool((automatic_tax or {}).get("enabled")),
                "liability": _tax_liability(automatic_tax or {}),
                "provider": "stripe" if (automatic_tax or {}).get("enabled") else None,
                "status": "complete" if (automatic_tax or {}).get("enabled") else None,
            },
            "billing_reason": billing_reason,
            "collection_method": "charge_automatically",
            "created": now,
            "currency": session["currency"],
            "custom_fields": (invoice_data or {}).get("custom_fields"),
            "customer": customer_id,
            "customer_address": details.get("address"),
            "customer_email": details.get("email"),
            "customer_name": details.get("name"),
            "customer_phone": details.get("phone"),
            "customer_tax_exempt": "none",
            "customer_tax_ids": [],
            "default_tax_rates": [],
            "description": (invoice_data or {}).get("description"),
            "discounts": [],
            "effective_at": now,
            "ending_balance": 0,
            "footer": (invoice_data or {}).get("footer"),
            "hosted_invoice_url": base + reverse("sandbox:invoice", args=[token]),
            "invoice_pdf": base + reverse("sandbox:invoice_pdf", args=[token]),
            "issuer": (invoice_data or {}).get("issuer") or {"type": "self"},
            "lines": {
                "object": "list",
                "data": [
                    _invoice_line(
                        li,
                        invoice_id=invoice_id,
                        subscription_id=subscription_id,
                        period=period or (now, now),
                    )
                    for li in lines
                ],
                "has_more": False,
                "url": f"/v1/invoices/{invoice_id}/lines",
            },
            "livemode": False,
            "metadata": dict((invoice_data or {}).get("metadata") or {}),
            "number": f"SBX-{random_token(8).upper()}",
            # Always an object (stripe.Invoice.PaymentSettings is not Optional); null settings inherit.
            "payment_settings": {
                "default_mandate": None,
                "payment_method_options": None,
                "payment_method_types": None,
            },
            "parent": {
                "quote_details": None,
                "subscription_details": {
                    "metadata": subscription_metadata or {},
                    "subscription": subscription_id,
                    "subscription_proration_date": None,
                },
                "type": "subscription_details",
            }
            if subscription_id
            else None,
            "period_end": (period or (now, now))[1],
            "period_start": (period or (now, now))[0],
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "starting_balance": 0,
            "status": "paid" if paid else "open",
            "status_transitions": {
                "finalized_at": now,
                "marked_uncollectible_at": None,
                "paid_at": now if paid else None,
                "voided_at": None,
            },
            "subtotal": session["amount_subtotal"] if amount else 0,
            "subtotal_excluding_tax": session["amount_subtotal"] if amount else 0,
            "total": amount,
            "total_discount_amounts": [],
            "total_excluding_tax": amount - (session["total_details"]["amount_tax"] if amount else 0),
            "total_pretax_credit_amounts": [],
            "total_taxes": [],
            "webhooks_delivered_at": now,
        }
    )
    # The token (not the id) is in the public receipt URLs, so they cannot be guessed from an invoice id.
    store.create(object_id=invoice_id, type="invoice", data=data, parent=customer_id or "", key=token)
    return data


def _invoice_line(
    line: dict, *, invoice_id: str, subscription_id: str | None, period: tuple[int, int]
) -> dict:
    item = skeleton(stripe.InvoiceLineItem)
    item.update(
        {
            "id": new_id("il"),
            "object": "line_item",
            "amount": line["amount_subtotal"],
            "currency": line["currency"],
            "description": f"{line['quantity']} × {line['description']}",
            "discount_amounts": [],
            "discountable": True,
            "discounts": [],
            "invoice": invoice_id,
            "livemode": False,
            "metadata": {},
            "period": {"end": period[1], "start": period[0]},
            "pretax_credit_amounts": [],
            "pricing": {
                "price_details": {"price": line["price"]["id"], "product": line["price"]["product"]},
                "type": "price_details",
                "unit_amount_decimal": line["price"]["unit_amount_decimal"],
            },
            "quantity": line["quantity"],
            "subscription": subscription_id,
            "subtotal": line["amount_subtotal"],
            "taxes": [],
        }
    )
    return item


def _invoice_events(invoice: dict) -> None:
    types = ["invoice.created", "invoice.finalized"]
    if invoice["status"] == "paid":
        types += ["invoice.paid", "invoice.payment_succeeded"]
    for event_type in types:
        event_emit(type=event_type, obj=invoice)


def invoice_for_payment(*, session: dict, link: dict, customer_id: str | None) -> dict:
    """``invoice_creation.enabled`` in payment mode: a paid post-purchase invoice."""
    invoice = invoice_create(
        session=session,
        customer_id=customer_id,
        lines=session["_line_items"],
        amount=session["amount_total"],
        billing_reason="manual",
        invoice_data=link["invoice_creation"]["invoice_data"],
        automatic_tax=session["automatic_tax"],
    )
    _invoice_events(invoice)
    return invoice


def subscription_cycle(*, subscription: dict, period: int, paid: bool = True) -> dict:
    """Begin the subscription's ``period``-th billing period counted from its billing cycle anchor (1 when a
    trial ends, then one more at each renewal) and charge its invoice (billing_reason ``subscription_cycle``).

    Changes ``subscription`` in place (active, its items' current period, its latest invoice) and emits the
    invoice's events; the caller saves the subscription and emits ``customer.subscription.updated``.
    """
    recurring = subscription["items"]["data"][0]["price"]["recurring"]
    anchor = subscription["billing_cycle_anchor"]
    start = period_boundary(anchor=anchor, recurring=recurring, periods=period - 1)
    end = period_boundary(anchor=anchor, recurring=recurring, periods=period)
    lines = [
        {
            "amount_subtotal": pricing.line_subtotal(item["price"], item["quantity"]),
            "currency": item["price"]["currency"],
            "description": item["price"].get("nickname") or item["price"]["product"],
            "quantity": item["quantity"],
            "price": item["price"],
        }
        for item in subscription["items"]["data"]
    ]
    amount = sum(line["amount_subtotal"] for line in lines)
    customer = store.get(type="customer", object_id=subscription["customer"]).data
    pseudo_session = {
        "currency": subscription["currency"],
        "amount_subtotal": amount,
        "total_details": {"amount_shipping": 0, "amount_tax": 0},
        # Stripe copies the customer's details onto each invoice it makes.
        "customer_details": {key: customer.get(key) for key in ("address", "email", "name", "phone")},
    }
    invoice = invoice_create(
        session=pseudo_session,
        customer_id=subscription["customer"],
        lines=lines,
        amount=amount,
        billing_reason="subscription_cycle",
        subscription_id=subscription["id"],
        subscription_metadata=subscription["metadata"],
        period=(start, end),
        invoice_data=subscription["invoice_settings"],
        automatic_tax=subscription["automatic_tax"],
        paid=paid,
    )
    for item in subscription["items"]["data"]:
        item["current_period_start"], item["current_period_end"] = start, end
    subscription.update({"status": "active", "latest_invoice": invoice["id"], **_renewal(period, end)})
    _invoice_events(invoice)
    return invoice


def trial_end_without_payment_method(*, subscription: dict) -> list[str]:
    """The trial is over and the customer gave no payment method (``payment_method_collection=if_required``):
    the subscription's ``trial_settings[end_behavior][missing_payment_method]`` decides, as on Stripe.

    ``cancel`` ends it; ``pause`` pauses it (no invoices until a payment method is added); ``create_invoice``
    bills the first period with an open invoice nobody can pay yet, and the subscription is past due. Changes
    ``subscription`` in place and returns the subscription events to emit, in order, once it is saved.
    """
    now = clock.now()
    behavior = subscription["trial_settings"]["end_behavior"]["missing_payment_method"]
    if behavior == "cancel":
        subscription.update(
            {
                "status": "canceled",
                "canceled_at": now,
                "ended_at": now,
                "cancellation_details": {
                    "comment": None,
                    "feedback": None,
                    "feedback_option": None,
                    "reason": None,
                },
            }
        )
        return ["customer.subscription.deleted"]
    if behavior == "pause":
        subscription.update(
            {
                "status": "paused",
                "status_details": {
                    "paused": {
                        "subscription": {"type": "trial_end_without_payment_method"},
                        "transitioned_at": now,
                        "type": "subscription",
                    }
                },
            }
        )
        return ["customer.subscription.paused", "customer.subscription.updated"]
    invoice = subscription_cycle(subscription=subscription, period=1, paid=False)
    subscription.update({"status": "past_due", "latest_invoice": invoice["id"]})
    # Nothing can be charged: no renewal until the invoice is paid.
    subscription.pop("_renews_at", None)
    return ["customer.subscription.updated"]


def _renewal(period: int, end: int) -> dict:
    # Private keys (never rendered): the period under way, and when the next one is due (the clock's
    # tick finds due subscriptions through an index on it).
    return {"_period": period, "_renews_at": end}
