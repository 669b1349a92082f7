"""Stripe's rules for payment links, each raising the 400 Stripe gives (``param`` names the culprit)."""

from __future__ import annotations

import re

from sandbox import errors

MAX_LINE_ITEMS = 20
MAX_OPTIONAL_ITEMS = 10
MAX_QUANTITY = 999_999
MAX_CUSTOM_FIELDS = 3
CUSTOM_FIELD_KEY_MAX = 200
CUSTOM_FIELD_LABEL_MAX = 100
DROPDOWN_OPTIONS_MAX = 200
DROPDOWN_VALUE_MAX = 100
MESSAGE_MAX = 500
CUSTOM_TEXT_MAX = 1200
_ALPHANUMERIC = re.compile(r"^[A-Za-z0-9]+$")


def check_link_rules(
    *, params: dict, prices: list[dict], optional_prices: list[dict], existing: dict | None
) -> str:
    """Validate a create (``existing`` None) or an update; return the link's currency."""
    currency = _check_currency(params, prices, existing)
    recurring = any(p["type"] == "recurring" for p in prices)
    _check_counts(params, prices, optional_prices)
    _check_customer_chooses(params, prices, optional_prices)
    _check_mode_options(params, recurring=recurring, existing=existing, prices=prices)
    if existing is None:
        alone = len(params["line_items"]) == 1
        for index, item in enumerate(params["line_items"]):
            given = {"quantity": item["quantity"], "adjustable_quantity": item.get("adjustable_quantity")}
            check_line_item_quantities(given, name=f"line_items[{index}]", alone=alone)
    for index, item in enumerate(params.get("optional_items") or []):
        check_line_item_quantities(
            {"quantity": item["quantity"], "adjustable_quantity": item.get("adjustable_quantity")},
            name=f"optional_items[{index}]",
            alone=False,
        )
    _check_custom_fields(params.get("custom_fields"))
    _check_texts(params)
    _check_terms_consent(params)
    _check_connected_accounts(params)
    _check_statement_descriptor(params, existing)
    if "restrictions" in params and params["restrictions"] != "":
        if params["restrictions"]["completed_sessions"]["limit"] < 1:
            raise errors.invalid("restrictions[completed_sessions][limit]", "The limit must be at least 1.")
    return currency


def _check_currency(params: dict, prices: list[dict], existing: dict | None) -> str:
    currency = prices[0]["currency"]
    for index, price in enumerate(prices):
        if price["currency"] != currency:
            # Named at the first item whose currency differs, so a form can show it on that row.
            raise errors.invalid(
                f"line_items[{index}][price]",
                "All prices on a payment link must have the same currency; "
                f"this price is in {price['currency']}, the first in {currency}.",
            )
    if existing is None and params.get("currency") and params["currency"].lower() != currency:
        raise errors.invalid(
            "currency", f"The currency '{params['currency']}' is not supported by every line item's price."
        )
    for price in prices:
        if not price["active"] and existing is None:
            raise errors.invalid("line_items", f"The price '{price['id']}' is not active.")
    return currency


def _check_counts(params: dict, prices: list[dict], optional_prices: list[dict]) -> None:
    if len(optional_prices) > MAX_OPTIONAL_ITEMS:
        raise errors.invalid("optional_items", f"There is a maximum of {MAX_OPTIONAL_ITEMS} optional items.")
    if len(prices) + len(optional_prices) > MAX_LINE_ITEMS:
        raise errors.invalid(
            "optional_items",
            f"There is a maximum of {MAX_LINE_ITEMS} combined line items and optional items.",
        )
    currency = prices[0]["currency"]
    intervals = {_interval(p) for p in prices} - {None}
    for index, price in enumerate(optional_prices):
        if price["currency"] != currency:
            raise errors.invalid(
                f"optional_items[{index}][price]", "Optional items must use the link's currency."
            )
        # "If the cross-sell product's price type is recurring, the Checkout Session must be in
        # subscription mode and its recurring interval must match" (docs.stripe.com cross-sells).
        if _interval(price) and not intervals:
            raise errors.invalid(
                f"optional_items[{index}][price]",
                "A recurring optional item needs a recurring price in the line items (subscription mode).",
            )
        if _interval(price) and _interval(price) not in intervals:
            raise errors.invalid(
                f"optional_items[{index}][price]",
                "A recurring optional item must bill at the same interval as the link's recurring prices.",
            )


def _interval(price: dict) -> tuple[str, int] | None:
    recurring = price.get("recurring")
    return (recurring["interval"], recurring["interval_count"]) if recurring else None


def _check_customer_chooses(params: dict, prices: list[dict], optional_prices: list[dict]) -> None:
    chooses = [p for p in prices + optional_prices if p.get("custom_unit_amount") is not None]
    if not chooses:
        return
    if len(prices) + len(optional_prices) > 1:
        raise errors.invalid(
            "line_items",
            "Payment links with a customer-chooses-price line item can only have 1 line item.",
        )
    if chooses[0]["type"] == "recurring":
        raise errors.invalid("line_items", "Customer chooses price does not support recurring prices.")
    for index, item in enumerate(params.get("line_items") or []):
        if (item.get("adjustable_quantity") or {}).get("enabled"):
            raise errors.invalid(
                f"line_items[{index}][adjustable_quantity]",
                "Adjustable quantity is not supported with customer chooses price.",
            )


