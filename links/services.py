"""Payment link writes: Stripe first (with an idempotency key from the form or the record), then the
local rows from what Stripe returned, in one transaction. Failures raise ``ValidationError`` keyed by
field (``line_items.<n>.<field>`` for a line item) and leave nothing saved.
"""

from __future__ import annotations

import re

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from catalog.models import Price
from catalog.stripe_calls import as_dict, field_for_param, idempotency_key, stripe_errors_as_validation
from config.stripe_client import get_stripe_client
from links.models import PaymentLink, PaymentLinkLineItem

MAX_LINE_ITEMS = 20
LINE_ITEMS_REQUIRED = _("Add at least one line item.")
TOO_MANY_LINE_ITEMS = _("A payment link has at most 20 line items.")
MIXED_CURRENCIES = _("Every price of a link must be in the same currency (this one is in %(currency)s).")
CUSTOMER_CHOOSES_ALONE = _("A price the customer chooses must be the link's only line item, with quantity 1.")
MIXED_INTERVALS = _("Every recurring price of a link must bill at the same interval.")
PRICE_INACTIVE = _("This price is archived; choose an active price.")

_LINE_ITEM_PARAM = re.compile(r"^line_items\[(\d+)\]\[(\w+)\]")


def _link_field(param: str | None) -> str:
    """Stripe's ``line_items[1][price]`` → ``line_items.1.price``; option params by their group."""
    match = _LINE_ITEM_PARAM.match(param or "")
    if match:
        return f"line_items.{match[1]}.{match[2]}"
    if param == "line_items" or param == "currency":
        return "line_items"
    return field_for_param(param, OPTION_PARAM_FIELDS)


# Link options (Stripe create parameters) → the editor's fields; filled in as option groups are added.
OPTION_PARAM_FIELDS: dict[str, str] = {}


def _line_items_validate(line_items: list[dict]) -> None:
    """Stripe's rules for a link's line items, checked first so that errors land at the row."""
    if not line_items:
        raise ValidationError({"line_items": LINE_ITEMS_REQUIRED})
    if len(line_items) > MAX_LINE_ITEMS:
        raise ValidationError({"line_items": TOO_MANY_LINE_ITEMS})
    errors: dict[str, list] = {}
    currency = line_items[0]["price"].currency
    intervals = {(i["price"].recurring_interval, i["price"].recurring_interval_count or 1)
                 for i in line_items if i["price"].is_recurring}
    for index, item in enumerate(line_items):
        price: Price = item["price"]
        if not price.active:
            errors[f"line_items.{index}.price"] = [PRICE_INACTIVE]
        elif price.currency != currency:
            errors[f"line_items.{index}.price"] = [MIXED_CURRENCIES % {"currency": currency.upper()}]
        elif price.is_customer_chooses and (len(line_items) > 1 or item["quantity"] != 1):
            errors[f"line_items.{index}.price"] = [CUSTOMER_CHOOSES_ALONE]
    if len(intervals) > 1:
        errors["line_items"] = [MIXED_INTERVALS]
    if errors:
        raise ValidationError(errors)


def _line_item_param(item: dict) -> dict:
    param = {"price": item["price"].stripe_id, "quantity": item["quantity"]}
    if item.get("adjustable_quantity"):
        param["adjustable_quantity"] = item["adjustable_quantity"]
    return param


def payment_link_create(
    *,
    name: str,
    notes: str = "",
    line_items: list[dict],
    options: dict | None = None,
    created_by=None,
    request_token: str,
) -> PaymentLink:
    """Create the link in Stripe, then store it and its line items.

    ``line_items`` are ``{"price": Price, "quantity": int, "adjustable_quantity": {...} | None}``;
    ``options`` are Stripe's create parameters other than ``line_items``, passed as given. A retried
    submission (same token, same values) replays Stripe's answer and returns the same local row.
    """
    _line_items_validate(line_items)
    options = dict(options or {})
    params = {**options, "line_items": [_line_item_param(i) for i in line_items], "expand": ["line_items"]}
    key = idempotency_key("payment-link-create", token=request_token, params=params)
    with stripe_errors_as_validation(_link_field):
        data = as_dict(get_stripe_client().v1.payment_links.create(params=params, options={"idempotency_key": key}))
    with transaction.atomic():
        existing = PaymentLink.objects.filter(stripe_id=data["id"]).first()
        if existing is not None:
            return existing
        link = PaymentLink(
            stripe_id=data["id"], name=name, notes=notes, url=data["url"], active=data.get("active", True),
            currency=data.get("currency") or line_items[0]["price"].currency,
            is_recurring=any(i["price"].is_recurring for i in line_items), options=options,
            created_by=created_by,
        )
        link.full_clean()
        link.save()
        stripe_items = ((data.get("line_items") or {}).get("data")) or []
        for position, item in enumerate(line_items):
            stripe_item = stripe_items[position] if position < len(stripe_items) else {}
            PaymentLinkLineItem.objects.create(
                payment_link=link, position=position, stripe_id=stripe_item.get("id", ""), price=item["price"],
                stripe_price_id=item["price"].stripe_id, quantity=item["quantity"],
                description=stripe_item.get("description") or item["price"].product.name,
                adjustable_quantity=item.get("adjustable_quantity"),
            )
    return link


def payment_link_set_active(*, link: PaymentLink, active: bool) -> PaymentLink:
    """Deactivate (customers then see Stripe's "no longer available" page) or reactivate the link."""
    params = {"active": active}
    token = link.public_id.hex
    # The record's last change is in the key: deactivate, reactivate, deactivate are three calls.
    key = idempotency_key("payment-link-active", token=token, params={**params, "at": link.updated_at.isoformat()})
    with stripe_errors_as_validation({"active": NON_FIELD_ERRORS}):
        data = as_dict(
            get_stripe_client().v1.payment_links.update(link.stripe_id, params=params, options={"idempotency_key": key})
        )
    return payment_link_sync_from_stripe(data=data)


def payment_link_sync_from_stripe(*, data: dict, event_created: int | None = None) -> PaymentLink | None:
    """Apply Stripe's link (API answer or ``payment_link.updated`` event) to the local row, if we have it.

    An older event never overwrites newer state: ``stripe_event_created`` keeps the newest applied.
    """
    with transaction.atomic():
        link = PaymentLink.objects.select_for_update().filter(stripe_id=data["id"]).first()
        if link is None:
            return None
        if event_created is not None and (link.stripe_event_created or 0) > event_created:
            return link
        link.active = bool(data.get("active", link.active))
        link.url = data.get("url") or link.url
        if event_created is not None:
            link.stripe_event_created = event_created
        link.save(update_fields=["active", "url", "stripe_event_created", "updated_at"])
    return link
