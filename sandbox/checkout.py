"""Checkout sessions opened by payment links: open, price, complete, expire."""

from __future__ import annotations

import copy

from sandbox import objects, pricing, store
from sandbox.events import event_emit, previous_attributes
from sandbox.models import ApiObject


def session_expire(*, session: ApiObject) -> None:
    """Expire an open session (locked by the caller): ``status=expired``, ``checkout.session.expired``."""
    before = copy.deepcopy(session.data)
    session.data["status"] = "expired"
    session.data["url"] = None
    store.save(session)
    event_emit(type="checkout.session.expired", obj=session.data, previous=previous_attributes(before, session.data))


def session_line_items(*, link: dict, quantities: dict[str, int] | None = None,
                       custom_amount: int | None = None) -> list[dict]:
    """The session's LineItems from the link's items, with the chosen quantities and amounts."""
    items = []
    for item in link["_line_items"]:
        price = store.get(type="price", object_id=item["price"]).data
        product = store.get(type="product", object_id=price["product"]).data
        quantity = (quantities or {}).get(item["id"], item["quantity"])
        subtotal = pricing.line_subtotal(price, quantity, custom_amount=custom_amount)
        line = objects.line_item(
            price=store.public(price),
            quantity=quantity,
            amounts={"subtotal": subtotal, "total": subtotal},
            adjustable=item["adjustable_quantity"],
            product_name=product["name"],
        )
        line["_link_item"] = item["id"]
        items.append(line)
    return items


def session_mode(line_items: list[dict]) -> str:
    return "subscription" if any(li["price"]["type"] == "recurring" for li in line_items) else "payment"


def session_open(*, link: ApiObject, hosted_url_for, client_reference_id: str | None,
                 customer_email: str | None, locale: str | None) -> ApiObject:
    """Open a session for one visit to the link (Stripe: each visit makes a new ``cs_…``)."""
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
    return store.create(object_id=data["id"], type="checkout.session", data=data, parent=link.stripe_id)
