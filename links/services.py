"""Payment link writes: Stripe first (with an idempotency key from the form or the record), then the
local rows from what Stripe returned, in one transaction. Failures raise ``ValidationError`` keyed by
field (``line_items.<n>.<field>`` for a line item) and leave nothing saved.
"""

from __future__ import annotations

import re

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from django.db.models import OuterRef, QuerySet, StringAgg, Subquery, Value
from django.db.models.functions import Coalesce, Concat
from django.utils.translation import gettext_lazy as _

from catalog.models import Price
from catalog.services import SyncReport, stripe_fields_validate
from config.bulk import BulkReport, bulk_apply
from config.stripe_calls import as_dict, idempotency_key, stripe_errors_as_validation
from config.stripe_client import get_stripe_client
from links.models import PaymentLink, PaymentLinkLineItem
from links.option_groups import (
    option_field_for_param,
    options_from_stripe,
    options_update_params,
    options_validate,
    options_with_created_kept,
)
from links.totals import link_totals_count_link

MAX_LINE_ITEMS = 20
LINE_ITEMS_REQUIRED = _("Add at least one line item.")
TOO_MANY_LINE_ITEMS = _("A payment link has at most 20 line items.")
MIXED_CURRENCIES = _("Every price of a link must be in the same currency (this one is in %(currency)s).")
CUSTOMER_CHOOSES_ALONE = _("A price the customer chooses must be the link's only line item, with quantity 1.")
MIXED_INTERVALS = _("Every recurring price of a link must bill at the same interval.")
PRICE_INACTIVE = _("This price is archived; choose an active price.")

_LINE_ITEM_PARAM = re.compile(r"^line_items\[(\d+)\]\[(\w+)\]")


def _link_field(param: str | None) -> str:
    """Stripe's ``line_items[1][price]`` → ``line_items.1.price``; option params → ``<group>.<field>``."""
    match = _LINE_ITEM_PARAM.match(param or "")
    if match:
        field = {"price_data": "adhoc_amount", "adjustable_quantity": "maximum"}.get(match[2], match[2])
        return f"line_items.{match[1]}.{field}"
    if param == "line_items" or param == "currency":
        return "line_items"
    return option_field_for_param(param)


def _item_currency(item: dict) -> str:
    return item["price"].currency if item.get("price") else item["price_data"]["currency"]


def _item_interval(item: dict) -> tuple[str, int] | None:
    """A recurring item's (interval, count); None for a one-off item."""
    if item.get("price"):
        price = item["price"]
        return (price.recurring_interval, price.recurring_interval_count or 1) if price.is_recurring else None
    recurring = item["price_data"].get("recurring")
    return (recurring["interval"], recurring.get("interval_count", 1)) if recurring else None


def _line_items_validate(line_items: list[dict]) -> None:
    """Stripe's rules for a link's line items, checked first so that errors land at the row.

    Items are ``{"price": Price}`` (a catalog price) or ``{"price_data": {...}}`` (Stripe's ad-hoc price),
    with ``quantity`` and an optional ``adjustable_quantity``.
    """
    if not line_items:
        raise ValidationError({"line_items": LINE_ITEMS_REQUIRED})
    if len(line_items) > MAX_LINE_ITEMS:
        raise ValidationError({"line_items": TOO_MANY_LINE_ITEMS})
    errors: dict[str, list] = {}
    currency = _item_currency(line_items[0])
    intervals = {_item_interval(i) for i in line_items} - {None}
    for index, item in enumerate(line_items):
        price: Price | None = item.get("price")
        field = f"line_items.{index}.price" if price else f"line_items.{index}.adhoc_currency"
        if price is not None and not price.active:
            errors[field] = [PRICE_INACTIVE]
        elif _item_currency(item) != currency:
            errors[field] = [MIXED_CURRENCIES % {"currency": currency.upper()}]
        elif (
            price is not None and price.is_customer_chooses and (len(line_items) > 1 or item["quantity"] != 1)
        ):
            errors[field] = [CUSTOMER_CHOOSES_ALONE]
    if len(intervals) > 1:
        errors["line_items"] = [MIXED_INTERVALS]
    if errors:
        raise ValidationError(errors)


