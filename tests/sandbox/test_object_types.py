"""Every object the sandbox serves matches the types the installed stripe SDK publishes for its API version.

The rule, per key of each (nested) SDK class, read with ``typing.get_type_hints``:

- A key whose annotation is not ``Optional[...]`` is always sent, and never ``null``.
- A key the class does not declare is never sent.
- A key annotated ``Optional[...]`` is sent, as ``null`` or a value, unless it is listed in ``OMITTED``.
  stripe-python's ``Optional`` covers both "nullable" and "may be absent"; stripe-node's types (generated
  from the same OpenAPI spec) tell them apart: ``key: T | null`` is always sent, ``key?: T`` is left out
  of the object when it does not apply (and then is never ``null``). ``OMITTED`` lists the ``key?: T`` keys
  of the objects the sandbox serves, each with where stripe-node says so. A ``key?: T | null`` key may be
  either; the sandbox sends it as ``null``, so it is held to the first rule.
- Values are checked recursively: ``Literal`` (an open ``Union[Literal[...], str]`` takes any string),
  ``List``, ``Dict``, ``UntypedStripeObject`` (metadata), ``ExpandableField`` (an id or the full object),
  ``ListObject`` and search results, and nested classes.
"""

from __future__ import annotations

import decimal
import functools
import importlib
import inspect
import re
import sys
import types
import typing

import pytest
import stripe
from stripe._object_classes import get_object_class
from stripe._stripe_object import UntypedStripeObject

from sandbox.models import ApiObject

pytestmark = pytest.mark.django_db

CARD = {
    "email": "a@example.com",
    "card_number": "4242424242424242",
    "card_expiry": "12/34",
    "card_cvc": "123",
    "cardholder_name": "Ada",
}

