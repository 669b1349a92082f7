"""Give nested option objects the exact shape the SDK declares: every key present, null when unset,
except the keys Stripe leaves out when they do not apply (OMITTED_WHEN_UNSET).

``shape(stripe.PaymentLink.ConsentCollection, {"promotions": "auto"})`` →
``{"payment_method_reuse_agreement": None, "promotions": "auto", "terms_of_service": None}``.
"""

from __future__ import annotations

import types
import typing

import stripe


def _nested_class(tp):
    """The StripeObject subclass inside ``Optional[...]``/``List[...]``, if any, and whether it is a list."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            found = _nested_class(arg)
            if found[0] is not None:
                return found
        return None, False
    if origin in (list, list):
        inner, _ = _nested_class(typing.get_args(tp)[0])
        return inner, True
    if isinstance(tp, type) and issubclass(tp, stripe.StripeObject) and tp is not stripe.StripeObject:
        return tp, False
    return None, False


def field_names(cls: type) -> list[str]:
    return [name for name in cls.__annotations__ if name != "OBJECT_NAME"]


# Keys Stripe leaves out of the object when they do not apply, instead of sending null: stripe-node declares
# them ``key?: T`` (src/resources/PaymentLinks.ts, Checkout/Sessions.ts: the sub-object of the other
# ``type``s, an unset name_collection side, the account of a ``type: self`` liability or issuer).
OMITTED_WHEN_UNSET: dict[type, frozenset[str]] = {
    stripe.PaymentLink.AfterCompletion: frozenset({"hosted_confirmation", "redirect"}),
    stripe.PaymentLink.CustomField: frozenset({"dropdown", "numeric", "text"}),
    stripe.PaymentLink.NameCollection: frozenset({"business", "individual"}),
    stripe.PaymentLink.AutomaticTax.Liability: frozenset({"account"}),
    stripe.PaymentLink.InvoiceCreation.InvoiceData.Issuer: frozenset({"account"}),
    stripe.PaymentLink.SubscriptionData.InvoiceSettings.Issuer: frozenset({"account"}),
}
# Defaults Stripe fills in for a key the request left out ("Defaults to `false`" in the SDK's docstrings).
DEFAULTS: dict[type, dict[str, object]] = {
    stripe.PaymentLink.NameCollection.Business: {"optional": False},
    stripe.PaymentLink.NameCollection.Individual: {"optional": False},
    stripe.PaymentLink.CustomField: {"optional": False},
}


def shape(cls: type, given: dict | None) -> dict | None:
    if given is None or given == "":
        return None
    result = {}
    omitted = OMITTED_WHEN_UNSET.get(cls, frozenset())
    defaults = DEFAULTS.get(cls, {})
    for name, tp in cls.__annotations__.items():
        if name == "OBJECT_NAME":
            continue
        value = given.get(name)
        if value == "":
            value = None
        if value is None and name in defaults:
            value = defaults[name]
        nested, is_list = _nested_class(tp)
        if nested is not None and value is not None:
            value = [shape(nested, item) for item in value] if is_list else shape(nested, value)
        if value is None and name in omitted:
            continue
        result[name] = value
    return result


def skeleton(cls: type, *, omit: frozenset[str] = frozenset({"deleted"})) -> dict:
    """Every top-level field of a large object as null, for builders to fill in what the sandbox knows.

    Used for subscriptions and invoices, whose dozens of billing options the sandbox never sets.
    """
    return {name: None for name in field_names(cls) if name not in omit}
