"""The hosted payment page at each payment link's URL."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse


@login_not_required
def pay(request, token: str) -> HttpResponse:
    return HttpResponse("todo")
