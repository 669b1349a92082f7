"""Give nested option objects the exact shape the SDK declares: every key present, null when unset.

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


def shape(cls: type, given: dict | None) -> dict | None:
    if given is None or given == "":
        return None
    result = {}
    for name, tp in cls.__annotations__.items():
        if name == "OBJECT_NAME":
            continue
        value = given.get(name)
        if value == "":
            value = None
        nested, is_list = _nested_class(tp)
        if nested is not None and value is not None:
            value = [shape(nested, item) for item in value] if is_list else shape(nested, value)
        result[name] = value
    return result


def skeleton(cls: type, *, omit: frozenset[str] = frozenset({"deleted"})) -> dict:
    """Every top-level field of a large object as null, for builders to fill in what the sandbox knows.

    Used for subscriptions and invoices, whose dozens of billing options the sandbox never sets.
    """
    return {name: None for name in field_names(cls) if name not in omit}
