from __future__ import annotations

from django.conf import settings


def paylinks(request):
    return {
        "merchant_name": settings.PAYLINKS_MERCHANT_NAME,
        "stripe_sandbox_mode": settings.STRIPE_SANDBOX_MODE,
    }