# Keys that stripe-node declares ``key?: T``: left out of the object unless they apply, never null.
# Class qualname (as in stripe-python) → keys. Sources: stripe/stripe-node src/resources/<Name>.ts.
OMITTED: dict[str, set[str]] = {
    # Includable lists, sent only with expand[] (PaymentLinks.ts, Checkout/Sessions.ts, Customers.ts), and
    # the name collection of a link or session that never set it (``name_collection?:``).
    "PaymentLink": {"line_items", "name_collection"},
    "Session": {
        "line_items",
        "name_collection",
        # Checkout/Sessions.ts: the embedded and adaptive-pricing settings a hosted session leaves out.
        "branding_settings",
        "excluded_payment_method_types",
        "presentment_details",
        "redirect_on_completion",
        "return_url",
    },
    "Customer": {"cash_balance", "invoice_credit_balance", "sources", "subscriptions", "tax", "tax_ids"},
    # Only the sub-object of the chosen type (``redirect?:``, ``dropdown?:``…) or the side that is set.
    "PaymentLink.AfterCompletion": {"hosted_confirmation", "redirect"},
    "PaymentLink.CustomField": {"dropdown", "numeric", "text"},
    "PaymentLink.NameCollection": {"business", "individual"},
    "Session.CustomField": {"dropdown", "numeric", "text"},
    "Session.NameCollection": {"business", "individual"},
    # "The connected account being referenced when `type` is `account`": ``account?: string | Account``.
    **{
        name: {"account"}
        for name in (
            "PaymentLink.AutomaticTax.Liability",
            "PaymentLink.InvoiceCreation.InvoiceData.Issuer",
            "PaymentLink.SubscriptionData.InvoiceSettings.Issuer",
            "Session.AutomaticTax.Liability",
            "Session.InvoiceCreation.InvoiceData.Issuer",
            "Invoice.Issuer",
            "Invoice.AutomaticTax.Liability",
            "Subscription.AutomaticTax.Liability",
            "Subscription.InvoiceSettings.Issuer",
        )
    },
    # Accounts.ts: ``company?:``, ``controller?:``, ``external_accounts?:``, ``individual?: Person``…
    "Account": {
        "company",
        "controller",
        "external_accounts",
        "future_requirements",
        "individual",
        "requirements",
        "tos_acceptance",
    },
    "Account.Settings": {
        "bacs_debit_payments",
        "card_issuing",
        "invoices",
        "payouts",
        "paypay_payments",
        "sepa_debit_payments",
        "treasury",
    },
    # Charges.ts: ``authorization_code?: string``, ``level3?:``…; ``stripe_report?: string``,
    # ``user_report?: string``; ``risk_score?: number``, ``rule?:``; the card features
    # ``capture_before?: number``, ``extended_authorization?:``, ``incremental_authorization?:``,
    # ``multicapture?:``, ``overcapture?:``.
    "Charge": {"authorization_code", "level3", "presentment_details", "radar_options", "transfer"},
    "Charge.FraudDetails": {"stripe_report", "user_report"},
    "Charge.Outcome": {"risk_level", "risk_score", "rule"},
    "Charge.PaymentMethodDetails.Card": {
        "capture_before",
        "extended_authorization",
        "incremental_authorization",
        "multicapture",
        "overcapture",
    },
    # PaymentIntents.ts: ``error?: AmountDetails.Error``, ``tip?:``… (Stripe sends ``{"tip": {}}``);
    # Checkout/Sessions.ts: ``breakdown?: TotalDetails.Breakdown``; ShippingRates.ts:
    # ``currency_options?: {...}``.
    "PaymentIntent": {"hooks", "payment_details", "presentment_details"},
    "PaymentIntent.AmountDetails": {"discount_amount", "error", "line_items", "shipping", "tax", "tip"},
    "PaymentIntent.AmountDetails.Tip": {"amount"},
    "Session.TotalDetails": {"breakdown"},
    "ShippingRate.FixedAmount": {"currency_options"},
    # Subscriptions.ts: ``presentment_details?:``, BillingMode ``updated_at?: number``.
    "Subscription": {"presentment_details"},
    "Subscription.BillingMode": {"updated_at"},
    # Invoices.ts: ``payments?: ApiList<InvoicePayment>`` (includable), ``threshold_reason?:``.
    "Invoice": {"payments", "threshold_reason"},
    # Events.ts: ``account?: string``, ``context?: string``, ``previous_attributes?:`` (updates only).
    "Event": {"account", "context"},
    "Event.Data": {"previous_attributes"},
    # types/Refunds.d.ts: ``description?: string``, ``destination_details?:``,
    # ``failure_balance_transaction?:``, ``failure_reason?: string``, ``instructions_email?: string``,
    # ``next_action?:``; ``pending_reason`` only while pending (changelog 2025-04-30.basil),
    # ``presentment_details?:``; Card: ``reference?: string``, ``reference_status?:``, ``reference_type?:``.
    "Refund": {
        "description",
        "destination_details",
        "failure_balance_transaction",
        "failure_reason",
        "instructions_email",
        "next_action",
        "pending_reason",
        "presentment_details",
    },
    "Refund.DestinationDetails.Card": {"reference", "reference_status", "reference_type"},
    # types/Disputes.d.ts: ``payment_method_details?:``; EvidenceDetails ``submission_method?:``; the
    # enhanced evidence and eligibility of each program (``visa_compelling_evidence_3?:``…).
    "Dispute": {"payment_method_details"},
    "Dispute.EvidenceDetails": {"submission_method"},
    "Dispute.Evidence.EnhancedEvidence": set(stripe.Dispute.Evidence.EnhancedEvidence.__annotations__),
    "Dispute.EvidenceDetails.EnhancedEligibility": set(
        stripe.Dispute.EvidenceDetails.EnhancedEligibility.__annotations__
    ),
    # Plans.ts: ``tiers?: Array<Plan.Tier>`` (tiered plans).
    "Plan": {"tiers"},
}
# Maps keyed by payment method or capability: each key is ``card?:``, ``sepa_debit?:``… (the type's own
# sub-object, or the methods/capabilities in use), filled in below from the SDK's classes.
KEYED_BY_METHOD = (
    ("Charge.PaymentMethodDetails", stripe.Charge.PaymentMethodDetails, {"type"}),
    ("PaymentIntent.PaymentMethodOptions", stripe.PaymentIntent.PaymentMethodOptions, set()),
    ("Session.PaymentMethodOptions", stripe.checkout.Session.PaymentMethodOptions, set()),
    ("Account.Capabilities", stripe.Account.Capabilities, set()),
    ("Refund.DestinationDetails", stripe.Refund.DestinationDetails, {"type"}),
    ("Dispute.PaymentMethodDetails", stripe.Dispute.PaymentMethodDetails, {"type"}),
)
# stripe-python declares ``deleted`` on the object; stripe-node only on Deleted<Name> (the DELETE answer).
for _name in (
    "Product",
    "Price",
    "Plan",
    "Coupon",
    "Customer",
    "WebhookEndpoint",
    "Account",
    "Invoice",
    "Subscription",
    "SubscriptionItem",
    "InvoiceLineItem",
):
    OMITTED[_name] = OMITTED.get(_name, set()) | {"deleted"}