def _check_mode_options(params: dict, *, recurring: bool, existing: dict | None, prices: list[dict]) -> None:
    if recurring:
        intervals = {
            (p["recurring"]["interval"], p["recurring"]["interval_count"]) for p in prices if p["recurring"]
        }
        if len(intervals) > 1:
            raise errors.invalid(
                "line_items", "All recurring prices on a payment link must have the same billing interval."
            )
        if params.get("shipping_options"):
            raise errors.invalid(
                "shipping_options", "Shipping options are not supported for subscription-mode links."
            )
        if params.get("application_fee_amount") not in (None, ""):
            raise errors.invalid(
                "application_fee_amount",
                "application_fee_amount can only be applied when there are no line items "
                "with recurring prices.",
            )
        if params.get("payment_intent_data") not in (None, ""):
            raise errors.invalid(
                "payment_intent_data", "payment_intent_data is only allowed in payment mode."
            )
    else:
        if params.get("subscription_data"):
            raise errors.invalid(
                "subscription_data",
                "There must be at least one line item with a recurring price to use subscription_data.",
            )
        if params.get("application_fee_percent") not in (None, ""):
            raise errors.invalid(
                "application_fee_percent",
                "There must be at least 1 line item with a recurring price to use application_fee_percent.",
            )
        if params.get("payment_method_collection") == "if_required":
            raise errors.invalid(
                "payment_method_collection", "payment_method_collection can only be set in subscription mode."
            )
    percent = params.get("application_fee_percent")
    if percent not in (None, "") and not (0 <= percent <= 100 and round(percent, 2) == percent):
        raise errors.invalid(
            "application_fee_percent",
            "A non-negative decimal between 0 and 100, with at most two decimal places.",
        )
    subscription = params.get("subscription_data") or {}
    if subscription.get("trial_period_days") not in (None, "") and subscription["trial_period_days"] < 1:
        raise errors.invalid(
            "subscription_data[trial_period_days]", "trial_period_days has to be at least 1."
        )
    if existing is not None:
        for field in ("currency", "managed_payments"):
            if field in params:
                raise errors.unknown(field)
        if "description" in subscription:
            raise errors.unknown("subscription_data[description]")


def check_line_item_quantities(item: dict, *, name: str, alone: bool) -> None:
    """Adjustable bounds 0..999999 with minimum ≤ maximum, and the quantity within them."""
    quantity = item.get("quantity")
    if quantity is not None and not 0 <= quantity <= MAX_QUANTITY:
        raise errors.invalid(f"{name}[quantity]", f"Quantity must be between 0 and {MAX_QUANTITY}.")
    adjustable = item.get("adjustable_quantity")
    if not adjustable or not adjustable.get("enabled"):
        if quantity is not None and quantity < 1 and not name.startswith("optional_items"):
            raise errors.invalid(f"{name}[quantity]", "Quantity must be at least 1.")
        return
    minimum = adjustable.get("minimum")
    maximum = adjustable.get("maximum")
    if maximum is not None and not 1 <= maximum <= MAX_QUANTITY:
        raise errors.invalid(
            f"{name}[adjustable_quantity][maximum]", f"maximum must be between 1 and {MAX_QUANTITY}."
        )
    if minimum is not None and not 0 <= minimum <= MAX_QUANTITY:
        raise errors.invalid(
            f"{name}[adjustable_quantity][minimum]", f"minimum must be between 0 and {MAX_QUANTITY}."
        )
    low = 0 if minimum is None else minimum
    high = 99 if maximum is None else maximum
    if low > high:
        raise errors.invalid(
            f"{name}[adjustable_quantity][minimum]", "minimum must be less than or equal to maximum."
        )
    if quantity is not None and not low <= quantity <= high:
        raise errors.invalid(
            f"{name}[quantity]",
            f"Quantity must be between the adjustable minimum ({low}) and maximum ({high}).",
        )


def _check_custom_fields(fields) -> None:
    if not fields:
        return
    if len(fields) > MAX_CUSTOM_FIELDS:
        raise errors.invalid("custom_fields", f"Up to {MAX_CUSTOM_FIELDS} custom fields are supported.")
    keys = set()
    for index, field in enumerate(fields):
        name = f"custom_fields[{index}]"
        key = field["key"]
        if not _ALPHANUMERIC.match(key) or len(key) > CUSTOM_FIELD_KEY_MAX:
            raise errors.invalid(
                f"{name}[key]", f"Keys must be alphanumeric and up to {CUSTOM_FIELD_KEY_MAX} characters."
            )
        if key in keys:
            raise errors.invalid(f"{name}[key]", f"Custom field keys must be unique; '{key}' is used twice.")
        keys.add(key)
        label = field["label"].get("custom")
        if not label:
            raise errors.missing(f"{name}[label][custom]")
        if len(label) > CUSTOM_FIELD_LABEL_MAX:
            raise errors.invalid(
                f"{name}[label][custom]", f"Labels can be up to {CUSTOM_FIELD_LABEL_MAX} characters."
            )
        if field["type"] == "dropdown":
            _check_dropdown(field.get("dropdown"), name=f"{name}[dropdown]")
        elif field.get("dropdown"):
            raise errors.invalid(f"{name}[dropdown]", "dropdown is only allowed when type is dropdown.")