def _line_item_param(item: dict) -> dict:
    param = {"quantity": item["quantity"]}
    if item.get("price"):
        param["price"] = item["price"].stripe_id
    else:
        param["price_data"] = item["price_data"]
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
    ``options`` are the option groups' Stripe parameters (``links.option_groups``). A retried
    submission (same token, same values) replays Stripe's answer and returns the same local row.
    """
    _line_items_validate(line_items)
    options = dict(options or {})
    recurring = any(_item_interval(i) for i in line_items)
    options_validate(options, recurring=recurring, currency=_item_currency(line_items[0]))
    params = {**options, "line_items": [_line_item_param(i) for i in line_items], "expand": ["line_items"]}
    key = idempotency_key("payment-link-create", token=request_token, params=params)
    with stripe_errors_as_validation(_link_field):
        data = as_dict(
            get_stripe_client().v1.payment_links.create(params=params, options={"idempotency_key": key})
        )
    with transaction.atomic():
        existing = PaymentLink.objects.filter(stripe_id=data["id"]).first()
        if existing is not None:
            return existing
        link = PaymentLink(
            stripe_id=data["id"],
            name=name,
            notes=notes,
            url=data["url"],
            active=data.get("active", True),
            currency=data.get("currency") or _item_currency(line_items[0]),
            is_recurring=recurring,
            options=options,
            created_by=created_by,
        )
        link.full_clean()
        link.save()
        link_totals_count_link(was_active=None, active=link.active)
        stripe_items = ((data.get("line_items") or {}).get("data")) or []
        for position, item in enumerate(line_items):
            stripe_item = stripe_items[position] if position < len(stripe_items) else {}
            price = item.get("price")
            PaymentLinkLineItem.objects.create(
                payment_link=link,
                position=position,
                stripe_id=stripe_item.get("id", ""),
                price=price,
                price_data=item.get("price_data"),
                stripe_price_id=price.stripe_id if price else _price_id(stripe_item),
                quantity=item["quantity"],
                adjustable_quantity=item.get("adjustable_quantity"),
                description=stripe_item.get("description")
                or (price.product.name if price else item["price_data"]["product_data"]["name"]),
            )
        link_search_text_refresh(links=PaymentLink.objects.filter(pk=link.pk))
    return link


# Search text ----------------------------------------------------------------------------------

SEARCH_TEXT_SEPARATOR = " | "


def link_search_text_refresh(*, links: QuerySet[PaymentLink]) -> int:
    """Recompute these links' ``search_text`` in one UPDATE: the name, then what each item sells (its
    product's current name, or the item's description for an ad-hoc price). Returns how many rows changed.
    """
    sold = (
        PaymentLinkLineItem.objects.filter(payment_link=OuterRef("pk"))
        .order_by()
        .values("payment_link")
        .annotate(
            names=StringAgg(
                Coalesce("price__product__name", "description", output_field=models.TextField()),
                delimiter=Value(SEARCH_TEXT_SEPARATOR),
            )
        )
        .values("names")
    )
    return links.update(
        search_text=Concat(
            "name",
            Value(SEARCH_TEXT_SEPARATOR),
            Coalesce(Subquery(sold), Value(""), output_field=models.TextField()),
            output_field=models.TextField(),
        )
    )


def link_search_text_refresh_for_product(*, product_id: int, name: str) -> int:
    """A product was saved: refresh the links selling it whose search text lacks its (new) name."""
    selling = PaymentLink.objects.filter(line_items__price__product_id=product_id).exclude(
        search_text__contains=name
    )
    return link_search_text_refresh(links=PaymentLink.objects.filter(pk__in=selling.values("pk")))


def payment_link_set_active(*, link: PaymentLink, active: bool) -> PaymentLink:
    """Deactivate (customers then see Stripe's "no longer available" page) or reactivate the link."""
    params = {"active": active}
    token = link.public_id.hex
    # The record's last change is in the key: deactivate, reactivate, deactivate are three calls.
    key = idempotency_key(
        "payment-link-active", token=token, params={**params, "at": link.updated_at.isoformat()}
    )
    with stripe_errors_as_validation({"active": NON_FIELD_ERRORS}):
        data = as_dict(
            get_stripe_client().v1.payment_links.update(
                link.stripe_id, params=params, options={"idempotency_key": key}
            )
        )
    return payment_link_sync_from_stripe(data=data)


ALREADY_ACTIVE = _("already active")
ALREADY_INACTIVE = _("already inactive")


def payment_link_set_active_refusal(*, link: PaymentLink, active: bool) -> str:
    """Why a bulk (de)activation leaves this link as it is ("" when it does not): it is so already."""
    if link.active == active:
        return str(ALREADY_ACTIVE if active else ALREADY_INACTIVE)
    return ""


def payment_links_set_active(*, links: list[PaymentLink], active: bool) -> BulkReport:
    """Deactivate or reactivate each link through ``payment_link_set_active``, one Stripe call per link
    (its idempotency key as for one link), outside any transaction; a link that fails is reported with
    Stripe's reason and the others go on. The caller bounds ``links`` (one page of the list)."""
    return bulk_apply(
        rows=links,
        label=str,
        refusal=lambda link: payment_link_set_active_refusal(link=link, active=active),
        apply=lambda link: payment_link_set_active(link=link, active=active),
    )


def payment_link_fields_from_stripe(data: dict) -> dict:
    """What a link we have takes from Stripe's object (whether it is active, its address; the rest is the
    merchant's), validated: StripeObjectInvalid if it does not fit."""
    fields: dict = {}
    if "active" in data:
        fields["active"] = bool(data["active"])
    if data.get("url"):
        fields["url"] = str(data["url"])
    return stripe_fields_validate(PaymentLink, stripe_id=data["id"], fields=fields)


def payment_link_sync_from_stripe(*, data: dict, event_created: int | None = None) -> PaymentLink | None:
    """Apply Stripe's link to the local row, if we have it: the one write path of what Stripe owns on a
    link, for the forms (with the API's answer), the ``payment_link.*`` events and the sync from Stripe;
    it keeps the home page's count of active links in step.

    An older event never overwrites newer state: ``stripe_event_created`` keeps the newest applied.
    Raises StripeObjectInvalid, changing nothing, if the object does not fit the row.
    """
    fields = payment_link_fields_from_stripe(data)
    with transaction.atomic():
        link = PaymentLink.objects.select_for_update().filter(stripe_id=data["id"]).first()
        if link is None:
            return None
        if event_created is not None and (link.stripe_event_created or 0) > event_created:
            return link
        was_active = link.active
        for name, value in fields.items():
            setattr(link, name, value)
        if event_created is not None:
            link.stripe_event_created = event_created
        link.save(update_fields=["active", "url", "stripe_event_created", "updated_at"])
        link_totals_count_link(was_active=was_active, active=link.active)
    return link


def payment_link_update(
    *, link: PaymentLink, name: str, notes: str = "", options: dict, line_items: list[dict] | None = None
) -> PaymentLink:
    """Change what Stripe lets change on a link (its options, its items' quantities and adjustability),
    and the local name and notes.

    ``line_items`` are ``{"item": PaymentLinkLineItem, "quantity": int,
    "adjustable_quantity": {...} | None}``.
    The prices, the currency and the subscription description are fixed at creation: they are kept.
    """
    options_validate(options, recurring=link.is_recurring, currency=link.currency)
    options = options_with_created_kept(old=link.options, new=options)
    params = options_update_params(old=link.options, new=options)
    changed_items = [
        u
        for u in line_items or []
        if u["item"].stripe_id
        and (u["quantity"] != u["item"].quantity or u["adjustable_quantity"] != u["item"].adjustable_quantity)
    ]
    if changed_items:
        params["line_items"] = [
            {
                "id": u["item"].stripe_id,
                "quantity": u["quantity"],
                "adjustable_quantity": u["adjustable_quantity"] or {"enabled": False},
            }
            for u in changed_items
        ]
    if params:
        key = idempotency_key(
            "payment-link-update",
            token=link.public_id.hex,
            params={**params, "at": link.updated_at.isoformat()},
        )
        with stripe_errors_as_validation(_link_field):
            data = as_dict(
                get_stripe_client().v1.payment_links.update(
                    link.stripe_id, params=params, options={"idempotency_key": key}
                )
            )
    with transaction.atomic():
        if params:
            # Stripe's answer, applied as its events and the sync from Stripe apply it.
            payment_link_sync_from_stripe(data=data)
        link = PaymentLink.objects.select_for_update().get(pk=link.pk)
        link.name, link.notes, link.options = name, notes, options
        link.full_clean()
        link.save()
        for update in changed_items:
            PaymentLinkLineItem.objects.filter(pk=update["item"].pk).update(
                quantity=update["quantity"], adjustable_quantity=update["adjustable_quantity"]
            )
        link_search_text_refresh(links=PaymentLink.objects.filter(pk=link.pk))
    return link


# Import from Stripe ------------------------------------------------------------------------------


def payment_links_import_from_stripe(*, report: SyncReport | None = None) -> SyncReport:
    """Create local rows for the account's payment links that we do not have yet (named by their first
    item); links we have are refreshed. Prices must be imported first. A link that Paylinks cannot store
    (a field of its own or of one of its line items does not fit) is skipped and reported."""
    report = report or SyncReport()
    client = get_stripe_client()
    with stripe_errors_as_validation():
        for stripe_link in client.v1.payment_links.list(params={"limit": 100}).auto_paging_iter():
            report.store("payment_links", _payment_link_import, client=client, data=as_dict(stripe_link))
    return report


def _payment_link_import(*, client, data: dict) -> PaymentLink:
    """One link of the account: refreshed if we have it, else stored with its line items, all validated
    before anything is written."""
    link = payment_link_sync_from_stripe(data=data)
    if link is not None:
        return link
    items = [
        as_dict(i)
        for i in client.v1.payment_links.line_items.list(data["id"], params={"limit": 100}).auto_paging_iter()
    ]
    prices = {
        p.stripe_id: p
        for p in Price.objects.filter(stripe_id__in=[_price_id(i) for i in items]).select_related("product")
    }
    # Our internal name, made from the first item: cut to fit rather than refuse the link for it.
    name = ((items[0].get("description") if items else "") or data["id"])[
        : PaymentLink._meta.get_field("name").max_length
    ]
    link_fields = {
        "url": data.get("url") or "",
        "active": bool(data.get("active", True)),
        "name": name,
        "currency": data.get("currency") or "",
        "options": options_from_stripe(data),
        "is_recurring": any(p.is_recurring for p in prices.values()),
    }
    link_fields = stripe_fields_validate(PaymentLink, stripe_id=data["id"], fields=link_fields)
    item_fields = [
        stripe_fields_validate(
            PaymentLinkLineItem,
            stripe_id=data["id"],
            fields={
                "position": position,
                "stripe_id": item.get("id", ""),
                "price": prices.get(_price_id(item)),
                "stripe_price_id": _price_id(item),
                "description": item.get("description") or "",
                "quantity": item.get("quantity") or 1,
            },
        )
        for position, item in enumerate(items)
    ]
    with transaction.atomic():
        link = PaymentLink.objects.create(stripe_id=data["id"], **link_fields)
        link_totals_count_link(was_active=None, active=link.active)
        for fields in item_fields:
            PaymentLinkLineItem.objects.create(payment_link=link, **fields)
        link_search_text_refresh(links=PaymentLink.objects.filter(pk=link.pk))
    return link


def _price_id(item: dict) -> str:
    price = item.get("price")
    return price.get("id", "") if isinstance(price, dict) else price or ""


def stripe_import_all() -> SyncReport:
    """The "sync from Stripe" action: the catalog first (links refer to its prices), then the links; what
    was imported of each kind, and what was skipped and why."""
    from catalog.services import catalog_import_from_stripe

    return payment_links_import_from_stripe(report=catalog_import_from_stripe())
