from __future__ import annotations

from django import template

from links import order_labels

register = template.Library()


@register.filter
def custom_field_answer(field: dict) -> str:
    """A customer's answer to a custom field: the order's ``{"key", "label", "type", "value"}`` (as
    fulfilment stores it) or Stripe's own session shape (dropdown answers shown by their label)."""
    if "value" in field:
        return "" if field["value"] is None else str(field["value"])
    kind = field.get("type") or "text"
    answer = (field.get(kind) or {}).get("value")
    if answer is None:
        return ""
    if kind == "dropdown":
        labels = {o.get("value"): o.get("label") for o in (field.get("dropdown") or {}).get("options") or []}
        return labels.get(answer) or answer
    return str(answer)


@register.filter
def custom_field_label(field: dict) -> str:
    label = field.get("label")
    if isinstance(label, dict):
        label = label.get("custom")
    return label or field.get("key") or ""


@register.filter
def consent_given(consent: dict | None) -> list[str]:
    """``{% for sentence in order.consent|consent_given %}``: what the customer agreed to, in words."""
    return order_labels.consent_given(consent)


@register.filter
def subscription_status_label(status: str) -> str:
    return order_labels.subscription_status_label(status)


@register.filter
def payment_intent_status_label(status: str) -> str:
    return order_labels.payment_intent_status_label(status)


@register.filter
def country_name(code: str) -> str:
    return order_labels.country_name(code)
