"""The sandbox merchant's account (``GET /v1/account``) and its public details.

Stripe keeps the terms-of-service and privacy URLs in the Dashboard's public details, not in the
Account API; the sandbox keeps them as private fields, edited on the sandbox settings page. They
default to placeholder pages served by the sandbox so a fresh install can require terms consent.
"""

from __future__ import annotations

import stripe
from django.conf import settings
from django.db import transaction
from django.urls import reverse

from sandbox import clock, store
from sandbox.models import ApiObject
from sandbox.shapes import skeleton

ACCOUNT_ID = "acct_1SandboxPaylinks"


def _default() -> dict:
    name = getattr(settings, "SANDBOX_ACCOUNT_NAME", None) or getattr(
        settings, "PAYLINKS_MERCHANT_NAME", "Sandbox merchant"
    )
    return account_data(
        account_id=ACCOUNT_ID, name=name, email=getattr(settings, "PAYLINKS_STAFF_EMAIL", "") or None
    )


def account_data(*, account_id: str, name: str, email: str | None) -> dict:
    """An Account object (the sandbox merchant, or a connected account) with its public details."""
    data = skeleton(
        stripe.Account,
        omit=frozenset(
            {
                "deleted",
                "external_accounts",
                "individual",
                "company",
                "future_requirements",
                "requirements",
                "tos_acceptance",
                "controller",
            }
        ),
    )
    data.update(
        {
            "id": account_id,
            "object": "account",
            "business_profile": {
                **{key: None for key in stripe.Account.BusinessProfile.__annotations__},
                "name": name,
                "support_email": email,
            },
            "business_type": "company",
            "capabilities": {
                "card_payments": "active",
                "sepa_debit_payments": "active",
                "transfers": "active",
            },
            "charges_enabled": True,
            "country": "US",
            "created": clock.now(),
            "default_currency": "usd",
            "details_submitted": True,
            "email": email,
            "metadata": {},
            "payouts_enabled": True,
            "settings": {
                "dashboard": {"display_name": name, "timezone": "Etc/UTC"},
                "payments": {
                    "statement_descriptor": name[:22].upper() or None,
                    "statement_descriptor_kana": None,
                    "statement_descriptor_kanji": None,
                    "statement_descriptor_prefix_kana": None,
                    "statement_descriptor_prefix_kanji": None,
                },
                # Always sent (not Optional in the SDK); the values of a new account, as in Stripe's
                # account object examples.
                "branding": {"icon": None, "logo": None, "primary_color": None, "secondary_color": None},
                "card_payments": {
                    "decline_on": {"avs_failure": False, "cvc_failure": False},
                    "statement_descriptor_prefix": None,
                    "statement_descriptor_prefix_kana": None,
                    "statement_descriptor_prefix_kanji": None,
                },
            },
            "type": "standard",
            "_terms_url": reverse("sandbox:terms"),
            "_privacy_url": reverse("sandbox:privacy"),
        }
    )
    return data


def account_get() -> ApiObject:
    account = ApiObject.objects.filter(type="account", stripe_id=ACCOUNT_ID).first()
    if account is None:
        with transaction.atomic():
            account, _ = ApiObject.objects.get_or_create(
                type="account", stripe_id=ACCOUNT_ID, defaults={"created": clock.now(), "data": _default()}
            )
    return account


def account_update(
    *, name: str, support_email: str, country: str, default_currency: str, terms_url: str, privacy_url: str
) -> ApiObject:
    with transaction.atomic():
        account = account_get()
        account = store.locked(type="account", object_id=account.stripe_id)
        data = account.data
        data["business_profile"].update({"name": name, "support_email": support_email or None})
        data["settings"]["dashboard"]["display_name"] = name
        data.update(
            {
                "country": country.upper(),
                "default_currency": default_currency.lower(),
                "_terms_url": terms_url,
                "_privacy_url": privacy_url,
            }
        )
        store.save(account)
        return account


def terms_url() -> str:
    return account_get().data.get("_terms_url") or ""
