from __future__ import annotations

from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.core.exceptions import PermissionDenied


class StaffRequiredMiddleware(LoginRequiredMiddleware):
    """Every view needs a logged-in *staff* user unless it is marked ``@login_not_required``.

    Django's LoginRequiredMiddleware sends anonymous users to the login page; on top of it, signed-in
    users without ``is_staff`` get a 403, so a customer account can never reach the dashboard.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not getattr(view_func, "login_required", True):
            return None
        if not request.user.is_authenticated:
            return self.handle_no_permission(request, view_func)
        if not request.user.is_staff:
            raise PermissionDenied
        return None
