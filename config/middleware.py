from __future__ import annotations

from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.core.exceptions import PermissionDenied

from config.roles import role_refusal


class StaffRequiredMiddleware(LoginRequiredMiddleware):
    """Every view needs a logged-in *staff* user unless it is marked ``@login_not_required``, and the
    staff member's role must allow the request.

    Django's LoginRequiredMiddleware sends anonymous users to the login page; on top of it, signed-in
    users without ``is_staff`` get a 403, so a customer account can never reach the dashboard. Then the
    role rule (config.roles), here so that no view can forget it: a viewer's request that is not GET,
    HEAD or OPTIONS gets a 403 unless the view is marked ``@viewer_allowed``, and views marked
    ``@settings_required`` are for admins only, whatever the method.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not getattr(view_func, "login_required", True):
            return None
        if not request.user.is_authenticated:
            return self.handle_no_permission(request, view_func)
        if not request.user.is_staff:
            raise PermissionDenied
        if refusal := role_refusal(user=request.user, view=view_func, method=request.method):
            raise PermissionDenied(refusal)
        return None
