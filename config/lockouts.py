"""Sign-in lockouts (django-axes, configured in settings "AUTH"): the client's address, the page a locked-out
sign-in gets, and the list and unlock that the settings page offers to admins."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


def client_ip(request: HttpRequest) -> str | None:
    """The address a sign-in comes from (AXES_CLIENT_IP_CALLABLE).

    Behind our TLS proxy (BEHIND_TLS_PROXY) every request comes from the proxy, so the client is the last
    address of X-Forwarded-For: the one the proxy appended. Earlier ones were sent by the client and can
    be anything, so they are never trusted.
    """
    if settings.BEHIND_TLS_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        if forwarded:
            return forwarded
    return request.META.get("REMOTE_ADDR")


def lockout_minutes() -> int:
    return max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))


def lockout_response(request: HttpRequest, original_response, credentials) -> HttpResponse:
    """The login page, with the lockout said in words (AXES_LOCKOUT_CALLABLE), as 429 Too Many Requests."""
    context = {"minutes": lockout_minutes(), "failure_limit": settings.AXES_FAILURE_LIMIT}
    return render(request, "registration/lockout.html", context, status=429)


def lockouts_active() -> list:
    """The username and address pairs locked out now, most recent first."""
    from axes.models import AccessAttempt

    since = timezone.now() - settings.AXES_COOLOFF_TIME
    return list(
        AccessAttempt.objects.filter(
            failures_since_start__gte=settings.AXES_FAILURE_LIMIT, attempt_time__gte=since
        ).order_by("-attempt_time")
    )


def lockout_lift(*, username: str, ip_address: str) -> int:
    """Let this username sign in again from this address; the number of records removed."""
    from axes.utils import reset

    return reset(username=username, ip=ip_address)
