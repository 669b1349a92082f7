"""``/v1/payment_links``: create, retrieve, update, list, and ``/line_items``. Links are never deleted."""

from __future__ import annotations

import copy

import stripe
from django.urls import reverse
from stripe.params import (
    PaymentLinkCreateParams,
    PaymentLinkListLineItemsParams,
    PaymentLinkListParams,
    PaymentLinkRetrieveParams,
    PaymentLinkUpdateParams,
)

from sandbox import errors, objects, pricing, store
from sandbox.api.common import list_page, page_of_items
from sandbox.api.link_rules import check_line_item_quantities, check_link_rules
from sandbox.events import event_emit, previous_attributes
from sandbox.ids import random_token
from sandbox.models import ApiObject
from sandbox.params import validate
from sandbox.shapes import shape

MAX_LINE_ITEMS = 20
# Options whose object shape follows the SDK class of the same field (shapes.shape).
_SHAPED = {
    "after_completion": stripe.PaymentLink.AfterCompletion,
    "automatic_tax": stripe.PaymentLink.AutomaticTax,
    "consent_collection": stripe.PaymentLink.ConsentCollection,
    "custom_text": stripe.PaymentLink.CustomText,
    "managed_payments": stripe.PaymentLink.ManagedPayments,
    "name_collection": stripe.PaymentLink.NameCollection,
    "payment_method_options": stripe.PaymentLink.PaymentMethodOptions,
    "phone_number_collection": stripe.PaymentLink.PhoneNumberCollection,
    "shipping_address_collection": stripe.PaymentLink.ShippingAddressCollection,
    "transfer_data": stripe.PaymentLink.TransferData,
}
_PLAIN = (
    "allow_promotion_codes",
    "application_fee_amount",
    "application_fee_percent",
    "billing_address_collection",
    "customer_creation",
    "inactive_message",
    "on_behalf_of",
    "payment_method_collection",
    "payment_method_types",
    "submit_type",
)


def _link_url(request, token: str) -> str:
    return request.build_absolute_uri(reverse("sandbox:pay", args=[token]))


def payment_link_create(request, raw: dict) -> dict:
    params = validate(raw, PaymentLinkCreateParams)
    items = params["line_items"]
    if not 1 <= len(items) <= MAX_LINE_ITEMS:
        raise errors.invalid("line_items", f"You must provide between 1 and {MAX_LINE_ITEMS} line items.")
    prices = [_line_item_price(item, index) for index, item in enumerate(items)]
    optional_prices = [
        store.get(type="price", object_id=item["price"], param=f"optional_items[{i}][price]").data
        for i, item in enumerate(params.get("optional_items") or [])
    ]
    currency = check_link_rules(params=params, prices=prices, optional_prices=optional_prices, existing=None)
    token = f"test_{random_token(22)}"
    link_id = objects.new_id("plink")
    data = objects.payment_link(link_id=link_id, currency=currency, url=_link_url(request, token))
    _apply_options(data, params)
    data["_line_items"] = [
        {
            "id": objects.new_id("li"),
            "price": price["id"],
            "quantity": item["quantity"],
            "adjustable_quantity": objects.adjustable_quantity(item.get("adjustable_quantity")),
        }
        for item, price in zip(items, prices, strict=True)
    ]
    link = store.create(object_id=link_id, type="payment_link", data=data, key=token)
    event_emit(type="payment_link.created", obj=link.data)
    return store.render(link, expand=params.get("expand", []))


def _line_item_price(item: dict, index: int) -> dict:
    name = f"line_items[{index}]"
    if "price" in item and "price_data" in item:
        raise errors.invalid(
            f"{name}[price_data]", "You may only specify one of these parameters: price, price_data."
        )
    if "price" in item:
        return store.get(type="price", object_id=item["price"], param=f"{name}[price]").data
    if "price_data" not in item:
        raise errors.missing(f"{name}[price]")
    from sandbox.api.prices import price_build

    price_data = item["price_data"]
    if not price_data.get("product") and not price_data.get("product_data"):
        raise errors.missing(f"{name}[price_data][product]")
    return price_build(params=price_data, inline=True, param_prefix=f"{name}[price_data][").data


