from __future__ import annotations

from django.contrib import admin


def _superusers_only(request) -> bool:
    # Staff work in the dashboard, whose roles (viewer, editor, admin) guard every change; the Django
    # admin writes rows directly, past our services, so only superusers may use it.
    return request.user.is_active and request.user.is_superuser


admin.site.has_permission = _superusers_only
