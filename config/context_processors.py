from __future__ import annotations

from functools import partial

from django.conf import settings

from config.roles import role_admin_names, user_can_edit, user_can_manage_settings


def paylinks(request):
    user = getattr(request, "user", None)
    staff = user is not None and user.is_authenticated and user.is_staff
    return {
        "merchant_name": settings.PAYLINKS_MERCHANT_NAME,
        "stripe_sandbox_mode": settings.STRIPE_SANDBOX_MODE,
        # {% if can_edit %} shows the forms and buttons that change things only to those who may (the
        # middleware refuses the rest). Callables: the templates call them only when they ask.
        "can_edit": partial(user_can_edit, user) if staff else False,
        "can_manage_settings": partial(user_can_manage_settings, user) if staff else False,
        "role_admin_names": role_admin_names if staff else (),
    }
