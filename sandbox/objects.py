"""One builder per Stripe object: every field the SDK declares for this API version, nulls included,
except those Stripe leaves out when they do not apply (stripe-node's ``key?: T``; the rule and its
sources are in tests/sandbox/test_object_types.py).

Builders take already-validated parameters (params.py) and return the object's JSON with expandable
fields as ids. Sandbox-private keys start with ``_`` and never reach the API (store.public).
"""

from __future__ import annotations

import copy

from sandbox import clock, errors
from sandbox.ids import new_id

API_VERSION = "2026-10-28.endive"
METADATA_MAX_KEYS = 50
METADATA_KEY_MAX = 40
METADATA_VALUE_MAX = 500


def apply_metadata(current: dict | None, given, *, param: str = "metadata") -> dict:
    """Stripe's metadata update: ``""`` clears all, a key set to ``""`` is removed, others merge."""
    if given is None:
        return dict(current or {})
    if given == "":
        return {}
    result = dict(current or {})
    for key, value in given.items():
        if isinstance(value, dict):
            raise errors.invalid(f"{param}[{key}]", "Metadata values must be strings.")
        if len(key) > METADATA_KEY_MAX:
            raise errors.invalid(
                f"{param}[{key}]",
                f"Metadata keys can have up to {METADATA_KEY_MAX} characters; {key!r} has {len(key)}.",
            )
        if len(value) > METADATA_VALUE_MAX:
            raise errors.invalid(
                f"{param}[{key}]", f"Metadata values can have up to {METADATA_VALUE_MAX} characters."
            )
        if value == "":
            result.pop(key, None)
        else:
            result[key] = value
    if len(result) > METADATA_MAX_KEYS:
        raise errors.invalid(param, f"Metadata can have up to {METADATA_MAX_KEYS} keys.")
    return result


def _blank(value):
    """``""`` (unset) becomes null in the object."""
    return None if value == "" else value


def product(params: dict) -> dict:
    tax_details = params.get("tax_details")
    return {
        "id": params.get("id") or new_id("prod", length=14),
        "object": "product",
        "active": params.get("active", True),
        "created": clock.now(),
        "default_price": None,
        "description": _blank(params.get("description")),
        "images": params.get("images") or [],
        "livemode": False,
        "marketing_features": [{"name": f["name"]} for f in params.get("marketing_features") or []],
        "metadata": apply_metadata({}, params.get("metadata")),
        "name": params["name"],
        "package_dimensions": _blank(params.get("package_dimensions")),
        "shippable": params.get("shippable"),
        "statement_descriptor": _blank(params.get("statement_descriptor")),
        "tax_code": _blank(params.get("tax_code")),
        "tax_details": {
            "performance_location": _blank(tax_details.get("performance_location")),
            "tax_code": _blank(tax_details.get("tax_code")),
        }
        if tax_details
        else None,
        "type": params.get("type", "service"),
        "unit_label": _blank(params.get("unit_label")),
        "updated": clock.now(),
        "url": _blank(params.get("url")),
    }


def _tier(tier: dict) -> dict:
    up_to = tier["up_to"]
    unit_decimal = tier.get("unit_amount_decimal")
    flat_decimal = tier.get("flat_amount_decimal")
    unit = tier.get("unit_amount")
    flat = tier.get("flat_amount")
    return {
        "flat_amount": flat if flat is not None else (_int_or_none(flat_decimal)),
        "flat_amount_decimal": flat_decimal
        if flat_decimal is not None
        else (str(flat) if flat is not None else None),
        "unit_amount": unit if unit is not None else (_int_or_none(unit_decimal)),
        "unit_amount_decimal": unit_decimal
        if unit_decimal is not None
        else (str(unit) if unit is not None else None),
        "up_to": None if up_to == "inf" else int(up_to),
    }


def _int_or_none(decimal: str | None) -> int | None:
    if decimal is None:
        return None
    value = float(decimal)
    return int(value) if value == int(value) else None


