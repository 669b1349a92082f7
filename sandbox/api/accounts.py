"""``/v1/accounts``: connected accounts for ``on_behalf_of`` and ``transfer_data[destination]``."""

from __future__ import annotations

from stripe.params import AccountCreateParams, AccountListParams, AccountRetrieveParams

from sandbox import objects, store
from sandbox.account import account_data
from sandbox.api.common import created_filter, list_page
from sandbox.ids import new_id
from sandbox.models import ApiObject
from sandbox.params import validate


def connected_account_create(request, raw: dict) -> dict:
    params = validate(raw, AccountCreateParams)
    profile = params.get("business_profile") or {}
    data = account_data(
        account_id=new_id("acct", length=16),
        name=profile.get("name") or params.get("email") or "",
        email=params.get("email"),
    )
    data.update(
        {
            "type": params.get("type", "custom"),
            "country": (params.get("country") or "US").upper(),
            "default_currency": (params.get("default_currency") or "usd").lower(),
            "metadata": objects.apply_metadata({}, params.get("metadata")),
            "business_type": params.get("business_type"),
        }
    )
    for key in ("_terms_url", "_privacy_url"):
        data.pop(key, None)
    account = store.create(object_id=data["id"], type="connected_account", data=data)
    return store.render(account, expand=params.get("expand", []))


def connected_account_retrieve(request, raw: dict, account_id: str) -> dict:
    params = validate(raw, AccountRetrieveParams)
    return store.render(
        store.get(type="connected_account", object_id=account_id), expand=params.get("expand", [])
    )


def connected_account_list(request, raw: dict) -> dict:
    params = validate(raw, AccountListParams)
    queryset = created_filter(ApiObject.objects.filter(type="connected_account"), params.get("created"))
    return list_page(queryset, params, url="/v1/accounts", kind="connected_account")