# The signing secret is only in the create answer (WebhookEndpoints.ts: ``secret?: string``).
OMITTED["WebhookEndpoint"] |= {"secret"}


# --- reading the SDK's annotations ---------------------------------------------------------------------


@functools.cache
def _module_namespace(module_name: str) -> dict:
    """The module's globals plus the names it imports only under TYPE_CHECKING (its forward refs)."""
    module = sys.modules[module_name]
    namespace = dict(vars(module))
    source = inspect.getsource(module)
    for origin, names in re.findall(r"from (stripe[\w.]*) import \(?([\w,\s]+?)\)?\n", source):
        for name, _, alias in (n.strip().partition(" as ") for n in names.split(",")):
            if name and (alias or name) not in namespace:
                try:
                    namespace[alias or name] = getattr(importlib.import_module(origin), name)
                except (ImportError, AttributeError):
                    pass
    return namespace


@functools.cache
def fields(cls: type) -> dict[str, object]:
    """The keys a StripeObject subclass declares (its own annotations, not StripeObject's internals)."""
    own = {}
    for klass in reversed(cls.__mro__):
        if klass.__name__ in _INTERNAL_BASES:
            continue
        own.update(klass.__dict__.get("__annotations__", {}))
    # Evaluated on their own: StripeObject's internal annotations name types its module imports lazily.
    hints = typing.get_type_hints(
        types.SimpleNamespace(__annotations__=own),
        globalns=_module_namespace(cls.__module__),
        localns=dict(vars(cls)),
    )
    return {
        name: hints[name]
        for name in own
        if not name.startswith("_") and typing.get_origin(hints[name]) is not typing.ClassVar
    }


_INTERNAL_BASES = {
    "StripeObject",
    "APIResource",
    "CreateableAPIResource",
    "DeletableAPIResource",
    "ListableAPIResource",
    "UpdateableAPIResource",
    "SearchableAPIResource",
    "SingletonAPIResource",
    "Generic",
    "object",
}


for _name, _cls, _kept in KEYED_BY_METHOD:
    OMITTED[_name] = set(fields(_cls)) - _kept


def _is_optional(tp) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in typing.get_args(tp)


def _class_for(value: dict) -> type | None:
    name = value.get("object")
    if not isinstance(name, str):
        return None
    cls = get_object_class("V1", name)
    return None if cls is stripe.StripeObject else cls


# --- the check -----------------------------------------------------------------------------------------


def problems(value, tp=None, path: str = "$") -> list[str]:
    """Every way ``value`` departs from the SDK type ``tp`` (from its ``object`` when ``tp`` is None)."""
    if tp is None:
        cls = _class_for(value)
        if cls is None:
            return [f"{path}: no SDK class for object {value.get('object')!r}"]
        tp = cls
    return _check(value, tp, path)


