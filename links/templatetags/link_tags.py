from __future__ import annotations

from django import template

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