def _check_dropdown(dropdown: dict | None, *, name: str) -> None:
    if not dropdown:
        raise errors.missing(name)
    options = dropdown["options"]
    if not 1 <= len(options) <= DROPDOWN_OPTIONS_MAX:
        raise errors.invalid(
            f"{name}[options]", f"Dropdowns need between 1 and {DROPDOWN_OPTIONS_MAX} options."
        )
    values = set()
    for index, option in enumerate(options):
        value = option["value"]
        if not _ALPHANUMERIC.match(value) or len(value) > DROPDOWN_VALUE_MAX:
            raise errors.invalid(
                f"{name}[options][{index}][value]",
                "Option values must be alphanumeric and up to 100 characters.",
            )
        if value in values:
            raise errors.invalid(
                f"{name}[options][{index}][value]", f"Option values must be unique; '{value}' is used twice."
            )
        if len(option["label"]) > DROPDOWN_VALUE_MAX:
            raise errors.invalid(
                f"{name}[options][{index}][label]", "Option labels can be up to 100 characters."
            )
        values.add(value)
    default = dropdown.get("default_value")
    if default is not None and default not in values:
        raise errors.invalid(
            f"{name}[default_value]", "default_value must match a value in the options array."
        )


def _check_texts(params: dict) -> None:
    after = params.get("after_completion")
    if after:
        if after["type"] == "redirect" and not after.get("redirect"):
            raise errors.missing("after_completion[redirect]")
        if after["type"] == "hosted_confirmation" and after.get("redirect"):
            raise errors.invalid(
                "after_completion[redirect]", "redirect is only allowed when type is redirect."
            )
        if after.get("redirect") and not re.match(r"^https?://", after["redirect"]["url"]):
            raise errors.invalid("after_completion[redirect][url]", "Not a valid URL", code="url_invalid")
        message = (after.get("hosted_confirmation") or {}).get("custom_message") or ""
        if len(message) > MESSAGE_MAX:
            raise errors.invalid(
                "after_completion[hosted_confirmation][custom_message]", f"Up to {MESSAGE_MAX} characters."
            )
    if len(params.get("inactive_message") or "") > MESSAGE_MAX:
        raise errors.invalid("inactive_message", f"inactive_message can be up to {MESSAGE_MAX} characters.")
    for key, value in (params.get("custom_text") or {}).items():
        if value and len(value.get("message", "")) > CUSTOM_TEXT_MAX:
            raise errors.invalid(
                f"custom_text[{key}][message]", f"Text can be up to {CUSTOM_TEXT_MAX} characters in length."
            )


def _check_terms_consent(params: dict) -> None:
    consent = params.get("consent_collection") or {}
    if consent.get("terms_of_service") == "required":
        from sandbox.account import terms_url

        if not terms_url():
            raise errors.invalid(
                "consent_collection[terms_of_service]",
                "You cannot set `consent_collection[terms_of_service]` to `required` without a valid "
                "terms of service URL set in your Dashboard settings (sandbox settings page).",
            )


def _check_connected_accounts(params: dict) -> None:
    """``on_behalf_of`` and ``transfer_data[destination]`` name connected accounts (``POST /v1/accounts``)."""
    from sandbox import store

    if params.get("on_behalf_of"):
        store.get(type="connected_account", object_id=params["on_behalf_of"], param="on_behalf_of")
    destination = (params.get("transfer_data") or {}).get("destination")
    if destination:
        store.get(type="connected_account", object_id=destination, param="transfer_data[destination]")


def _check_statement_descriptor(params: dict, existing: dict | None) -> None:
    """``payment_intent_data[statement_descriptor]`` is for non-card charges only: Stripe refuses it when
    the link can take cards (``payment_method_types`` with ``card``, or null: dynamic, cards included).

    "Setting this value for a card charge returns an error. For card charges, set the
    statement_descriptor_suffix instead." (stripe PaymentLinkCreateParams); the message is Stripe's own.
    """
    given = params.get("payment_intent_data") or {}
    current = (existing or {}).get("payment_intent_data") or {}
    descriptor = (
        given["statement_descriptor"]
        if "statement_descriptor" in given
        else current.get("statement_descriptor")
    )
    if descriptor in (None, ""):
        return
    if "payment_method_types" in params:
        methods = params["payment_method_types"] or None
    else:
        methods = (existing or {}).get("payment_method_types")
    if methods is None or "card" in methods:
        raise errors.invalid(
            "payment_intent_data[statement_descriptor]",
            "The statement_descriptor parameter is not supported for the payment_method_type `card`. "
            "To continue supporting payment_method_type `card`, please pass in `statement_descriptor_suffix` "
            "or remove the `statement_descriptor` parameter altogether.",
        )