def _check(value, tp, path: str) -> list[str]:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is typing.Any or tp is object:
        return []
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return [] if type(None) in args else [f"{path}: null, but the type is {tp}"]
        options = [arg for arg in args if arg is not type(None)]
        results = [_check(value, arg, path) for arg in options]
        if any(not result for result in results):
            return []
        # An id or an object (ExpandableField): report against the object when it is one.
        if isinstance(value, dict):
            for arg, result in zip(options, results, strict=True):
                if arg is not str and typing.get_origin(arg) is not typing.Literal:
                    return result
        return results[0]
    if value is None:
        return [f"{path}: null, but the type is {tp} (not Optional)"]
    if origin is typing.Literal:
        return [] if value in args else [f"{path}: {value!r} is not one of {args}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: {type(value).__name__}, expected a list"]
        return [p for i, item in enumerate(value) for p in _check(item, args[0], f"{path}[{i}]")]
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__}, expected a map"]
        inner = args[1] if args else typing.Any
        return [p for key, item in value.items() for p in _check(item, inner, f"{path}.{key}")]
    klass = origin or tp
    if isinstance(klass, type) and issubclass(klass, stripe.ListObject):
        return _check_list(value, args[0] if args else None, path, "list", {"data", "has_more", "url"})
    if isinstance(klass, type) and issubclass(klass, stripe.SearchResultObject):
        return _check_list(
            value, args[0] if args else None, path, "search_result", {"data", "has_more", "next_page", "url"}
        )
    if isinstance(klass, type) and issubclass(klass, UntypedStripeObject):
        return _check(value, dict[str, args[0] if args else typing.Any], path)
    if klass is stripe.StripeObject:
        return [] if isinstance(value, dict) else [f"{path}: expected an object"]
    if isinstance(klass, type) and issubclass(klass, stripe.StripeObject):
        return _check_object(value, klass, path)
    if tp is bool:
        return [] if isinstance(value, bool) else [f"{path}: {value!r} is not a boolean"]
    if tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{path}: {value!r} is not an integer"]
    if tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{path}: {value!r} is not a number"]
    if tp is str:
        return [] if isinstance(value, str) else [f"{path}: {value!r} is not a string"]
    if tp is decimal.Decimal:
        # Stripe sends decimals as strings ("12.5"); the SDK turns them into Decimal.
        ok = isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value)
        return [] if ok else [f"{path}: {value!r} is not a decimal string"]
    if isinstance(tp, typing.TypeVar):
        return problems(value, None, path) if isinstance(value, dict) else []
    return [f"{path}: cannot check type {tp!r}"]


def _check_list(value, item_type, path: str, name: str, keys: set[str]) -> list[str]:
    if not isinstance(value, dict) or value.get("object") != name:
        return [f"{path}: expected a {name} object"]
    found = [f"{path}: missing {key}" for key in keys - set(value)]
    found += [f"{path}: unknown key {key}" for key in set(value) - keys - {"object", "total_count"}]
    for i, item in enumerate(value.get("data") or []):
        found += problems(
            item,
            item_type if item_type and not isinstance(item_type, typing.TypeVar) else None,
            f"{path}.data[{i}]",
        )
    return found