def _apply_options(data: dict, params: dict) -> None:
    """Copy the given options onto the link in the object's shape (``""`` clears to null)."""
    for field in _PLAIN:
        if field in params:
            data[field] = None if params[field] == "" else params[field]
    for field, cls in _SHAPED.items():
        if field in params:
            data[field] = shape(cls, params[field])
    # Stripe leaves name_collection out of the link until it is set (PaymentLinks.ts: ``name_collection?:``).
    if data.get("name_collection") is None:
        data.pop("name_collection", None)
    if data["custom_text"] is None:
        data["custom_text"] = copy.deepcopy(objects.PAYMENT_LINK_DEFAULTS["custom_text"])
    if "custom_fields" in params:
        data["custom_fields"] = [_custom_field(f) for f in params["custom_fields"] or []]
    if "metadata" in params:
        data["metadata"] = objects.apply_metadata(data["metadata"], params["metadata"])
    if "tax_id_collection" in params:
        given = params["tax_id_collection"]
        data["tax_id_collection"] = {"enabled": given["enabled"], "required": given.get("required", "never")}
    if "invoice_creation" in params:
        data["invoice_creation"] = _invoice_creation(params["invoice_creation"], data["invoice_creation"])
    if "payment_intent_data" in params:
        data["payment_intent_data"] = _payment_intent_data(
            params["payment_intent_data"], data["payment_intent_data"]
        )
    if "subscription_data" in params:
        data["subscription_data"] = _subscription_data(params["subscription_data"], data["subscription_data"])
    if "restrictions" in params:
        given = params["restrictions"]
        count = (data["restrictions"] or {}).get("completed_sessions", {}).get("count", 0)
        data["restrictions"] = (
            None
            if given == ""
            else {"completed_sessions": {"count": count, "limit": given["completed_sessions"]["limit"]}}
        )
    if "optional_items" in params:
        data["optional_items"] = (
            None
            if params["optional_items"] == ""
            else [
                {
                    "adjustable_quantity": objects.adjustable_quantity(item.get("adjustable_quantity")),
                    "price": item["price"],
                    "quantity": item["quantity"],
                }
                for item in params["optional_items"]
            ]
        )
    if "shipping_options" in params:
        data["shipping_options"] = [
            _shipping_option(o, i) for i, o in enumerate(params["shipping_options"] or [])
        ]
    if (
        data["after_completion"]
        and data["after_completion"]["type"] == "hosted_confirmation"
        and not data["after_completion"].get("hosted_confirmation")
    ):
        data["after_completion"]["hosted_confirmation"] = {"custom_message": None}


def _custom_field(given: dict) -> dict:
    field = shape(stripe.PaymentLink.CustomField, given)
    field["optional"] = bool(given.get("optional", False))
    field["label"] = {"custom": given["label"].get("custom"), "type": given["label"]["type"]}
    for kind in ("numeric", "text"):
        if field["type"] == kind:
            field[kind] = shape(
                getattr(stripe.PaymentLink.CustomField, kind.capitalize()), given.get(kind) or {}
            )
    return field


def _invoice_creation(given: dict, current: dict) -> dict:
    invoice_data = copy.deepcopy(current["invoice_data"]) if current else {}
    if given.get("invoice_data"):
        shaped = shape(stripe.PaymentLink.InvoiceCreation.InvoiceData, given["invoice_data"])
        shaped["metadata"] = objects.apply_metadata({}, given["invoice_data"].get("metadata"))
        invoice_data = shaped
    return {"enabled": given["enabled"], "invoice_data": invoice_data}


def _payment_intent_data(given, current: dict | None) -> dict | None:
    if given == "":
        return None
    merged = {**(current or {}), **given}
    result = shape(stripe.PaymentLink.PaymentIntentData, merged)
    # Declarative: the given metadata replaces the whole map ("Updates will clear prior values").
    result["metadata"] = (
        objects.apply_metadata({}, given["metadata"])
        if "metadata" in given
        else (current or {}).get("metadata", {})
    )
    return result


def _subscription_data(given: dict, current: dict | None) -> dict:
    merged = {**(current or {}), **given}
    result = shape(stripe.PaymentLink.SubscriptionData, merged)
    result["invoice_settings"] = result["invoice_settings"] or {"issuer": {"type": "self"}}
    settings_shape = stripe.PaymentLink.SubscriptionData.InvoiceSettings
    result["invoice_settings"] = shape(settings_shape, result["invoice_settings"])
    result["invoice_settings"]["issuer"] = result["invoice_settings"]["issuer"] or {"type": "self"}
    result["metadata"] = (
        objects.apply_metadata({}, given["metadata"])
        if "metadata" in given
        else (current or {}).get("metadata", {})
    )
    return result


