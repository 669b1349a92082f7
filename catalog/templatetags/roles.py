from __future__ import annotations

from django import template

from catalog.roles import user_can_edit, user_can_manage_settings

register = template.Library()


@register.filter
def can_edit(user) -> bool:
    """``{% if user|can_edit %}``: show the buttons that change things only to those who may."""
    return user.is_authenticated and user_can_edit(user)


@register.filter
def can_manage_settings(user) -> bool:
    return user.is_authenticated and user_can_manage_settings(user)