def _currency_options(given: dict | None) -> dict | None:
    """Extra currencies of a price, each in Stripe's shape."""
    if not given:
        return None
    result = {}
    for currency, option in given.items():
        custom = option.get("custom_unit_amount")
        amount = option.get("unit_amount")
        result[currency.lower()] = {
            "custom_unit_amount": {k: custom.get(k) for k in ("maximum", "minimum", "preset")}
            if custom
            else None,
            "tax_behavior": option.get("tax_behavior", "unspecified"),
            "tiers": [_tier(t) for t in option["tiers"]] if option.get("tiers") else None,
            "unit_amount": amount,
            "unit_amount_decimal": option.get("unit_amount_decimal")
            or (str(amount) if amount is not None else None),
        }
    return result


def price(params: dict, *, product_id: str) -> dict:
    recurring = params.get("recurring")
    tiered = params.get("billing_scheme") == "tiered"
    unit_amount = params.get("unit_amount")
    unit_amount_decimal = params.get("unit_amount_decimal")
    if unit_amount is not None and unit_amount_decimal is None:
        unit_amount_decimal = str(unit_amount)
    elif unit_amount is None and unit_amount_decimal is not None:
        unit_amount = _int_or_none(unit_amount_decimal)
    custom = params.get("custom_unit_amount")
    transform = params.get("transform_quantity")
    return {
        "id": new_id("price"),
        "object": "price",
        "active": params.get("active", True),
        "billing_scheme": "tiered" if tiered else "per_unit",
        "created": clock.now(),
        "currency": params["currency"].lower(),
        "currency_options": _currency_options(params.get("currency_options")),
        "custom_unit_amount": {
            "maximum": custom.get("maximum"),
            "minimum": custom.get("minimum"),
            "preset": custom.get("preset"),
        }
        if custom
        else None,
        "livemode": False,
        "lookup_key": params.get("lookup_key"),
        "metadata": apply_metadata({}, params.get("metadata")),
        "nickname": params.get("nickname"),
        "product": product_id,
        "recurring": {
            "interval": recurring["interval"],
            "interval_count": recurring.get("interval_count", 1),
            "meter": recurring.get("meter"),
            "trial_period_days": recurring.get("trial_period_days"),
            "usage_type": recurring.get("usage_type", "licensed"),
        }
        if recurring
        else None,
        "tax_behavior": params.get("tax_behavior", "unspecified"),
        "tiers": [_tier(t) for t in params["tiers"]] if tiered else None,
        "tiers_mode": params.get("tiers_mode") if tiered else None,
        "transform_quantity": {"divide_by": transform["divide_by"], "round": transform["round"]}
        if transform
        else None,
        "type": "recurring" if recurring else "one_time",
        "unit_amount": None if tiered else unit_amount,
        "unit_amount_decimal": None if tiered else unit_amount_decimal,
    }


def plan(price: dict) -> dict:
    """The Plan Stripe still shows beside a recurring Price on subscription items (same id and amounts)."""
    recurring = price["recurring"]
    result = {
        "id": price["id"],
        "object": "plan",
        "active": price["active"],
        "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"],
        "billing_scheme": price["billing_scheme"],
        "created": price["created"],
        "currency": price["currency"],
        "interval": recurring["interval"],
        "interval_count": recurring["interval_count"],
        "livemode": False,
        "metadata": dict(price["metadata"]),
        "meter": recurring.get("meter"),
        "nickname": price["nickname"],
        "product": price["product"],
        "tiers_mode": price["tiers_mode"],
        "transform_usage": price["transform_quantity"],
        "trial_period_days": recurring.get("trial_period_days"),
        "usage_type": recurring.get("usage_type", "licensed"),
    }
    # Like a Price's, a Plan's tiers are sent only for a tiered plan (stripe-node Plans.ts: ``tiers?:``).
    if price.get("tiers"):
        result["tiers"] = price["tiers"]
    return result


def adjustable_quantity(given: dict | None) -> dict | None:
    if not given:
        return None
    enabled = given["enabled"]
    return {
        "enabled": enabled,
        "maximum": given.get("maximum", 99) if enabled else None,
        "minimum": given.get("minimum", 0) if enabled else None,
    }


