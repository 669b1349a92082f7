"""A session's money: its line items from the customer's choices, the promotion code's discount, tax and
shipping, and the totals Stripe reports (``amount_*``, ``total_details`` and its breakdown)."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from sandbox import billing, clock, discounts, objects, pricing, store, tax
from sandbox.ids import new_id

if TYPE_CHECKING:
    from sandbox.checkout import Payment

# The ``_link_item`` of a line added from the link's optional items (not a link line item's ``li_…``).
OPTIONAL_LINE_PREFIX = "optional_"


def session_line_items(
    *,
    link: dict,
    quantities: dict[str, int] | None = None,
    custom_amount: int | None = None,
    optional: dict[str, int] | None = None,
) -> list[dict]:
    """The session's LineItems: the link's items with the chosen quantities (items brought down to 0
    are left out, as on Stripe), then the optional items the customer added.

    Their amounts are what is due today: during a free trial a recurring line costs nothing yet (its
    price after the trial is kept in ``_after_trial``, for the page)."""
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
                    "id": f"{OPTIONAL_LINE_PREFIX}{extra['price']}",
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
    if is_trial(link=link, line_items=items):
        for line in items:
            if line["price"]["type"] == "recurring":
                line["_after_trial"] = line["amount_subtotal"]
                line["amount_subtotal"] = line["amount_total"] = 0
    return items


def is_trial(*, link: dict, line_items: list[dict]) -> bool:
    """A subscription that starts with a free trial (the link's or a price's ``trial_period_days``)."""
    recurring = any(line["price"]["type"] == "recurring" for line in line_items)
    return recurring and bool(billing.trial_days(link=link, line_items=line_items))


def after_trial(line_items: list[dict]) -> dict | None:
    """What the subscription costs per billing period once the trial is over, before discounts and tax:
    ``{"amount", "interval", "interval_count"}``; None without a trial."""
    lines = [line for line in line_items if "_after_trial" in line]
    if not lines:
        return None
    recurring = lines[0]["price"]["recurring"]
    return {
        "amount": sum(line["_after_trial"] for line in lines),
        "interval": recurring["interval"],
        "interval_count": recurring["interval_count"],
    }


def link_items(*, link: dict, priced: list[dict]) -> list[dict]:
    """The link's own items as the hosted page offers them, each with its price, name and the quantity the
    session has now: one brought down to 0 is not among the session's lines, yet the customer can add it
    back (optional items have fields of their own, built from the link's ``optional_items``)."""
    chosen = {line["_link_item"]: line["quantity"] for line in priced if not is_optional_line(line)}
    items = []
    for item in link["_line_items"]:
        price = store.get(type="price", object_id=item["price"]).data
        product = store.get(type="product", object_id=price["product"]).data
        items.append(
            {
                "_link_item": item["id"],
                "price": store.public(price),
                "description": product["name"],
                # Not among the priced lines: the customer brought it down to 0.
                "quantity": chosen.get(item["id"], 0) if priced else item["quantity"],
                "adjustable_quantity": item["adjustable_quantity"],
            }
        )
    return items


def is_optional_line(line: dict) -> bool:
    """A line the customer added from the link's ``optional_items``."""
    return line.get("_link_item", "").startswith(OPTIONAL_LINE_PREFIX)


def session_quote(data: dict, link: dict, payment: Payment) -> dict:
    """The session as ``session_price`` would make it for ``payment``, without touching ``data``: what the
    hosted page shows, and compares with the total it showed before charging."""
    quote = copy.deepcopy(data)
    session_price(quote, link, payment)
    return quote


def session_price(data: dict, link: dict, payment: Payment) -> None:
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
        "start": clock.now(),
        "subscription": None,
        "subscription_item": None,
    }