def _shipping_option(given: dict, index: int) -> dict:
    rate = store.get(
        type="shipping_rate",
        object_id=given["shipping_rate"],
        param=f"shipping_options[{index}][shipping_rate]",
    )
    return {"shipping_amount": rate.data["fixed_amount"]["amount"], "shipping_rate": rate.stripe_id}


def payment_link_retrieve(request, raw: dict, link_id: str) -> dict:
    params = validate(raw, PaymentLinkRetrieveParams)
    return store.render(store.get(type="payment_link", object_id=link_id), expand=params.get("expand", []))


def payment_link_update(request, raw: dict, link_id: str) -> dict:
    params = validate(raw, PaymentLinkUpdateParams)
    link = store.locked(type="payment_link", object_id=link_id)
    before = store.public(copy.deepcopy(link.data))
    data = link.data
    if "active" in params:
        data["active"] = params["active"]
    if "line_items" in params:
        _update_line_items(data, params["line_items"])
    prices = [store.get(type="price", object_id=li["price"]).data for li in data["_line_items"]]
    optional_prices = [
        store.get(type="price", object_id=item["price"], param=f"optional_items[{i}][price]").data
        for i, item in enumerate(params.get("optional_items") or [])
    ]
    check_link_rules(params=params, prices=prices, optional_prices=optional_prices, existing=data)
    _apply_options(data, params)
    previous = previous_attributes(before, store.public(data))
    if previous or "line_items" in params:
        store.save(link)
        event_emit(type="payment_link.updated", obj=data, previous=previous)
    return store.render(link, expand=params.get("expand", []))


def _update_line_items(data: dict, given: list[dict]) -> None:
    """Update quantities/adjustability of existing line items (prices cannot change on a link)."""
    by_id = {item["id"]: item for item in data["_line_items"]}
    for index, change in enumerate(given):
        item = by_id.get(change["id"])
        if item is None:
            raise errors.invalid(f"line_items[{index}][id]", f"No such line item: '{change['id']}'")
        if "quantity" in change:
            item["quantity"] = change["quantity"]
        if "adjustable_quantity" in change:
            item["adjustable_quantity"] = objects.adjustable_quantity(change["adjustable_quantity"])
        check_line_item_quantities(item, name=f"line_items[{index}]", alone=len(data["_line_items"]) == 1)


def payment_link_list(request, raw: dict) -> dict:
    params = validate(raw, PaymentLinkListParams)
    queryset = ApiObject.objects.filter(type="payment_link")
    if "active" in params:
        queryset = queryset.filter(data__active=params["active"])
    return list_page(queryset, params, url="/v1/payment_links", kind="payment_link")


def link_line_items(link: ApiObject) -> list[dict]:
    """The link's line items as LineItem objects with their full prices."""
    items = []
    for item in link.data["_line_items"]:
        price = store.get(type="price", object_id=item["price"]).data
        product = store.get(type="product", object_id=price["product"]).data
        subtotal = pricing.line_subtotal(price, item["quantity"])
        line = objects.line_item(
            price=store.public(price),
            quantity=item["quantity"],
            amounts={"subtotal": subtotal, "total": subtotal},
            adjustable=item["adjustable_quantity"],
            product_name=product["name"],
        )
        line["id"] = item["id"]
        items.append(line)
    return items


def payment_link_line_items(request, raw: dict, link_id: str) -> dict:
    params = validate(raw, PaymentLinkListLineItemsParams)
    link = store.get(type="payment_link", object_id=link_id)
    url = f"/v1/payment_links/{link_id}/line_items"
    body = page_of_items(link_line_items(link), params, url=url)
    expand = [p.removeprefix("data.") for p in params.get("expand", []) if p.startswith("data.")]
    body["data"] = [store.expand_value(item, expand) for item in body["data"]]
    return body


store.INCLUDABLE[("payment_link", "line_items")] = lambda link: page_of_items(
    link_line_items(link), {}, url=f"/v1/payment_links/{link.stripe_id}/line_items"
)