def _check_object(value, cls: type, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: {value!r} is not an object ({cls.__qualname__})"]
    declared = fields(cls)
    omitted = OMITTED.get(cls.__qualname__, set())
    found = [f"{path}.{key}: not in {cls.__qualname__}" for key in sorted(set(value) - set(declared))]
    for key, tp in declared.items():
        where = f"{path}.{key}"
        if key not in value:
            if key in omitted:
                continue
            if _is_optional(tp):
                found.append(f"{where}: absent, but Stripe sends it, null when unset ({cls.__qualname__})")
            else:
                found.append(f"{where}: absent, but required ({cls.__qualname__})")
            continue
        if key in omitted and value[key] is None:
            found.append(f"{where}: null, but Stripe leaves it out of the object ({cls.__qualname__})")
            continue
        found += _check(value[key], tp, where)
    return found


def assert_matches(obj: dict, tp=None) -> None:
    found = problems(obj, tp)
    assert not found, "\n".join(found)


# --- everything the sandbox serves ---------------------------------------------------------------------


def _path(url: str) -> str:
    return url.removeprefix("http://testserver")


def _last_session(api) -> dict:
    session = ApiObject.objects.filter(type="checkout.session").order_by("-seq").first()
    return api.ok("get", f"checkout/sessions/{session.stripe_id}")


@pytest.fixture
def served(client, api) -> list[tuple[str, dict]]:
    """(label, JSON) of one of each object, list and search result the sandbox's API serves."""
    out: list[tuple[str, dict]] = []

    def keep(label: str, body: dict) -> dict:
        out.append((label, body))
        return body

    product = keep(
        "product",
        api.ok(
            "post",
            "products",
            {
                "name": "Lamp",
                "description": "A desk lamp",
                "images": ["https://example.com/lamp.png"],
                "marketing_features": [{"name": "Bright"}],
                "package_dimensions": {"height": 1, "length": 2, "width": 3, "weight": 4},
                "shippable": True,
                "statement_descriptor": "LAMPS",
                "tax_code": "txcd_99999999",
                "unit_label": "lamp",
                "url": "https://example.com/lamp",
                "metadata": {"room": "office"},
            },
        ),
    )
    keep(
        "product with default price",
        api.ok(
            "post",
            "products",
            {"name": "Bulb", "default_price_data": {"currency": "usd", "unit_amount": 300}},
        ),
    )
    base = {"product": product["id"], "currency": "usd"}
    one_time = keep("price per unit", api.ok("post", "prices", {**base, "unit_amount": 1500}))
    monthly = keep(
        "price recurring",
        api.ok("post", "prices", {**base, "unit_amount": 900, "recurring": {"interval": "month"}}),
    )
    keep(
        "price tiered",
        api.ok(
            "post",
            "prices",
            {
                **base,
                "billing_scheme": "tiered",
                "tiers_mode": "graduated",
                "recurring": {"interval": "month"},
                "tiers": [
                    {"up_to": 10, "unit_amount": 100, "flat_amount": 50},
                    {"up_to": "inf", "unit_amount": 80},
                ],
            },
        ),
    )
    keep(
        "price custom amount",
        api.ok(
            "post", "prices", {**base, "custom_unit_amount": {"enabled": True, "minimum": 100, "preset": 500}}
        ),
    )
    keep(
        "price package",
        api.ok(
            "post",
            "prices",
            {**base, "unit_amount": 1000, "transform_quantity": {"divide_by": 10, "round": "up"}},
        ),
    )
    keep(
        "price decimal with currency options",
        api.ok(
            "post",
            "prices",
            {
                **base,
                "unit_amount_decimal": "12.5",
                "currency_options": {"eur": {"unit_amount": 1200, "tax_behavior": "exclusive"}},
                "lookup_key": "lamp_decimal",
                "nickname": "Decimal",
            },
        ),
    )
    rate = keep(
        "shipping rate",
        api.ok(
            "post",
            "shipping_rates",
            {
                "display_name": "Ground",
                "type": "fixed_amount",
                "fixed_amount": {"amount": 500, "currency": "usd"},
                "delivery_estimate": {"minimum": {"unit": "business_day", "value": 2}},
            },
        ),
    )
    keep(
        "tax rate",
        api.ok(
            "post",
            "tax_rates",
            {"display_name": "VAT", "percentage": 20, "inclusive": False, "country": "FR"},
        ),
    )
    coupon = keep("coupon percent", api.ok("post", "coupons", {"percent_off": 10, "duration": "once"}))
    keep(
        "coupon amount",
        api.ok(
            "post",
            "coupons",
            {
                "amount_off": 200,
                "currency": "usd",
                "duration": "repeating",
                "duration_in_months": 3,
                "name": "Two",
            },
        ),
    )
    keep(
        "promotion code",
        api.ok(
            "post",
            "promotion_codes",
            {"promotion": {"type": "coupon", "coupon": coupon["id"]}, "code": "SPRING"},
        ),
    )
    account = keep(
        "connected account", api.ok("post", "accounts", {"type": "express", "email": "s@example.com"})
    )
    keep("account", api.ok("get", "account"))

    extra = keep("price of an optional item", api.ok("post", "prices", {**base, "unit_amount": 250}))
    plain = keep(
        "payment link",
        api.ok("post", "payment_links", {"line_items": [{"price": one_time["id"], "quantity": 1}]}),
    )
    rich = keep(
        "payment link with options",
        api.ok(
            "post",
            "payment_links",
            {
                "line_items": [
                    {
                        "price": one_time["id"],
                        "quantity": 2,
                        "adjustable_quantity": {"enabled": True, "maximum": 5},
                    }
                ],
                "after_completion": {"type": "redirect", "redirect": {"url": "https://example.com/thanks"}},
                "allow_promotion_codes": True,
                "billing_address_collection": "required",
                "consent_collection": {
                    "promotions": "auto",
                    "payment_method_reuse_agreement": {"position": "hidden"},
                },
                "custom_fields": [
                    {
                        "key": "size",
                        "label": {"type": "custom", "custom": "Size"},
                        "type": "dropdown",
                        "dropdown": {"options": [{"label": "Small", "value": "small"}]},
                        "optional": True,
                    },
                    {
                        "key": "engraving",
                        "label": {"type": "custom", "custom": "Engraving"},
                        "type": "text",
                        "optional": True,
                    },
                    {
                        "key": "floor",
                        "label": {"type": "custom", "custom": "Floor"},
                        "type": "numeric",
                        "optional": True,
                    },
                ],
                "custom_text": {"submit": {"message": "Thanks"}},
                "customer_creation": "always",
                "inactive_message": "Sold out",
                "invoice_creation": {"enabled": True, "invoice_data": {"footer": "Paid"}},
                "metadata": {"campaign": "spring"},
                "name_collection": {"business": {"enabled": True}},
                "on_behalf_of": account["id"],
                "payment_intent_data": {
                    "description": "Lamp order",
                    "statement_descriptor_suffix": "LAMP",
                    "metadata": {"order": "1"},
                    "setup_future_usage": "on_session",
                },
                "optional_items": [
                    {
                        "price": extra["id"],
                        "quantity": 1,
                        "adjustable_quantity": {"enabled": True, "minimum": 1, "maximum": 3},
                    }
                ],
                "phone_number_collection": {"enabled": True},
                "restrictions": {"completed_sessions": {"limit": 10}},
                "shipping_address_collection": {"allowed_countries": ["US", "FR"]},
                "shipping_options": [{"shipping_rate": rate["id"]}],
                "submit_type": "pay",
                "tax_id_collection": {"enabled": True, "required": "if_supported"},
                "transfer_data": {"destination": account["id"], "amount": 1000},
            },
        ),
    )
    subscription_link = keep(
        "payment link for a subscription",
        api.ok(
            "post",
            "payment_links",
            {
                "line_items": [{"price": monthly["id"], "quantity": 1}],
                "subscription_data": {
                    "description": "Monthly lamps",
                    "metadata": {"plan": "pro"},
                    "trial_period_days": 7,
                    "trial_settings": {"end_behavior": {"missing_payment_method": "cancel"}},
                },
            },
        ),
    )
    keep("payment link expanded", api.ok("get", f"payment_links/{rich['id']}", {"expand": ["line_items"]}))
    keep("payment link line items", api.ok("get", f"payment_links/{rich['id']}/line_items"))
    keep("payment link list", api.ok("get", "payment_links"))

    # A session opened and left unpaid, then the same link paid.
    client.get(_path(plain["url"]))
    keep("checkout session open", _last_session(api))
    client.post(_path(plain["url"]), CARD)
    paid = keep("checkout session paid", _last_session(api))
    rich_item = api.ok("get", f"payment_links/{rich['id']}/line_items")["data"][0]
    response = client.post(
        _path(rich["url"]),
        {
            **CARD,
            "business_name": "Ada Ltd",
            "billing_line1": "1 Main St",
            "billing_city": "Springfield",
            "billing_postal_code": "12345",
            "billing_country": "US",
            "shipping_name": "Ada",
            "shipping_line1": "1 Main St",
            "shipping_city": "Springfield",
            "shipping_postal_code": "12345",
            "shipping_country": "US",
            "shipping_rate": rate["id"],
            "phone": "+15555550100",
            "custom_size": "small",
            "custom_engraving": "Hi",
            "custom_floor": "3",
            f"quantity_{rich_item['id']}": 2,
            f"optional_{extra['id']}": 2,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    rich_session = keep("checkout session paid with options", _last_session(api))
    assert rich_session["status"] == "complete", rich_session["status"]
    keep(
        "checkout session expanded",
        api.ok("get", f"checkout/sessions/{rich_session['id']}", {"expand": ["line_items", "customer"]}),
    )
    keep("checkout session line items", api.ok("get", f"checkout/sessions/{paid['id']}/line_items"))
    keep("checkout session list", api.ok("get", "checkout/sessions"))
    client.get(_path(plain["url"]))
    keep(
        "checkout session expired", api.ok("post", f"checkout/sessions/{_last_session(api)['id']}/expire", {})
    )

    intent = keep(
        "payment intent expanded",
        api.ok("get", f"payment_intents/{rich_session['payment_intent']}", {"expand": ["latest_charge"]}),
    )
    keep("payment intent", api.ok("get", f"payment_intents/{paid['payment_intent']}"))
    keep("payment intent list", api.ok("get", "payment_intents"))
    keep("charge", api.ok("get", f"charges/{intent['latest_charge']['id']}"))
    keep("charge list", api.ok("get", "charges"))
    keep(
        "refund",
        api.ok("post", "refunds", {"payment_intent": intent["id"], "amount": 100, "reason": "duplicate"}),
    )
    keep("refund updated", api.ok("post", f"refunds/{out[-1][1]['id']}", {"metadata": {"ticket": "T-1"}}))
    client.post(_path(plain["url"]), {**CARD, "card_number": "4000000000005126"})
    failing = api.ok("post", "refunds", {"payment_intent": _last_session(api)["payment_intent"]})
    sepa = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [{"price": one_time["id"], "quantity": 1}],
            "payment_method_types": ["card", "sepa_debit"],
        },
    )
    client.post(
        _path(sepa["url"]), {**CARD, "payment_method": "sepa_debit", "iban": "DE89370400440532013000"}
    )
    sepa_intent = _last_session(api)["payment_intent"]
    for _ in range(2):
        client.post(_path(plain["url"]), {**CARD, "card_number": "4000000000000259"})
    api.ok("post", "test_helpers/sandbox_clock/advance", {"seconds": 3600})
    won, lost = api.ok("get", "disputes")["data"]
    keep("dispute", api.ok("get", f"disputes/{won['id']}"))
    keep(
        "dispute staged",
        api.ok("post", f"disputes/{won['id']}", {"evidence": {"customer_name": "A"}, "submit": False}),
    )
    keep(
        "dispute won",
        api.ok("post", f"disputes/{won['id']}", {"evidence": {"uncategorized_text": "winning_evidence"}}),
    )
    keep("dispute lost", api.ok("post", f"disputes/{lost['id']}/close", {}))
    keep("dispute list", api.ok("get", "disputes"))
    keep("charge disputed", api.ok("get", f"charges/{won['charge']}"))
    keep("refund failed", api.ok("get", f"refunds/{failing['id']}"))
    sepa_refund = keep("refund pending", api.ok("post", "refunds", {"payment_intent": sepa_intent}))
    api.ok("post", "test_helpers/sandbox_clock/advance", {"seconds": 3600})
    keep("refund settled", api.ok("get", f"refunds/{sepa_refund['id']}"))
    keep("refund list", api.ok("get", "refunds"))
    keep("customer", api.ok("get", f"customers/{rich_session['customer']}"))
    keep("invoice", api.ok("get", f"invoices/{rich_session['invoice']}"))

    client.post(_path(subscription_link["url"]), CARD)
    sub_session = keep("checkout session subscription", _last_session(api))
    keep("subscription", api.ok("get", f"subscriptions/{sub_session['subscription']}"))
    keep("subscription invoice", api.ok("get", f"invoices/{sub_session['invoice']}"))
    keep("subscription list", api.ok("get", "subscriptions"))
    keep("subscription canceled", api.ok("delete", f"subscriptions/{sub_session['subscription']}"))
    manual = api.ok(
        "post",
        "payment_links",
        {
            "line_items": [{"price": one_time["id"], "quantity": 1}],
            "payment_intent_data": {"capture_method": "manual"},
        },
    )
    client.post(_path(manual["url"]), CARD)
    keep("checkout session authorised only", _last_session(api))
    authorised = keep(
        "payment intent requires capture",
        api.ok("get", f"payment_intents/{_last_session(api)['payment_intent']}"),
    )
    keep("charge authorised only", api.ok("get", f"charges/{authorised['latest_charge']}"))
    keep(
        "payment intent captured in part",
        api.ok("post", f"payment_intents/{authorised['id']}/capture", {"amount_to_capture": 500}),
    )
    keep("charge captured in part", api.ok("get", f"charges/{authorised['latest_charge']}"))
    client.post(_path(manual["url"]), CARD)
    keep(
        "payment intent canceled",
        api.ok(
            "post",
            f"payment_intents/{_last_session(api)['payment_intent']}/cancel",
            {"cancellation_reason": "requested_by_customer"},
        ),
    )
    client.post(_path(manual["url"]), CARD)
    expiring = _last_session(api)["payment_intent"]
    # Trials without a payment method, ended by the clock each by its end behavior.
    trials = []
    for behavior in ("pause", "cancel", "create_invoice"):
        trial_link = api.ok(
            "post",
            "payment_links",
            {
                "line_items": [{"price": monthly["id"], "quantity": 1}],
                "payment_method_collection": "if_required",
                "subscription_data": {
                    "trial_period_days": 3,
                    "trial_settings": {"end_behavior": {"missing_payment_method": behavior}},
                },
            },
        )
        client.post(_path(trial_link["url"]), {"email": "trial@example.com"})
        trials.append((behavior, _last_session(api)["subscription"]))
    api.ok("post", "test_helpers/sandbox_clock/advance", {"seconds": 8 * 24 * 3600})
    keep("payment intent expired", api.ok("get", f"payment_intents/{expiring}"))
    for behavior, subscription_id in trials:
        ended = keep(
            f"subscription after a trial without payment method ({behavior})",
            api.ok("get", f"subscriptions/{subscription_id}", {"expand": ["latest_invoice"]}),
        )
        assert (
            ended["status"]
            == {"pause": "paused", "cancel": "canceled", "create_invoice": "past_due"}[behavior]
        )
    keep("invoice list", api.ok("get", "invoices"))
    keep("customer list", api.ok("get", "customers"))

    created = keep(
        "webhook endpoint created",
        api.ok("post", "webhook_endpoints", {"url": "https://example.com/hook", "enabled_events": ["*"]}),
    )
    keep("webhook endpoint", api.ok("get", f"webhook_endpoints/{created['id']}"))
    keep("webhook endpoint list", api.ok("get", "webhook_endpoints"))
    for name in (
        "products",
        "prices",
        "shipping_rates",
        "coupons",
        "promotion_codes",
        "tax_rates",
        "accounts",
    ):
        keep(f"{name} list", api.ok("get", name))
    keep("product search", api.ok("get", "products/search", {"query": "active:'true'"}))
    keep("price search", api.ok("get", "prices/search", {"query": "active:'true'"}))
    events = keep("event list", api.ok("get", "events", {"limit": 100}))
    keep("event", api.ok("get", f"events/{events['data'][0]['id']}"))
    return out


def test_every_served_object_matches_the_sdk_types(served):
    found = [f"{label}: {problem}" for label, body in served for problem in problems(body)]
    assert not found, f"{len(found)} departures from the SDK types:\n" + "\n".join(found)


def test_every_event_object_matches_the_sdk_types(client, api, served):
    """Each webhook event's ``data.object`` (every type the sandbox emits) has its object's shape."""
    events = []
    url = "events"
    params = {"limit": 100}
    while True:
        page = api.ok("get", url, params)
        events += page["data"]
        if not page["has_more"]:
            break
        params = {"limit": 100, "starting_after": page["data"][-1]["id"]}
    types_seen = {event["type"] for event in events}
    assert {"checkout.session.completed", "customer.subscription.deleted", "invoice.paid"} <= types_seen
    found = [
        f"{event['type']}: {problem}"
        for event in events
        for problem in problems(event["data"]["object"], None, "data.object")
    ]
    assert not found, "\n".join(sorted(set(found)))


def test_delete_answers_are_the_deleted_stubs(api, product):
    """A DELETE answers ``Deleted<Name>`` (stripe-node: ``{id, object, deleted: true}``), not the object."""
    coupon = api.ok("post", "coupons", {"percent_off": 10})
    endpoint = api.ok("post", "webhook_endpoints", {"url": "https://example.com/h", "enabled_events": ["*"]})
    for path, obj in (
        (f"products/{product['id']}", "product"),
        (f"coupons/{coupon['id']}", "coupon"),
        (f"webhook_endpoints/{endpoint['id']}", "webhook_endpoint"),
    ):
        body = api.ok("delete", path)
        assert body == {"id": path.rsplit("/", 1)[1], "object": obj, "deleted": True}


def test_updates_leave_out_what_no_longer_applies(api, link):
    """Switching after_completion's type or unsetting name_collection removes the keys, not nulls them."""
    redirect = {"type": "redirect", "redirect": {"url": "https://example.com/thanks"}}
    named = api.ok(
        "post",
        f"payment_links/{link['id']}",
        {"after_completion": redirect, "name_collection": {"individual": {"enabled": True}}},
    )
    assert named["after_completion"] == redirect
    assert named["name_collection"] == {"individual": {"enabled": True, "optional": False}}
    back = api.ok(
        "post",
        f"payment_links/{link['id']}",
        {"after_completion": {"type": "hosted_confirmation"}, "name_collection": ""},
    )
    assert back["after_completion"] == {
        "hosted_confirmation": {"custom_message": None},
        "type": "hosted_confirmation",
    }
    assert "name_collection" not in back
    assert not problems(named) and not problems(back)
