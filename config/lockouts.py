"""Sign-in lockouts (django-axes, configured in settings "AUTH"): the client's address, the page a locked-out
sign-in gets, and the list and unlock that the settings page offers to admins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Max, Sum
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


# What a lockout is on (settings.AXES_LOCKOUT_PARAMETERS): one username, or one address.
LOCKOUT_PARAMETERS = ("username", "ip_address")


@dataclass(frozen=True)
class Lockout:
    parameter: str  # one of LOCKOUT_PARAMETERS
    value: str
    failures: int
    last_attempt: datetime


def lockouts_active() -> list[Lockout]:
    """The usernames and addresses locked out now, most recent first.

    Axes adds up the failures of every (username, address) record it keeps for a username, or for an
    address, so the list does the same.
    """
    from axes.models import AccessAttempt

    recent = AccessAttempt.objects.filter(attempt_time__gte=timezone.now() - settings.AXES_COOLOFF_TIME)
    lockouts = []
    for parameter in LOCKOUT_PARAMETERS:
        rows = (
            recent.values(parameter)
            .annotate(failures=Sum("failures_since_start"), last_attempt=Max("attempt_time"))
            .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
        )
        lockouts += [
            Lockout(parameter, row[parameter], row["failures"], row["last_attempt"])
            for row in rows
            if row[parameter]  # a sign-in without a username, or without an address, locks nobody
        ]
    return sorted(lockouts, key=lambda lockout: lockout.last_attempt, reverse=True)


def lockout_lift(*, parameter: str, value: str) -> int:
    """Let this username, or this address, sign in again; the number of axes records removed."""
    from axes.utils import reset

    return reset(username=value) if parameter == "username" else reset(ip=value)