def line_item(
    *, price: dict, quantity: int, amounts: dict, adjustable: dict | None, product_name: str
) -> dict:
    """A LineItem (``object: "item"``) with its full Price; ``amounts`` from pricing.line_amounts."""
    return {
        "id": new_id("li"),
        "object": "item",
        "adjustable_quantity": adjustable,
        "amount_discount": amounts.get("discount", 0),
        "amount_subtotal": amounts["subtotal"],
        "amount_tax": amounts.get("tax", 0),
        "amount_total": amounts["total"],
        "currency": price["currency"],
        "description": product_name,
        "discounts": [],
        "metadata": {},
        "price": price,
        "quantity": quantity,
        "taxes": [],
    }


PAYMENT_LINK_DEFAULTS = {
    # Only the sub-object of the chosen type (PaymentLinks.ts: ``redirect?:``, ``hosted_confirmation?:``).
    "after_completion": {"hosted_confirmation": {"custom_message": None}, "type": "hosted_confirmation"},
    "allow_promotion_codes": False,
    "application": None,
    "application_fee_amount": None,
    "application_fee_percent": None,
    "automatic_tax": {"enabled": False, "liability": None},
    "billing_address_collection": "auto",
    "consent_collection": None,
    "custom_fields": [],
    "custom_text": {
        "after_submit": None,
        "shipping_address": None,
        "submit": None,
        "terms_of_service_acceptance": None,
    },
    "customer_creation": "if_required",
    "inactive_message": None,
    "invoice_creation": {
        "enabled": False,
        "invoice_data": {
            "account_tax_ids": None,
            "custom_fields": None,
            "description": None,
            "footer": None,
            "issuer": None,
            "metadata": {},
            "rendering_options": None,
        },
    },
    "managed_payments": None,
    "metadata": {},
    # No name_collection until it is set (PaymentLinks.ts: ``name_collection?: PaymentLink.NameCollection``).
    "on_behalf_of": None,
    "optional_items": None,
    "payment_intent_data": None,
    "payment_method_collection": "always",
    "payment_method_options": None,
    "payment_method_types": None,
    "phone_number_collection": {"enabled": False},
    "restrictions": None,
    "shipping_address_collection": None,
    "shipping_options": [],
    "submit_type": "auto",
    "subscription_data": None,
    "tax_id_collection": {"enabled": False, "required": "never"},
    "transfer_data": None,
}


def payment_link(*, link_id: str, currency: str, url: str) -> dict:
    """The link with Stripe's defaults; payment_links.py then applies the given options."""
    return {
        "id": link_id,
        "object": "payment_link",
        "active": True,
        **copy.deepcopy(PAYMENT_LINK_DEFAULTS),
        "currency": currency,
        "livemode": False,
        "url": url,
    }


def webhook_endpoint(params: dict) -> dict:
    return {
        "id": new_id("we"),
        "object": "webhook_endpoint",
        "api_version": params.get("api_version"),
        "application": None,
        "created": clock.now(),
        "description": _blank(params.get("description")),
        "enabled_events": params["enabled_events"],
        "livemode": False,
        "metadata": apply_metadata({}, params.get("metadata")),
        "status": "enabled",
        "url": params["url"],
        # Only shown in the create response (Stripe: "Only returned at creation").
        "_secret": new_id("whsec", length=32),
    }


def event(
    *,
    type: str,
    obj: dict,
    previous_attributes: dict | None,
    request_id: str | None,
    idempotency_key: str | None,
    pending_webhooks: int,
) -> dict:
    data = {"object": obj}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "id": new_id("evt"),
        "object": "event",
        "api_version": API_VERSION,
        "created": clock.now(),
        "data": data,
        "livemode": False,
        "pending_webhooks": pending_webhooks,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": type,
    }


def customer(
    *, email: str | None, name: str | None, address: dict | None = None, phone: str | None = None
) -> dict:
    return {
        "id": new_id("cus", length=14),
        "object": "customer",
        "address": address,
        "balance": 0,
        "business_name": None,
        "created": clock.now(),
        "currency": None,
        "customer_account": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": email,
        "individual_name": None,
        "invoice_prefix": new_id("x", length=8)[2:].upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": {},
        "name": name,
        "next_invoice_sequence": 1,
        "phone": phone,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def payment_intent(
    *,
    amount: int,
    currency: str,
    customer_id: str | None,
    metadata: dict,
    description: str | None,
    receipt_email: str | None,
    payment_method_types: list[str],
) -> dict:
    pi_id = new_id("pi")
    # hooks, payment_details and presentment_details are left out until they apply (stripe-node
    # PaymentIntents.ts: ``hooks?:``, ``payment_details?:``, ``presentment_details?:``).
    return {
        "id": pi_id,
        "object": "payment_intent",
        "allowed_payment_method_types": None,
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic",
        "client_secret": f"{pi_id}_secret_{new_id('x', length=24)[2:]}",
        "confirmation_method": "automatic",
        "created": clock.now(),
        "currency": currency,
        "customer": customer_id,
        "customer_account": None,
        "description": description,
        "excluded_payment_method_types": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "managed_payments": None,
        "metadata": dict(metadata),
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": payment_method_types,
        "payment_record": None,
        "processing": None,
        "receipt_email": receipt_email,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
    }


def checkout_session(
    *,
    link: dict,
    mode: str,
    currency: str,
    amount_subtotal: int,
    amount_total: int,
    client_reference_id: str | None,
    customer_email: str | None,
    hosted_url: str,
    locale: str | None,
    expires_in: int = 24 * 3600,
) -> dict:
    """A session opened by a payment link: the link's collection options copied across."""
    created = clock.now()
    session_id = new_id("cs_test", length=58)
    after = link["after_completion"]
    success_url = None
    if after["type"] == "redirect":
        success_url = after["redirect"]["url"]
    custom_fields = [_session_custom_field(field) for field in link["custom_fields"]]
    # branding_settings, excluded_payment_method_types, presentment_details, redirect_on_completion and
    # return_url are left out of a hosted session (stripe-node Checkout/Sessions.ts: ``key?: T``).
    return {
        "id": session_id,
        "object": "checkout.session",
        "adaptive_pricing": {"enabled": False},
        "after_expiration": None,
        "allow_promotion_codes": link["allow_promotion_codes"],
        "allowed_payment_method_types": None,
        "amount_subtotal": amount_subtotal,
        "amount_total": amount_total,
        "automatic_tax": {
            "enabled": link["automatic_tax"]["enabled"],
            "liability": link["automatic_tax"]["liability"],
            "provider": None,
            "status": None,
        },
        "billing_address_collection": link["billing_address_collection"],
        "cancel_url": None,
        "client_reference_id": client_reference_id,
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": link["consent_collection"],
        "created": created,
        "currency": currency,
        "currency_conversion": None,
        "custom_fields": custom_fields,
        "custom_text": link["custom_text"],
        "customer": None,
        "customer_account": None,
        "customer_creation": link["customer_creation"],
        "customer_details": None,
        "customer_email": customer_email,
        "discounts": [],
        "expires_at": created + expires_in,
        "integration_identifier": None,
        "invoice": None,
        "invoice_creation": link["invoice_creation"] if mode == "payment" else None,
        "livemode": False,
        "locale": locale,
        "managed_payments": None,
        "metadata": dict(link["metadata"]),
        "mode": mode,
        "optional_items": link["optional_items"],
        "origin_context": None,
        "payment_intent": None,
        "payment_link": link["id"],
        "payment_method_collection": link["payment_method_collection"],
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": link["payment_method_types"] or ["card"],
        "payment_status": "unpaid",
        "permissions": None,
        "phone_number_collection": link["phone_number_collection"],
        "recovered_from": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": link["shipping_address_collection"],
        "shipping_cost": None,
        "shipping_options": [dict(option) for option in link["shipping_options"]],
        "status": "open",
        "submit_type": link["submit_type"],
        "subscription": None,
        "success_url": success_url,
        "tax_id_collection": link["tax_id_collection"],
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted_page",
        "url": hosted_url,
        "wallet_options": None,
        # Left out, like the link's, until set (Checkout/Sessions.ts: ``name_collection?:``).
        **({"name_collection": link["name_collection"]} if link.get("name_collection") else {}),
    }


def _session_custom_field(field: dict) -> dict:
    """The link's field with a ``value`` on its type's sub-object; the other types' are left out."""
    result = {key: value for key, value in field.items() if key not in ("dropdown", "numeric", "text")}
    kind = field["type"]
    result[kind] = {**(field.get(kind) or {}), "value": None}
    return result
